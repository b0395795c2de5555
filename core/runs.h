/**
 * @file runs.h
 * @brief The saved runs, for operators: `runs list` (the newest main runs, one TSV line
 *        each), `runs show` (everything stored about one run, in sections), `runs prune`
 *        (delete the runs older than a cut, with everything that cascades from them, in
 *        one transaction). Comparison runs are part of their run: never listed, shown
 *        only inside their run, deleted with it.
 *
 * Nothing here prints: lines go to the dr_runner's log as result lines (stdout), the
 * summary of a prune as an info message (stderr). The database work is the statements
 * sql/runs_*.sql, each set-based.
 */
#ifndef DR_RUNS_H
#define DR_RUNS_H

#include "period.h"
#include "principal.h"
#include "runner.h"
#include "status.h"

/** Default and largest --limit of `runs list`. */
#define DR_RUNS_LIST_DEFAULT 50
#define DR_RUNS_LIST_MAX 100000
/** Principals in the ranked list of `runs show`. */
#define DR_RUNS_SHOW_TOP 10
/** Largest N of an age (`--older-than 100000days`) and of --keep-last. */
#define DR_RUNS_AGE_MAX 100000

/** What `runs list` asks for. */
typedef struct dr_runs_list_request {
    char tenant[DR_UUID_LEN + 1]; /**< canonical UUID, or "" for all tenants */
    int has_since;                /**< 1: only runs generated at or after @ref since */
    dr_ts_arg since;              /**< without offset: UTC */
    long limit;                   /**< 1 .. DR_RUNS_LIST_MAX */
    int header;                   /**< 1: a header line first */
} dr_runs_list_request;

/** The columns of `runs list`, tab-separated (its header line). */
#define DR_RUNS_LIST_HEADER \
    "run_id\ttenant\tperiod\tstart\tend\ttime_zone\tgenerated_at\tprincipals\trows\tformats"

/**
 * List the newest main runs (never a comparison run) as result lines: DR_RUNS_LIST_HEADER
 * (when asked), then one tab-separated line per run, newest first. Fields are shown with
 * dr_printable_copy (a tab or line break would be \x09 / \x0a).
 */
dr_status dr_runs_list(dr_runner *r, const dr_runs_list_request *req, dr_error *err);

/**
 * Show saved run @p run_id (canonical UUID): one section after the other, each a function
 * of runs.c's section table (header and parameters, comparison run, counts, totals,
 * ranked principals; a later section is one more entry there). A run that does not exist
 * is DR_EDATA, as for export; so is a comparison run's id (the message names its run).
 */
dr_status dr_runs_show(dr_runner *r, const char *run_id, dr_error *err);

/** What `runs prune` asks for. */
typedef struct dr_runs_prune_request {
    char age[40];                 /**< PostgreSQL interval ("13 months"), or "" for @ref before */
    dr_ts_arg before;             /**< the cut as a date or timestamp (no offset: UTC) */
    long keep_last;               /**< newest main runs kept per tenant and report type; 0: none */
    char tenant[DR_UUID_LEN + 1]; /**< canonical UUID, or "" for all tenants */
    int dry_run;                  /**< 1: select and report only, delete nothing */
} dr_runs_prune_request;

/**
 * Parse the --older-than value into @p req: an age N UNIT (N from 1 to DR_RUNS_AGE_MAX;
 * UNIT day, days, d, week, weeks, w, month, months, year, years, y; no blank: "13months")
 * or a date or timestamp in the --from forms (period.h; no offset: UTC).
 * @return DR_OK or DR_EUSAGE naming the value and the accepted forms.
 */
dr_status dr_runs_age_parse(const char *text, dr_runs_prune_request *req, dr_error *err);

/**
 * Delete the main runs generated before the cut (now - age, or the date), except the
 * newest keep_last of each tenant and report type, with everything that cascades from
 * them (fact rows, comparison run and its rows, view, totals, names), in one transaction:
 * the cut computed once, the runs chosen by one statement, deleted by id (batches of one
 * statement each, every one again limited to runs before the cut). After the commit (or,
 * with dry_run, after choosing, when everything is rolled back) one result line per run:
 * id, tenant, period label, generated at (UTC), fact rows removed, tab-separated, oldest
 * first; then one info message with the totals. A cut after now is DR_EUSAGE.
 */
dr_status dr_runs_prune(dr_runner *r, const dr_runs_prune_request *req, dr_error *err);

#endif
