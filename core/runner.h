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
    int skip_existing;       /**< --skip-existing: a saved run of the same options is reused */
    int claim_try;           /**< 1: the run's lock is only tried (a job's first pass), never waited for */
} dr_run_request;

/** How a run ended when it did not fail. */
typedef enum dr_run_outcome {
    DR_RUN_DONE,     /**< computed, saved, written */
    DR_RUN_SKIPPED,  /**< --skip-existing: saved already, every file in place; nothing done */
    DR_RUN_EXPORTED, /**< --skip-existing: saved already; its missing files exported again */
    DR_RUN_BUSY      /**< claim_try: another session holds the run's lock (status DR_ETEMPFAIL) */
} dr_run_outcome;

/** How long a run waits for the lock of its (report, tenant, period) by default: 5 s. */
#define DR_DEFAULT_RUN_LOCK_TIMEOUT_MS 5000

/** What every run of one process shares: built once, used by each run (each tenant). */
typedef struct dr_runner {
    const char *connstr;  /**< ODBC connection string */
    const dr_db_timeouts *timeouts; /**< [connection] bounds of the session; NULL: built-in */
    dr_output_plan *plan; /**< checked formats, options, directory, template */
    dr_interrupt *intr;   /**< signals; may be NULL */
    const dr_log *log;    /**< messages and result lines */
    dr_zone zone;         /**< the last zone used, checked once */
    dr_delivery_plan *deliveries; /**< destinations after each commit and publish; may be NULL */
    long lock_timeout_ms; /**< --lock-timeout: wait for another run of the same tenant and period */
    int keep_connection;  /**< 1 (a job's worker): one connection serves run after run (dr_runner_close) */
    dr_db *db;            /**< that connection while open (schema checked once); else NULL */
} dr_runner;

/** Close the connection a runner kept (keep_connection). NULL-safe, idempotent. */
void dr_runner_close(dr_runner *r);

/**
 * Execute a run: connect, compute, persist (unless req->persist is 0, then everything
 * is rolled back), write every format. Sends the run id and then each file's path as
 * result lines.
 */
dr_status dr_run_execute(dr_runner *r, const dr_run_request *req, dr_error *err);

/**
 * dr_run_execute, telling how it ended in *@p outcome. In its transaction, once the
 * period's bounds are known, the run takes the advisory lock of its (report, tenant,
 * period) (run_store.h dr_store_try_lock), polling up to r->lock_timeout_ms (req->claim_try:
 * once): held by another session longer than that is DR_ETEMPFAIL (exit 75), nothing
 * saved (*@p outcome DR_RUN_BUSY). With req->skip_existing a saved run of the same options
 * (dr_store_find_existing) is not computed again: its id and files' paths are the result
 * lines, and files missing in the output directory are exported again from it first.
 */
dr_status dr_run_execute_outcome(dr_runner *r, const dr_run_request *req, dr_run_outcome *outcome,
                                 dr_error *err);

/** What became of a tenant of a batch (dr_run_execute_batch). */
typedef enum dr_batch_state {
    DR_BATCH_ALONE = 0, /**< not done here: run it on its own (every tenant when the batch failed) */
    DR_BATCH_DONE,      /**< computed and saved, or found saved with its files in place; told to published */
    DR_BATCH_BUSY       /**< claimed by another session: try it again later */
} dr_batch_state;

/** Told of each tenant @p i done by a batch, right after its result lines: @p oc DR_RUN_DONE
    (computed; @p st its publish and deliveries) or DR_RUN_SKIPPED (--skip-existing). */
typedef void (*dr_run_published)(void *ctx, size_t i, dr_run_outcome oc, dr_status st, const dr_error *err);

/**
 * Several tenants of a job for the same period in one transaction, set-based: the period
 * and its comparison resolved once, run ids made here, the claims of all @p tenants[0..n)
 * tried with one statement and --skip-existing's lookup with one more; for the tenants
 * taken and not saved already, their run headers, comparison headers, facts and totals
 * (of both periods), names and view rows, one statement each (names queries per tenant),
 * one read-back of all of them feeding every file, one sync of the staged files; then one
 * commit, each tenant's files put in place, the directory synced once, each tenant's
 * deliveries, @p published told of each (a failure after the commit is that tenant's
 * alone, its run saved). A tenant saved already with its files in place is skipped (its
 * result lines, @p published told). @p state[i] says what became of tenant i. Any failure
 * before the commit (a tenant's numbers do not fit, a file of one cannot be created, a
 * lost connection) rolls the whole batch back and is returned with every state
 * DR_BATCH_ALONE: run each tenant on its own then, so that the failure stays with its
 * tenant.
 */
dr_status dr_run_execute_batch(dr_runner *r, const dr_run_request *req, char (*tenants)[DR_UUID_LEN + 1],
                               size_t n, dr_batch_state *state, dr_run_published published, void *pctx,
                               dr_error *err);

/** "all" or the comma list TYPE:UUID of @p req's principals into m->principals (malloc'd). */
dr_status dr_run_principals_text(dr_run_meta *m, const dr_run_request *req, dr_error *err);

/** Rebuild files from the persisted run @p run_id (DR_EDATA if it does not exist). With
    r->deliveries, deliver them after they are in place (`dynoreport deliver`). */
dr_status dr_run_export(dr_runner *r, const char *run_id, dr_error *err);

#endif
