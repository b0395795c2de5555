/* The runs saved in the database: run headers, fact rows and totals (one set-based statement),
   the read-back of a run, saved runs' headers and principals, the tenant list. */
#include "run_store.h"

#include <stdlib.h>
#include <string.h>

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

dr_status dr_store_insert_run(dr_db *db, const dr_run_meta *m, int explicit_principals,
                              const char *period_text, const char *formats, dr_error *err)
{
    dr_param p[] = {
        {"run_id", m->run_id},   {"tenant", m->tenant},
        {"report", DR_REPORT_NAME},
        {"start", m->start},     {"end", m->end},
        {"label", m->period_label}, {"tz", m->tz},
        {"principals", explicit_principals ? m->principals : NULL},
        {"period", period_text}, {"formats", formats},
        {"version", DR_VERSION},
    };
    return dr_db_exec_named(db, dr_sql_run_insert, p, sizeof p / sizeof p[0], NULL, err);
}

/* "{a,b,...}" of @p n ids (each at most 36 characters), malloc'd; NULL when out of memory. */
static char *uuid_array(const char *const *ids, size_t n)
{
    char *out = malloc(n * (DR_UUID_LEN + 1) + 3);
    size_t used = 0;
    if (out == NULL)
        return NULL;
    out[used++] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)sprintf(out + used, "%s%.36s", i ? "," : "", ids[i]);
    out[used++] = '}';
    out[used] = '\0';
    return out;
}

dr_status dr_store_compute_runs(dr_db *db, const dr_run_meta *const *m, const char *const *compare_run_ids,
                                size_t n, const char *compare_start, const char *compare_end,
                                int explicit_principals, long *rows, long *compare_rows, dr_error *err)
{
    const char **ids = calloc(n ? n : 1, sizeof *ids), **tenant_ids = calloc(n ? n : 1, sizeof *tenant_ids);
    char *runs = NULL, *compare_runs = NULL, *tenants = NULL;
    dr_cursor *c = NULL;
    dr_status st = DR_OK;
    *rows = *compare_rows = 0;
    if (ids == NULL || tenant_ids == NULL) {
        st = dr_fail(err, DR_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = m[i]->run_id;
        tenant_ids[i] = m[i]->tenant;
    }
    runs = uuid_array(ids, n);
    tenants = uuid_array(tenant_ids, n);
    compare_runs = compare_run_ids ? uuid_array(compare_run_ids, n) : NULL;
    if (runs == NULL || tenants == NULL || (compare_run_ids && compare_runs == NULL)) {
        st = dr_fail(err, DR_ENOMEM, "out of memory");
        goto cleanup;
    }
    dr_param p[] = {
        {"run_ids", runs}, {"compare_run_ids", compare_runs}, {"tenants", tenants},
        {"period_start", m[0]->start}, {"period_end", m[0]->end},
        {"compare_start", compare_run_ids ? compare_start : NULL},
        {"compare_end", compare_run_ids ? compare_end : NULL},
        {"principals", explicit_principals ? m[0]->principals : NULL},
    };
    st = dr_db_query_named(db, dr_sql_report_store, p, sizeof p / sizeof p[0], 0, &c, err);
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
    free(runs);
    free(compare_runs);
    free(tenants);
    free(ids);
    free(tenant_ids);
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

dr_status dr_store_read_facts(dr_db *db, const char *run_id, dr_cursor **out, dr_error *err)
{
    dr_param p[] = {{"run_id", run_id}};
    return dr_db_query_named(db, dr_sql_report_read, p, 1, DR_FETCH_BATCH, out, err);
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

dr_status dr_store_read_run(dr_db *db, const char *run_id, dr_run_meta *m, dr_error *err)
{
    dr_param p[] = {{"run_id", run_id}};
    char *const dst[9] = {m->run_id, m->tenant, m->period_label, m->start, m->end,
                          m->generated, m->from_c, m->to_c, m->generated_c};
    const size_t size[9] = {sizeof m->run_id, sizeof m->tenant, sizeof m->period_label,
                            sizeof m->start, sizeof m->end, sizeof m->generated,
                            sizeof m->from_c, sizeof m->to_c, sizeof m->generated_c};
    int has = 0;
    dr_status st = dr_db_fetch_row_named(db, dr_sql_run_header_read, p, 1, dst, size, 9, &has, err);
    if (st == DR_OK && !has)
        st = dr_fail(err, DR_EDATA, "no run '%s' in the database: expected the id a 'dynoreport run' printed",
                     run_id);
    if (st == DR_OK)
        st = saved_principals(db, run_id, &m->principals, err);
    return st;
}

dr_status dr_store_try_lock(dr_db *db, const dr_run_meta *m, int *taken, dr_error *err)
{
    dr_param p[] = {{"report", DR_REPORT_NAME}, {"tenant", m->tenant}, {"start", m->start}, {"end", m->end}};
    char got[8] = "";
    char *const dst[1] = {got};
    const size_t size[1] = {sizeof got};
    int found = 0;
    dr_status st = dr_db_fetch_row_named(db, dr_sql_run_lock_try, p, sizeof p / sizeof p[0], dst, size, 1,
                                         &found, err);
    *taken = st == DR_OK && found && strcmp(got, "1") == 0;
    return st;
}

dr_status dr_store_find_existing(dr_db *db, const dr_run_meta *m, int explicit_principals,
                                 const char *period_text, char *run_id, size_t run_id_size, int *found,
                                 dr_error *err)
{
    dr_param p[] = {
        {"tenant", m->tenant}, {"report", DR_REPORT_NAME}, {"start", m->start}, {"end", m->end},
        {"tz", m->tz}, {"principals", explicit_principals ? m->principals : NULL}, {"period", period_text},
    };
    char *const dst[1] = {run_id};
    const size_t size[1] = {run_id_size};
    return dr_db_fetch_row_named(db, dr_sql_run_existing, p, sizeof p / sizeof p[0], dst, size, 1, found, err);
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
