/**
 * @file runner.h
 * @brief `run` and `export`: one transaction, one set-based statement, the output plan
 *        fed from one read of the fact rows, files renamed into place after the commit.
 *
 * All or nothing: any failure before the commit leaves no run in the database and no
 * file, final or temporary (docs/cli.md, "Run semantics").
 */
#ifndef DR_RUNNER_H
#define DR_RUNNER_H

#include "delivery.h"
#include "interrupt.h"
#include "log.h"
#include "output.h"
#include "period.h"
#include "period_db.h"
#include "principal.h"
#include "run_view.h"
#include "status.h"

#define DR_MAX_PRINCIPALS 1024

/** Everything a `run` needs, already parsed and validated syntactically. */
typedef struct dr_run_request {
    char tenant[DR_UUID_LEN + 1];
    dr_principal principals[DR_MAX_PRINCIPALS];
    size_t nprincipals;
    int all_principals;
    int has_range;           /**< 1: from/to; 0: period */
    dr_period period;
    dr_ts_arg from, to;
    const char *period_text; /**< as given, for report_run.parameters */
    const char *tz;          /**< IANA zone name */
    int persist;             /**< 0 with --no-persist */
    dr_view_request view;    /**< names, comparison, currency (compare NULL: "previous") */
} dr_run_request;

/** What every run of one process shares: built once, used by each run (each tenant). */
typedef struct dr_runner {
    const char *connstr;  /**< ODBC connection string */
    const dr_db_timeouts *timeouts; /**< [connection] bounds of the session; NULL: built-in */
    dr_output_plan *plan; /**< checked formats, options, directory, template */
    dr_interrupt *intr;   /**< signals; may be NULL */
    const dr_log *log;    /**< messages and result lines */
    dr_zone zone;         /**< the last zone used, checked once */
    dr_delivery_plan *deliveries; /**< destinations after each commit and publish; may be NULL */
} dr_runner;

/**
 * Execute a run: connect, compute, persist (unless req->persist is 0, then everything
 * is rolled back), write every format. Sends the run id and then each file's path as
 * result lines.
 */
dr_status dr_run_execute(dr_runner *r, const dr_run_request *req, dr_error *err);

/** Rebuild files from the persisted run @p run_id (DR_EDATA if it does not exist). With
    r->deliveries, deliver them after they are in place (`dynoreport deliver`). */
dr_status dr_run_export(dr_runner *r, const char *run_id, dr_error *err);

#endif
