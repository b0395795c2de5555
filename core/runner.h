/**
 * @file runner.h
 * @brief `run` and `export`: one transaction, one set-based statement, plugins fed
 *        from one read of the fact rows, files renamed into place after the commit.
 *
 * All or nothing (SPEC §7): any failure before the commit leaves no run in the
 * database and no file, final or temporary.
 */
#ifndef DR_RUNNER_H
#define DR_RUNNER_H

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "period.h"
#include "principal.h"
#include "status.h"

#define DR_MAX_FORMATS 8
#define DR_MAX_PRINCIPALS 1024
#define DR_MAX_OPTS 64

/** Where output goes and how it is named; shared by run and export. */
typedef struct dr_output_request {
    const char *formats[DR_MAX_FORMATS]; /**< plugin names, at least one */
    size_t nformats;
    const char *output_dir;              /**< existing directory */
    const char *name_template;           /**< see name_template.h */
    const char *opts[DR_MAX_OPTS];       /**< "plugin.key=value" */
    size_t nopts;
    const char *plugin_dir;              /**< first directory searched, may be NULL */
    int verbosity;                       /**< 0 quiet, 1 normal, 2 verbose (stderr) */
} dr_output_request;

/** Everything a `run` needs, already parsed and validated syntactically. */
typedef struct dr_run_request {
    char tenant[DR_UUID_LEN + 1];
    dr_principal principals[DR_MAX_PRINCIPALS];
    size_t nprincipals;
    int all_principals;
    int has_range;         /**< 1: from/to; 0: period */
    dr_period period;
    dr_ts_arg from, to;
    const char *period_text; /**< as given, for report_run.parameters */
    const char *tz;          /**< IANA zone name */
    int persist;             /**< 0 with --no-persist */
    dr_output_request out;
} dr_run_request;

/** Set by the signal-watching thread; the runner stops at the next step. */
typedef struct dr_interrupt {
    volatile sig_atomic_t signal; /**< 0, or SIGINT / SIGTERM */
    struct dr_db *db;             /**< connection to cancel, while one is open (under lock) */
    pthread_mutex_t lock;         /**< guards db: a cancel never meets a closed connection */
} dr_interrupt;

/** Prepare @p intr (no signal, no connection). */
void dr_interrupt_init(dr_interrupt *intr);

/**
 * Record signal @p sig and cancel the statement running on the run's connection, if any.
 * For the signal-watching thread: safe against the runner closing the connection.
 */
void dr_interrupt_raise(dr_interrupt *intr, int sig);

/**
 * Load the plugins of @p out and check options, name template and directory,
 * without touching the database: the checks a run makes before connecting.
 */
dr_status dr_output_check(const dr_output_request *out, dr_error *err);

/**
 * Execute a run: connect with @p connstr, compute, persist (unless req->persist
 * is 0, then everything is rolled back), write every format. Prints the run id
 * and then each file's path on @p out_stream.
 */
dr_status dr_run_execute(const char *connstr, const dr_run_request *req, dr_interrupt *intr,
                         FILE *out_stream, dr_error *err);

/** Rebuild files from the persisted run @p run_id (DR_EDATA if it does not exist). */
dr_status dr_run_export(const char *connstr, const char *run_id, const dr_output_request *out,
                        dr_interrupt *intr, FILE *out_stream, dr_error *err);

/** Check a time zone name's form (IANA-like: letters first, then A-Z a-z 0-9 _ + - /). */
dr_status dr_tz_check(const char *tz, dr_error *err);

/**
 * The tenants that have deals (for a job with `tenant = all`), in UUID order.
 * @p out receives a malloc'd array of @p n canonical UUIDs; free() it.
 */
dr_status dr_list_tenants(const char *connstr, char (**out)[DR_UUID_LEN + 1], size_t *n, dr_error *err);

#endif
