/**
 * @file run_view.h
 * @brief The manager's view of a run, computed and stored with it in its transaction:
 *        the comparison period (a run of its own), the honest totals, the names from the
 *        configured [names] queries, and the titles; and its read-back for plugins.
 */
#ifndef DR_RUN_VIEW_H
#define DR_RUN_VIEW_H

#include <dynoreport/plugin.h>

#include "odbc.h"
#include "period_db.h"
#include "run_store.h"
#include "status.h"

/** Where names come from and what to compare with (configuration and command line). */
typedef struct dr_view_request {
    const char *names_principals; /**< file of the principals' names query, or NULL */
    const char *names_tenant;     /**< file of the tenant's name query, or NULL */
    const char *compare;          /**< "previous", "year-ago" or "none" */
    const char *currency;         /**< ISO 4217 code, or "" */
} dr_view_request;

/** The view of one run as text (dr_report_view points into it). */
typedef struct dr_view_meta {
    char compare[16];
    char compare_run_id[64];
    char compare_start[64], compare_end[64], compare_label[64];
    char period_title[128], compare_title[128];
    char currency[8];
    char tenant_name[512];
    char dropped[1024]; /**< why the comparison was dropped (its data overflows), or "" */
} dr_view_meta;

/**
 * Resolve the comparison period of run @p m (bounds, label, a new run id) and both periods
 * in words into @p v; v->compare is set from @p compare, and becomes "none" when the
 * comparison period cannot be represented (before 4000 BC).
 */
dr_status dr_view_resolve(dr_db *db, const dr_period_request *req, const dr_run_meta *m, const char *compare,
                          dr_view_meta *v, dr_error *err);

/**
 * After the run's header is in: compute and insert the facts and totals of run @p m and,
 * unless compare is "none", the comparison run with its facts and totals (one statement,
 * dr_store_compute; a comparison whose numbers do not fit is dropped, v->dropped says
 * why), then the names and the view row. A bad names query is DR_ECONFIG naming its
 * file; the caller rolls back.
 */
dr_status dr_view_store(dr_db *db, const dr_run_meta *m, int explicit_principals, const dr_view_request *req,
                        dr_view_meta *v, dr_error *err);

/** What dr_view_store sets before it computes: currency, fallback tenant name, no comparison fields with "none". */
void dr_view_prepare(const dr_run_meta *m, const dr_view_request *req, dr_view_meta *v);

/** The comparison runs' headers of runs @p m[0..n) of one period (v[i] is m[i]'s view,
    compare not "none"; v[0]'s comparison bounds, label and kind), before their facts: one
    statement. */
dr_status dr_view_insert_comparison_runs(dr_db *db, const dr_run_meta *const *m, const dr_view_meta *const *v,
                                         size_t n, dr_error *err);

/** After the facts and totals of run @p m: run the configured [names] queries for its
    tenant, store its principals' names, set v->tenant_name (nothing without [names]). */
dr_status dr_view_fetch_names(dr_db *db, const dr_run_meta *m, const dr_view_request *req, dr_view_meta *v,
                              dr_error *err);

/** The view rows of runs @p m[0..n) of one period (v[i] is m[i]'s; v[0]'s titles,
    comparison and currency): one statement. */
dr_status dr_view_insert_views(dr_db *db, const dr_run_meta *const *m, const dr_view_meta *const *v, size_t n,
                               dr_error *err);

/** Read the stored view of saved run @p run_id into @p v (fallbacks when it has none). */
dr_status dr_view_read(dr_db *db, const dr_run_meta *m, dr_view_meta *v, dr_error *err);

/** Open the view read-back of runs @p run_ids[0..n) (one statement, run after run): 13
    fact columns + the view's, all rows. */
dr_status dr_view_read_rows(dr_db *db, const char *const *run_ids, size_t n, dr_cursor **out, dr_error *err);

/**
 * For `config check`: read the names query @p path as a run does (trust check of the file,
 * exactly one statement) and, with @p db, run it without fetching a row (`SELECT * FROM
 * (query) LIMIT 0`, :tenant the nil UUID) to check that it runs and gives @p ncols
 * columns (3 for [names] principals, 1 for tenant). Nothing is written.
 * @return DR_OK, DR_ECONFIG naming the file, or the database's failure status.
 */
dr_status dr_view_check_query(dr_db *db, const char *path, size_t ncols, dr_error *err);

/** Fill @p out from @p v and @p m for the plugins. */
void dr_view_to_report_view(const dr_view_meta *v, dr_report_view *out);

/**
 * The one SELECT of the query file @p path (a [names] query, a delivery's recipients_query)
 * into *@p out (malloc'd): read by handle, a regular file that nobody but its owner (the
 * running user or root) may change, at most 1 MiB, one statement. @p what names the file in
 * messages ("names query"). @return DR_OK, DR_ECONFIG naming the file, DR_ENOMEM.
 */
dr_status dr_query_file_read(const char *what, const char *path, char **out, dr_error *err);

#endif
