/**
 * @file run_store.h
 * @brief The runs saved in the database: insert a run's header and its fact rows, read
 *        the fact rows back, read a saved run's header and principals, list tenants.
 */
#ifndef DR_RUN_STORE_H
#define DR_RUN_STORE_H

#include "odbc.h"
#include "principal.h"
#include "status.h"

/** A run's identity and period, as text (what names, metadata and the header need). */
typedef struct dr_run_meta {
    char run_id[64], tenant[64], period_label[64];
    char start[64], end[64], generated[64];    /**< ISO 8601 in the run's zone */
    char from_c[32], to_c[32], generated_c[32]; /**< compact forms for file names */
    char tz[128];
    char *principals; /**< "all" or the comma list of TYPE:UUID (malloc'd) */
} dr_run_meta;

/** Free what @p m owns. */
void dr_run_meta_free(dr_run_meta *m);

/**
 * Insert the report_run row of @p m. @p explicit_principals is 0 for "all principals";
 * @p period_text is the period as given; @p formats the comma list of formats.
 */
dr_status dr_store_insert_run(dr_db *db, const dr_run_meta *m, int explicit_principals,
                              const char *period_text, const char *formats, dr_error *err);

/** dr_store_insert_run for the runs @p m[0..n) of several tenants of one period (m[0]'s
    bounds, zone and principals): one statement. */
dr_status dr_store_insert_runs(dr_db *db, const dr_run_meta *const *m, size_t n, int explicit_principals,
                               const char *period_text, const char *formats, dr_error *err);

/**
 * Compute and insert every fact row and the totals of run @p m and, when @p compare is not
 * NULL (its run_id, start and end; its header inserted), those of its comparison period,
 * in one statement (sql/report_store.sql: dyno_crm.dynoreport_report_store, migration 007).
 * @p rows and @p compare_rows receive the fact rows of each. A value that does not fit the
 * columns is DR_EDATA, and nothing of the statement is stored.
 */
dr_status dr_store_compute(dr_db *db, const dr_run_meta *m, const dr_run_meta *compare,
                           int explicit_principals, long *rows, long *compare_rows, dr_error *err);

/**
 * dr_store_compute for the runs @p m[0..n) of several tenants of one period (a job's
 * batch; their headers inserted), with one statement: @p compare_run_ids (NULL: no
 * comparison) are the i-th tenant's comparison runs over [@p compare_start, @p compare_end).
 * @p rows and @p compare_rows receive the fact rows of all of them. Any failure leaves
 * nothing of the statement.
 */
dr_status dr_store_compute_runs(dr_db *db, const dr_run_meta *const *m, const char *const *compare_run_ids,
                                size_t n, const char *compare_start, const char *compare_end,
                                int explicit_principals, long *rows, long *compare_rows, dr_error *err);

/**
 * Open the read-back of runs @p run_ids[0..n) with one statement: @p sql, or with NULL their
 * fact rows (sql/report_read.sql); run after run in that order, the first column the run id.
 */
dr_status dr_store_read_runs(dr_db *db, const char *sql, const char *const *run_ids, size_t n, dr_cursor **out,
                             dr_error *err);

/**
 * Read saved run @p run_id's zone into @p tz. *@p found is 0 when there is no such run.
 */
dr_status dr_store_run_zone(dr_db *db, const char *run_id, char *tz, size_t tz_size, int *found,
                            dr_error *err);

/** Read the headers of saved runs @p run_ids[0..n) into *m[i] (not their principals), with
    one statement (the zone must be set first). A run that does not exist is DR_EDATA. */
dr_status dr_store_read_headers(dr_db *db, const char *const *run_ids, size_t n, dr_run_meta *const *m,
                                dr_error *err);

/** Read saved run @p run_id's header and principals into @p m (the zone must be set first). */
dr_status dr_store_read_run(dr_db *db, const char *run_id, dr_run_meta *m, dr_error *err);

/**
 * Try to take the claim of run @p m's (report, tenant, period) for the rest of the
 * transaction, without waiting (sql/run_lock_try.sql: a transaction-level advisory lock on
 * a 64-bit hash of the report, the tenant and the bounds as instants). *@p taken is 1 when
 * this session holds it now, 0 when another session does.
 */
dr_status dr_store_try_lock(dr_db *db, const dr_run_meta *m, int *taken, dr_error *err);

/** dr_store_try_lock for the tenants of @p m[0..n) (one period: m[0]'s bounds), in one
    statement: taken[i] for m[i]. */
dr_status dr_store_try_locks(dr_db *db, const dr_run_meta *const *m, size_t n, int *taken, dr_error *err);

/**
 * --skip-existing: the newest saved main run (comparison_for NULL) of @p m's report,
 * tenant, bounds and zone, asked for the same principals (@p explicit_principals 0: all)
 * and the same @p period_text (sql/run_existing.sql). Its id goes to @p run_id, *@p found
 * says whether there is one.
 */
dr_status dr_store_find_existing(dr_db *db, const dr_run_meta *m, int explicit_principals,
                                 const char *period_text, char *run_id, size_t run_id_size, int *found,
                                 dr_error *err);

/** dr_store_find_existing for the tenants of @p m[0..n) (one period, zone and principals:
    m[0]'s), in one statement: run_ids[i] the saved run of m[i]'s tenant, or "". Call it
    after their claims: its snapshot then sees what the claims' last holders saved. */
dr_status dr_store_find_existing_runs(dr_db *db, const dr_run_meta *const *m, size_t n, int explicit_principals,
                                      const char *period_text, char (*run_ids)[64], dr_error *err);

/**
 * The tenants that have deals (for a job with `tenant = all`), in UUID order.
 * @p out receives a malloc'd array of @p n canonical UUIDs; free() it.
 */
dr_status dr_store_list_tenants(dr_db *db, char (**out)[DR_UUID_LEN + 1], size_t *n, dr_error *err);

#endif
