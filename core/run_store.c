/* The runs saved in the database: run headers, fact rows and totals (one set-based statement),
   the read-back of a run, saved runs' headers and principals, the tenant list. */
#include "run_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgarray.h"
#include "report.h"
#include "sql_embedded.h"

#ifndef DR_VERSION
#define DR_VERSION "0"
#endif

/* Rows fetched per round trip (ODBC row array). */
#define DR_FETCH_BATCH 1000

void dr_run_meta_free(dr_run_meta *m)
{
    free(m->principals);
    m->principals = NULL;
}

/* The array literals of the run ids and tenants of @p m[0..n) into @p runs and @p tenants. */
static dr_status id_arrays(const dr_run_meta *const *m, size_t n, dr_pgarray *runs, dr_pgarray *tenants,
                           dr_error *err)
{
    for (size_t i = 0; i < n; i++)
        if ((runs && dr_pgarray_add_str(runs, m[i]->run_id) < 0) ||
            (tenants && dr_pgarray_add_str(tenants, m[i]->tenant) < 0))
            return dr_fail(err, DR_ENOMEM, "out of memory");
    if ((runs && dr_pgarray_end(runs) == NULL) || (tenants && dr_pgarray_end(tenants) == NULL))
        return dr_fail(err, DR_ENOMEM, "out of memory");
    return DR_OK;
}

/* Run @p sql, which returns one row (tenant, value) per tenant of m[0..n) in their order,
   and copy each value into out[i] ("" for NULL). */
static dr_status per_tenant_values(dr_db *db, const char *sql, const dr_param *p, size_t np,
                                   const dr_run_meta *const *m, size_t n, char (*out)[64], dr_error *err)
{
    dr_cursor *c = NULL;
    size_t got = 0;
    dr_status st = dr_db_query_small_named(db, sql, p, np, &c, err); /* a batch: at most 100 */
    while (st == DR_OK) {
        const char *v[2];
        size_t len[2];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, len, err)) != DR_OK)
            break;
        if (!has)
            break;
        if (got >= n || v[0] == NULL || strcmp(v[0], m[got]->tenant) != 0) {
            st = dr_fail(err, DR_EINTERNAL, "a per-tenant statement returned its rows out of order");
            break;
        }
        snprintf(out[got++], 64, "%s", v[1] ? v[1] : "");
    }
    if (st == DR_OK && got != n)
        st = dr_fail(err, DR_EINTERNAL, "a per-tenant statement returned %zu rows for %zu tenants", got, n);
    dr_cursor_close(c);
    return st;
}

dr_status dr_store_insert_runs(dr_db *db, const dr_run_meta *const *m, size_t n, int explicit_principals,
                               const char *period_text, const char *formats, dr_error *err)
{
    dr_pgarray runs = {0}, tenants = {0};
    dr_status st = n ? id_arrays(m, n, &runs, &tenants, err) : DR_OK;
    if (st == DR_OK && n) {
        dr_param p[] = {
            {"run_ids", runs.p},     {"tenants", tenants.p},
            {"report", DR_REPORT_NAME},
            {"start", m[0]->start},  {"end", m[0]->end},
            {"label", m[0]->period_label}, {"tz", m[0]->tz},
            {"principals", explicit_principals ? m[0]->principals : NULL},
            {"period", period_text}, {"formats", formats},
            {"version", DR_VERSION},
        };
        st = dr_db_exec_named(db, dr_sql_run_insert, p, sizeof p / sizeof p[0], NULL, err);
    }
    dr_pgarray_free(&runs);
    dr_pgarray_free(&tenants);
    return st;
}

dr_status dr_store_insert_run(dr_db *db, const dr_run_meta *m, int explicit_principals,
                              const char *period_text, const char *formats, dr_error *err)
{
    return dr_store_insert_runs(db, &m, 1, explicit_principals, period_text, formats, err);
}

dr_status dr_store_compute_runs(dr_db *db, const dr_run_meta *const *m, const char *const *compare_run_ids,
                                size_t n, const char *compare_start, const char *compare_end,
                                int explicit_principals, long *rows, long *compare_rows, dr_error *err)
{
    dr_pgarray runs = {0}, compare_runs = {0}, tenants = {0};
    dr_cursor *c = NULL;
    *rows = *compare_rows = 0;
    dr_status st = id_arrays(m, n, &runs, &tenants, err);
    for (size_t i = 0; st == DR_OK && compare_run_ids && i < n; i++)
        if (dr_pgarray_add_str(&compare_runs, compare_run_ids[i]) < 0)
            st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st == DR_OK && compare_run_ids && dr_pgarray_end(&compare_runs) == NULL)
        st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st != DR_OK)
        goto cleanup;
    dr_param p[] = {
        {"run_ids", runs.p}, {"compare_run_ids", compare_run_ids ? compare_runs.p : NULL}, {"tenants", tenants.p},
        {"period_start", m[0]->start}, {"period_end", m[0]->end},
        {"compare_start", compare_run_ids ? compare_start : NULL},
        {"compare_end", compare_run_ids ? compare_end : NULL},
        {"principals", explicit_principals ? m[0]->principals : NULL},
    };
    st = dr_db_query_small_named(db, dr_sql_report_store, p, sizeof p / sizeof p[0], &c, err);
    for (size_t got = 0; st == DR_OK; got++) {
        const char *v[3];
        size_t len[3];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, len, err)) != DR_OK)
            break;
        if (!has) {
            if (got != n)
                st = dr_fail(err, DR_EINTERNAL, "the report statement returned %zu rows for %zu tenants", got, n);
            break;
        }
        *rows += v[1] ? strtol(v[1], NULL, 10) : 0;
        *compare_rows += v[2] ? strtol(v[2], NULL, 10) : 0;
    }
    if (st == DR_EDATA) /* numeric field overflow (22003) and the like: say what it means */
        dr_error_prefix(err, "the source data gives numbers the fact table cannot hold (amounts are "
                             "numeric(14,2), average days numeric(10,4)); nothing was saved: ");
cleanup:
    dr_cursor_close(c);
    dr_pgarray_free(&runs);
    dr_pgarray_free(&compare_runs);
    dr_pgarray_free(&tenants);
    return st;
}

dr_status dr_store_compute(dr_db *db, const dr_run_meta *m, const dr_run_meta *compare,
                           int explicit_principals, long *rows, long *compare_rows, dr_error *err)
{
    const dr_run_meta *one[1] = {m};
    const char *compare_id[1] = {compare ? compare->run_id : NULL};
    return dr_store_compute_runs(db, one, compare ? compare_id : NULL, 1, compare ? compare->start : NULL,
                                 compare ? compare->end : NULL, explicit_principals, rows, compare_rows, err);
}

dr_status dr_store_read_runs(dr_db *db, const char *sql, const char *const *run_ids, size_t n, dr_cursor **out,
                             dr_error *err)
{
    dr_pgarray runs = {0};
    dr_status st = DR_OK;
    for (size_t i = 0; i < n && st == DR_OK; i++)
        if (dr_pgarray_add_str(&runs, run_ids[i]) < 0)
            st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st == DR_OK && dr_pgarray_end(&runs) == NULL)
        st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st == DR_OK) {
        dr_param p[] = {{"run_ids", runs.p}};
        st = dr_db_query_named(db, sql ? sql : dr_sql_report_read, p, 1, DR_FETCH_BATCH, out, err);
    }
    dr_pgarray_free(&runs);
    return st;
}

dr_status dr_store_run_zone(dr_db *db, const char *run_id, char *tz, size_t tz_size, int *found,
                            dr_error *err)
{
    dr_param p[] = {{"run_id", run_id}};
    char *const dst[1] = {tz};
    const size_t size[1] = {tz_size};
    return dr_db_fetch_row_named(db, dr_sql_run_zone_read, p, 1, dst, size, 1, found, err);
}

/* The principals a saved run asked for, one row each ("all" when it asked for all): a
   list of hundreds does not fit one fetched cell. */
static dr_status saved_principals(dr_db *db, const char *run_id, char **out, dr_error *err)
{
    dr_param p[] = {{"run_id", run_id}};
    dr_cursor *c = NULL;
    size_t used = 0, cap = 0;
    char *list = NULL;
    dr_status st = dr_db_query_named(db, dr_sql_run_principals_read, p, 1, 0, &c, err);
    while (st == DR_OK) {
        const char *v[1];
        size_t l[1];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, l, err)) != DR_OK || !has || v[0] == NULL)
            break;
        if (used + l[0] + 2 > cap) {
            cap = (used + l[0] + 2) * 2;
            char *grown = realloc(list, cap);
            if (grown == NULL) {
                st = dr_fail(err, DR_ENOMEM, "out of memory");
                break;
            }
            list = grown;
        }
        if (used)
            list[used++] = ',';
        memcpy(list + used, v[0], l[0] + 1);
        used += l[0];
    }
    dr_cursor_close(c);
    if (st == DR_OK && list == NULL && (list = strdup("all")) == NULL)
        st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st != DR_OK) {
        free(list);
        return st;
    }
    *out = list;
    return DR_OK;
}

dr_status dr_store_read_headers(dr_db *db, const char *const *run_ids, size_t n, dr_run_meta *const *m,
                                dr_error *err)
{
    dr_cursor *c = NULL;
    size_t got = 0;
    dr_status st = dr_store_read_runs(db, dr_sql_run_header_read, run_ids, n, &c, err);
    while (st == DR_OK) {
        const char *v[9];
        size_t len[9];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, len, err)) != DR_OK || !has)
            break;
        if (got >= n || v[0] == NULL || strcmp(v[0], run_ids[got]) != 0) {
            st = dr_fail(err, DR_EDATA, "no run '%s' in the database: expected the id a 'dynoreport run' printed",
                         got < n ? run_ids[got] : "?");
            break;
        }
        dr_run_meta *r = m[got++];
        char *const dst[9] = {r->run_id, r->tenant, r->period_label, r->start, r->end,
                              r->generated, r->from_c, r->to_c, r->generated_c};
        const size_t size[9] = {sizeof r->run_id, sizeof r->tenant, sizeof r->period_label,
                                sizeof r->start, sizeof r->end, sizeof r->generated,
                                sizeof r->from_c, sizeof r->to_c, sizeof r->generated_c};
        for (size_t i = 0; i < 9; i++)
            snprintf(dst[i], size[i], "%s", v[i] ? v[i] : "");
    }
    if (st == DR_OK && got != n)
        st = dr_fail(err, DR_EDATA, "no run '%s' in the database: expected the id a 'dynoreport run' printed",
                     run_ids[got]);
    dr_cursor_close(c);
    return st;
}

dr_status dr_store_read_run(dr_db *db, const char *run_id, dr_run_meta *m, dr_error *err)
{
    dr_status st = dr_store_read_headers(db, &run_id, 1, &m, err);
    if (st == DR_OK)
        st = saved_principals(db, run_id, &m->principals, err);
    return st;
}

dr_status dr_store_try_locks(dr_db *db, const dr_run_meta *const *m, size_t n, int *taken, dr_error *err)
{
    dr_pgarray tenants = {0};
    char (*got)[64] = calloc(n ? n : 1, sizeof *got);
    dr_status st = got ? id_arrays(m, n, NULL, &tenants, err) : dr_fail(err, DR_ENOMEM, "out of memory");
    if (st == DR_OK) {
        dr_param p[] = {{"report", DR_REPORT_NAME}, {"tenants", tenants.p}, {"start", m[0]->start},
                        {"end", m[0]->end}};
        st = per_tenant_values(db, dr_sql_run_lock_try, p, sizeof p / sizeof p[0], m, n, got, err);
    }
    for (size_t i = 0; i < n; i++)
        taken[i] = st == DR_OK && strcmp(got[i], "1") == 0;
    free(got);
    dr_pgarray_free(&tenants);
    return st;
}

dr_status dr_store_try_lock(dr_db *db, const dr_run_meta *m, int *taken, dr_error *err)
{
    return dr_store_try_locks(db, &m, 1, taken, err);
}

dr_status dr_store_find_existing_runs(dr_db *db, const dr_run_meta *const *m, size_t n, int explicit_principals,
                                      const char *period_text, char (*run_ids)[64], dr_error *err)
{
    dr_pgarray tenants = {0};
    dr_status st = id_arrays(m, n, NULL, &tenants, err);
    if (st == DR_OK) {
        dr_param p[] = {
            {"tenants", tenants.p}, {"report", DR_REPORT_NAME}, {"start", m[0]->start}, {"end", m[0]->end},
            {"tz", m[0]->tz}, {"principals", explicit_principals ? m[0]->principals : NULL},
            {"period", period_text},
        };
        st = per_tenant_values(db, dr_sql_run_existing, p, sizeof p / sizeof p[0], m, n, run_ids, err);
    }
    dr_pgarray_free(&tenants);
    return st;
}

dr_status dr_store_find_existing(dr_db *db, const dr_run_meta *m, int explicit_principals,
                                 const char *period_text, char *run_id, size_t run_id_size, int *found,
                                 dr_error *err)
{
    char id[1][64];
    dr_status st = dr_store_find_existing_runs(db, &m, 1, explicit_principals, period_text, id, err);
    *found = st == DR_OK && id[0][0] != '\0';
    snprintf(run_id, run_id_size, "%s", st == DR_OK ? id[0] : "");
    return st;
}

dr_status dr_store_list_tenants(dr_db *db, char (**out)[DR_UUID_LEN + 1], size_t *n, dr_error *err)
{
    dr_cursor *c = NULL;
    char (*ids)[DR_UUID_LEN + 1] = NULL;
    size_t count = 0, cap = 0;
    *out = NULL;
    *n = 0;
    dr_status st = dr_db_query_named(db, dr_sql_tenants_list, NULL, 0, 0, &c, err);
    while (st == DR_OK) {
        const char *v[1];
        size_t l[1];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, l, err)) != DR_OK || !has)
            break;
        if (v[0] == NULL || l[0] != DR_UUID_LEN)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            void *grown = realloc(ids, cap * sizeof *ids);
            if (grown == NULL) {
                st = dr_fail(err, DR_ENOMEM, "out of memory listing tenants");
                break;
            }
            ids = grown;
        }
        memcpy(ids[count++], v[0], DR_UUID_LEN + 1);
    }
    dr_cursor_close(c);
    if (st != DR_OK) {
        free(ids);
        return st;
    }
    *out = ids;
    *n = count;
    return DR_OK;
}
