/**
 * @file cli.h
 * @brief The CLI layer's shared parts: the command context, the one place that turns a
 *        dr_status and dr_error into a message and an exit code, the protected stdout,
 *        and the printing side of dr_log (the only code that prints).
 */
#ifndef DR_CLI_H
#define DR_CLI_H

#include <stdio.h>

#include "config.h"
#include "interrupt.h"
#include "log.h"
#include "output.h"
#include "runner.h"
#include "status.h"

/** What every command gets: the global options, the configuration, signals, logging. */
typedef struct dr_cli {
    const char *connect;     /**< --connect (after dr_cli_guard_connect: a private copy) */
    const char *dsn;         /**< --dsn */
    const char *config_path; /**< --config */
    dr_config cfg;
    dr_interrupt intr;
    dr_log log;              /**< verbosity from -q / -v; prints through this module */
    FILE *results;           /**< stdout's private copy while a command writes results */
    char connstr[DR_CONNSTR_MAX]; /**< wiped by dr_cli_free (and once connected, by db init) */
    char *connect_copy;      /**< the private copy of --connect, wiped by dr_cli_free */
    int warn_connect_password; /**< dr_cli_finish warns of the password in --connect */
} dr_cli;

/** Prepare @p cli: normal verbosity, no configuration, signals not yet watched. */
void dr_cli_init(dr_cli *cli);

/** Free what @p cli holds (configuration, results stream, signal watcher); wipe the
    connection strings it holds. */
void dr_cli_free(dr_cli *cli);

/**
 * No core dumps for this process: RLIMIT_CORE 0 and not dumpable (prctl PR_SET_DUMPABLE 0,
 * which also keeps other processes of the same user from ptrace and /proc/PID/mem). A
 * crashing plugin would otherwise leave a core file holding the connection string and
 * the password. Called first thing in main.
 */
void dr_cli_no_core_dumps(void);

/**
 * A password in --connect (@p arg, the argv string getopt gave) can be read by every user
 * of the machine in ps: have dr_cli_finish warn once (a warning, so -q drops it like every
 * warning; last, after the command's own message, so an error stays the first line), point
 * cli->connect at a private copy and overwrite the secret values in @p arg with '*', so
 * that ps shows them only while the process starts. No-op without a password.
 */
void dr_cli_guard_connect(dr_cli *cli, char *arg);

/**
 * The one place that reports: prints "dynoreport: error: MESSAGE" (and, for a command-line
 * error, "Try 'dynoreport CMD --help'") on stderr and returns the exit code. DR_OK: 0.
 * Then the warning of a password in --connect (dr_cli_guard_connect), if any.
 * @p cmd is the command's name, or "" for the global options.
 */
int dr_cli_finish(const dr_cli *cli, const char *cmd, dr_status st, const dr_error *err);

/**
 * stdout is a contract for scripts (run id, then paths). Plugins and libraries must not
 * be able to break it: result lines go to a private copy of fd 1, and fd 1 itself is
 * pointed at stderr until dr_cli_free, so a stray printf lands among the messages.
 */
void dr_cli_protect_stdout(dr_cli *cli);

/**
 * What run, export and job share for their runs: the connection string, the session's
 * bounds, @p plan, signals and logging. Protects stdout first (dr_cli_protect_stdout):
 * result lines are the next thing a command writes.
 */
dr_runner dr_cli_runner(dr_cli *cli, dr_output_plan *plan);

/** Resolve the connection string into cli->connstr (see dr_config_connection). */
dr_status dr_cli_connection(dr_cli *cli, dr_error *err);

/** getopt_long values of the long options (beyond any char). */
enum { OPT_TENANT = 256, OPT_PRINCIPAL, OPT_ALL, OPT_PERIOD, OPT_FROM, OPT_TO, OPT_TZ, OPT_FORMAT,
       OPT_OUTDIR, OPT_NAME, OPT_OPT, OPT_NOPERSIST, OPT_PLUGINDIR, OPT_RUNID, OPT_INDEXES, OPT_COMPARE, OPT_HELP,
       OPT_DELIVER, OPT_TO_DEST, /* delivery (docs/delivery.md) */
       OPT_SKIP_EXISTING, OPT_LOCK_TIMEOUT, OPT_JOBS, OPT_DRY_RUN, OPT_ALL_JOBS };

/** The output options every report command takes (for its getopt_long table). */
#define OUTPUT_LONGOPTS                                                                           \
    {"format", required_argument, NULL, OPT_FORMAT},                                              \
    {"output-dir", required_argument, NULL, OPT_OUTDIR},                                          \
    {"name", required_argument, NULL, OPT_NAME},                                                  \
    {"opt", required_argument, NULL, OPT_OPT},                                                    \
    {"plugin-dir", required_argument, NULL, OPT_PLUGINDIR},                                       \
    {"help", no_argument, NULL, OPT_HELP}

/** Help text of the output options. */
extern const char dr_cli_output_help[];

/** getopt's answer for an option it does not take ('?' or ':'), worded one way everywhere. */
dr_status dr_cli_option_error(int c, char **argv, dr_error *err);

/** Arguments left after the options: none are taken. */
dr_status dr_cli_no_operands(int argc, char **argv, dr_error *err);

/** One output option (--format, --output-dir, ...) into @p out; *@p handled says if @p c was one. */
dr_status dr_cli_output_option(int c, const char *arg, dr_output_request *out, dr_strstore *store,
                               int *handled, dr_error *err);

/** The output plan of a command: precedence applied (config.c), plugins loaded and checked. */
dr_status dr_cli_plan(dr_cli *cli, const dr_settings *job, dr_output_request *out, dr_strstore *store,
                      dr_output_plan **plan, dr_error *err);

/**
 * The destinations of a command: @p names (from --deliver / --to, each a comma list) when
 * given, else the 'deliver' of the [job] @p job (may be NULL), else of [defaults]; loaded
 * and checked before any database work (dr_delivery_plan_build). *@p plan is NULL for none.
 */
dr_status dr_cli_deliveries(dr_cli *cli, const dr_settings *job, const char *const *names, size_t nnames,
                            const char *plugin_dir, dr_strstore *store, dr_delivery_plan **plan, dr_error *err);

/**
 * How long a run waits for another run of its tenant and period: @p cli_ms (--lock-timeout;
 * -1 when not given), else run_lock_timeout of @p job (may be NULL), of [defaults], else 5 s.
 */
long dr_cli_lock_timeout(const dr_cli *cli, const dr_settings *job, long cli_ms);

/** --lock-timeout @p arg into *@p ms (dr_duration_ms), or a usage error naming it. */
dr_status dr_cli_lock_timeout_option(const char *arg, long *ms, dr_error *err);

/** --principal LIST: each USER:UUID / GROUP:UUID appended to @p req. */
dr_status dr_cli_add_principals(dr_run_request *req, const char *arg, dr_strstore *store, dr_error *err);

#endif
