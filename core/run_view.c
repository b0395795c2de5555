/* The manager's view of a run: its facts and honest totals and those of the comparison run
   (one statement), the names from the configured [names] queries and the titles, stored
   in the run's transaction; and the view read-back for plugins that ask for it (ABI 1.2). */
#include "run_view.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "pgarray.h"
#include "sql_embedded.h"
#include "sqltext.h"

/* Largest names query file read. */
#define DR_NAMES_FILE_MAX (1024 * 1024)


dr_status dr_query_file_read(const char *what, const char *path, char **out, dr_error *err)
{
    char q[DR_QUOTE_SIZE];
    struct stat sb;
    FILE *f = NULL;
    char *text = NULL;
    size_t len = 0;
    dr_sqltext parts = {0};
    dr_status st = DR_OK;
    /* by handle, like the password file: the file checked is the file read, and it is SQL
       the report role runs, so nobody else may be able to change it */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    *out = NULL;
    int bad = fd < 0 || fstat(fd, &sb) != 0;
    const char *why = bad ? strerror(errno) : !S_ISREG(sb.st_mode) ? "it is not a regular file" : NULL;
    if (why) {
        if (fd >= 0)
            close(fd);
        return dr_fail(err, DR_ECONFIG, "cannot read the %s %s: %s", what,
                       dr_quote(path, strlen(path), q, sizeof q), why);
    }
    if ((st = dr_config_check_file(what, path, (unsigned long)sb.st_uid, (unsigned)sb.st_mode, 0,
                                   err)) != DR_OK || (f = fdopen(fd, "rb")) == NULL) {
        close(fd);
        return st != DR_OK ? st : dr_fail(err, DR_ENOMEM, "out of memory");
    }
    if ((text = malloc(DR_NAMES_FILE_MAX + 1)) == NULL) {
        st = dr_fail(err, DR_ENOMEM, "out of memory");
        goto cleanup;
    }
    len = fread(text, 1, DR_NAMES_FILE_MAX + 1, f);
    if (ferror(f) || len > DR_NAMES_FILE_MAX) {
        st = dr_fail(err, DR_ECONFIG, "cannot read the %s %s: %s", what,
                     dr_quote(path, strlen(path), q, sizeof q),
                     ferror(f) ? "read error" : "longer than 1 MiB");
        goto cleanup;
    }
    if ((st = dr_sqltext_split(text, len, &parts, err)) != DR_OK)
        goto cleanup;
    if (parts.count != 1) {
        st = dr_fail(err, DR_ECONFIG, "the %s %s holds %zu statements: expected one SELECT with "
                     "the parameter :tenant", what, dr_quote(path, strlen(path), q, sizeof q), parts.count);
        goto cleanup;
    }
    *out = parts.stmts[0].text;
    parts.stmts[0].text = NULL;
cleanup:
    if (st != DR_OK && err && err->status == DR_ECONFIG && strstr(err->msg, path) == NULL) {
        char prefix[600];
        snprintf(prefix, sizeof prefix, "%s %s: ", what, dr_quote(path, strlen(path), q, sizeof q));
        dr_error_prefix(err, prefix);
    }
    dr_sqltext_free(&parts);
    free(text);
    if (f)
        fclose(f);
    return st;
}

/* A failure while running a names query is the query's fault: a configuration error. */
static dr_status query_failure(const char *path, dr_status st, dr_error *err)
{
    char q[DR_QUOTE_SIZE], prefix[600];
    if (st == DR_ENOMEM || st == DR_EINTERRUPTED || st == DR_EUNAVAILABLE || st == DR_ETEMPFAIL)
        return st;
    snprintf(prefix, sizeof prefix, "names query %s failed (nothing was saved): ",
             dr_quote(path, strlen(path), q, sizeof q));
    dr_error_prefix(err, prefix);
    err->status = DR_ECONFIG;
    return DR_ECONFIG;
}

static dr_status flush_names(dr_db *db, const dr_run_meta *m, const dr_view_meta *v, dr_pgarray *types,
                             dr_pgarray *ids, dr_pgarray *names, dr_error *err)
{
    if (types->n == 0)
        return DR_OK;
    if (!dr_pgarray_end(types) || !dr_pgarray_end(ids) || !dr_pgarray_end(names))
        return dr_fail(err, DR_ENOMEM, "out of memory");
    dr_param p[] = {{"run_id", m->run_id}, {"tenant", m->tenant},
                    {"compare_run_id", v->compare_run_id[0] ? v->compare_run_id : NULL},
                    {"types", types->p}, {"ids", ids->p}, {"names", names->p}};
    return dr_db_exec_named(db, dr_sql_names_insert, p, sizeof p / sizeof p[0], NULL, err);
}

/* Run the principals' names query and store the names of the run's principals. */
static dr_status store_principal_names(dr_db *db, const dr_run_meta *m, const dr_view_meta *v, const char *path,
                                       dr_error *err)
{
    char *sql = NULL;
    dr_cursor *c = NULL;
    dr_pgarray types = {0}, ids = {0}, names = {0};
    char q[DR_QUOTE_SIZE];
    dr_param p[] = {{"tenant", m->tenant}};
    dr_status st = dr_query_file_read("names query", path, &sql, err);
    if (st != DR_OK)
        goto cleanup;
    /* all rows are read before the one insert: one statement at a time per connection */
    if ((st = dr_db_query_named(db, sql, p, 1, 0, &c, err)) != DR_OK) {
        st = query_failure(path, st, err);
        goto cleanup;
    }
    if (dr_cursor_ncols(c) != 3) {
        st = dr_fail(err, DR_ECONFIG, "the names query %s returns %zu columns: expected 3 (principal_type, "
                     "principal_id, name)", dr_quote(path, strlen(path), q, sizeof q), dr_cursor_ncols(c));
        goto cleanup;
    }
    for (;;) {
        const char *val[3];
        size_t len[3];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, val, len, err)) != DR_OK) {
            st = query_failure(path, st, err);
            goto cleanup;
        }
        if (!has)
            break;
        if (val[0] == NULL || val[1] == NULL || val[2] == NULL)
            continue;
        if (dr_pgarray_add(&types, val[0], len[0]) < 0 || dr_pgarray_add(&ids, val[1], len[1]) < 0 ||
            dr_pgarray_add(&names, val[2], len[2]) < 0) {
            st = dr_fail(err, DR_ENOMEM, "out of memory");
            goto cleanup;
        }
    }
    dr_cursor_close(c);
    c = NULL;
    if ((st = flush_names(db, m, v, &types, &ids, &names, err)) != DR_OK)
        st = query_failure(path, st, err);
cleanup:
    dr_cursor_close(c);
    free(sql);
    dr_pgarray_free(&types);
    dr_pgarray_free(&ids);
    dr_pgarray_free(&names);
    return st;
}

dr_status dr_view_check_query(dr_db *db, const char *path, size_t ncols, dr_error *err)
{
    static const char head[] = "SELECT * FROM (\n", tail[] = "\n) AS dynoreport_config_check LIMIT 0";
    char *sql = NULL, *wrapped = NULL, q[DR_QUOTE_SIZE];
    dr_cursor *c = NULL;
    dr_param p[] = {{"tenant", "00000000-0000-0000-0000-000000000000"}};
    dr_status st = dr_query_file_read("names query", path, &sql, err);
    if (st != DR_OK || db == NULL)
        goto cleanup;
    if ((wrapped = malloc(sizeof head + strlen(sql) + sizeof tail)) == NULL) {
        st = dr_fail(err, DR_ENOMEM, "out of memory");
        goto cleanup;
    }
    sprintf(wrapped, "%s%s%s", head, sql, tail);
    if ((st = dr_db_query_named(db, wrapped, p, 1, 0, &c, err)) != DR_OK)
        st = query_failure(path, st, err);
    else if (dr_cursor_ncols(c) != ncols)
        st = dr_fail(err, DR_ECONFIG, "the names query %s returns %zu columns: expected %zu", dr_quote(path,
                     strlen(path), q, sizeof q), dr_cursor_ncols(c), ncols);
cleanup:
    dr_cursor_close(c);
    free(wrapped);
    free(sql);
    return st;
}

/* Run the tenant's name query: one row of one column, or none (then the fallback). */
static dr_status tenant_name(dr_db *db, const dr_run_meta *m, const char *path, dr_view_meta *v, dr_error *err)
{
    char *sql = NULL;
    dr_cursor *c = NULL;
    char q[DR_QUOTE_SIZE];
    dr_param p[] = {{"tenant", m->tenant}};
    int rows = 0;
    dr_status st = dr_query_file_read("names query", path, &sql, err);
    if (st == DR_OK && (st = dr_db_query_named(db, sql, p, 1, 0, &c, err)) != DR_OK)
        st = query_failure(path, st, err);
    if (st == DR_OK && dr_cursor_ncols(c) != 1)
        st = dr_fail(err, DR_ECONFIG, "the tenant name query %s returns %zu columns: expected 1 (name)",
                     dr_quote(path, strlen(path), q, sizeof q), dr_cursor_ncols(c));
    while (st == DR_OK) {
        const char *val[1];
        size_t len[1];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, val, len, err)) != DR_OK) {
            st = query_failure(path, st, err);
            break;
        }
        if (!has)
            break;
        if (++rows > 1) {
            st = dr_fail(err, DR_ECONFIG, "the tenant name query %s returns more than one row for tenant %s: "
                         "expected one", dr_quote(path, strlen(path), q, sizeof q), m->tenant);
            break;
        }
        if (val[0] && *val[0])
            snprintf(v->tenant_name, sizeof v->tenant_name, "%s", val[0]);
    }
    dr_cursor_close(c);
    free(sql);
    return st;
}

dr_status dr_view_insert_comparison_runs(dr_db *db, const dr_run_meta *const *m, const dr_view_meta *const *v,
                                         size_t n, dr_error *err)
{
    dr_pgarray compare_runs = {0}, runs = {0};
    dr_status st = DR_OK;
    for (size_t i = 0; i < n && st == DR_OK; i++)
        if (dr_pgarray_add_str(&compare_runs, v[i]->compare_run_id) < 0 || dr_pgarray_add_str(&runs, m[i]->run_id) < 0)
            st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st == DR_OK && (!dr_pgarray_end(&compare_runs) || !dr_pgarray_end(&runs)))
        st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st == DR_OK && n) {
        dr_param p[] = {{"compare_run_ids", compare_runs.p}, {"run_ids", runs.p}, {"start", v[0]->compare_start},
                        {"end", v[0]->compare_end}, {"label", v[0]->compare_label}, {"compare", v[0]->compare}};
        st = dr_db_exec_named(db, dr_sql_compare_run_insert, p, sizeof p / sizeof p[0], NULL, err);
    }
    dr_pgarray_free(&compare_runs);
    dr_pgarray_free(&runs);
    return st;
}

/* The comparison run's header, then the facts and totals of both periods in one statement. */
static dr_status store_with_comparison(dr_db *db, const dr_run_meta *m, int explicit_principals,
                                       const dr_view_meta *v, dr_error *err)
{
    dr_run_meta cm = {0};
    long rows = 0, crows = 0;
    snprintf(cm.run_id, sizeof cm.run_id, "%s", v->compare_run_id);
    snprintf(cm.start, sizeof cm.start, "%s", v->compare_start);
    snprintf(cm.end, sizeof cm.end, "%s", v->compare_end);
    dr_status st = dr_view_insert_comparison_runs(db, &m, &v, 1, err);
    if (st == DR_OK)
        st = dr_store_compute(db, m, &cm, explicit_principals, &rows, &crows, err);
    return st;
}

dr_status dr_view_resolve(dr_db *db, const dr_period_request *req, const dr_run_meta *m, const char *compare,
                          dr_view_meta *v, dr_error *err)
{
    const dr_period *per = req->period;
    dr_period_unit unit = req->has_range ? DR_UNIT_DAY : per->unit;
    dr_param p[] = {
        {"start", m->start}, {"end", m->end}, {"tz", req->tz}, {"range", req->has_range ? "1" : "0"},
        {"field", dr_period_unit_field(unit)}, {"interval", dr_period_unit_interval(unit)},
        {"compare", compare},
    };
    char *const dst[6] = {v->compare_run_id, v->compare_start, v->compare_end, v->compare_label,
                          v->period_title, v->compare_title};
    const size_t size[6] = {sizeof v->compare_run_id, sizeof v->compare_start, sizeof v->compare_end,
                            sizeof v->compare_label, sizeof v->period_title, sizeof v->compare_title};
    int found = 0;
    snprintf(v->compare, sizeof v->compare, "%s", compare);
    dr_status st = dr_db_fetch_row_named(db, dr_sql_period_compare, p, sizeof p / sizeof p[0], dst, size, 6,
                                         &found, err);
    if (st == DR_OK && !found)
        st = dr_fail(err, DR_EINTERNAL, "the comparison query returned no row");
    if (st == DR_OK && v->compare_start[0] == '\0')
        snprintf(v->compare, sizeof v->compare, "none");
    return st;
}

static void fallback_tenant(const dr_run_meta *m, dr_view_meta *v)
{
    snprintf(v->tenant_name, sizeof v->tenant_name, "[tenant %.8s]", m->tenant);
}

void dr_view_prepare(const dr_run_meta *m, const dr_view_request *req, dr_view_meta *v)
{
    snprintf(v->currency, sizeof v->currency, "%s", req->currency ? req->currency : "");
    fallback_tenant(m, v);
    if (strcmp(v->compare, "none") == 0)
        v->compare_run_id[0] = v->compare_start[0] = v->compare_end[0] = v->compare_title[0] = '\0';
}

dr_status dr_view_fetch_names(dr_db *db, const dr_run_meta *m, const dr_view_request *req, dr_view_meta *v,
                              dr_error *err)
{
    dr_status st = DR_OK;
    if (req->names_principals)
        st = store_principal_names(db, m, v, req->names_principals, err);
    if (st == DR_OK && req->names_tenant)
        st = tenant_name(db, m, req->names_tenant, v, err);
    return st;
}

dr_status dr_view_insert_views(dr_db *db, const dr_run_meta *const *m, const dr_view_meta *const *v, size_t n,
                               dr_error *err)
{
    dr_pgarray runs = {0}, tenants = {0}, names = {0};
    dr_status st = DR_OK;
    for (size_t i = 0; i < n && st == DR_OK; i++)
        if (dr_pgarray_add_str(&runs, m[i]->run_id) < 0 || dr_pgarray_add_str(&tenants, m[i]->tenant) < 0 ||
            dr_pgarray_add_str(&names, v[i]->tenant_name) < 0)
            st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st == DR_OK && (!dr_pgarray_end(&runs) || !dr_pgarray_end(&tenants) || !dr_pgarray_end(&names)))
        st = dr_fail(err, DR_ENOMEM, "out of memory");
    if (st == DR_OK && n) {
        dr_param p[] = {{"run_ids", runs.p}, {"tenants", tenants.p}, {"tenant_names", names.p},
                        {"period_title", v[0]->period_title}, {"compare", v[0]->compare},
                        {"compare_title", v[0]->compare_title}, {"currency", v[0]->currency}};
        st = dr_db_exec_named(db, dr_sql_view_insert, p, sizeof p / sizeof p[0], NULL, err);
    }
    dr_pgarray_free(&runs);
    dr_pgarray_free(&tenants);
    dr_pgarray_free(&names);
    return st;
}

dr_status dr_view_store(dr_db *db, const dr_run_meta *m, int explicit_principals, const dr_view_request *req,
                        dr_view_meta *v, dr_error *err)
{
    dr_status st = DR_OK;
    int compare = strcmp(v->compare, "none") != 0;
    dr_view_prepare(m, req, v);
    if (compare) {
        /* the comparison's data may overflow the fact columns while the run's own period is
           fine: undo the comparison then, and compute the run without it */
        dr_error cerr = {0};
        st = dr_db_exec_named(db, dr_sql_compare_savepoint, NULL, 0, NULL, err);
        if (st == DR_OK) {
            dr_status cst = store_with_comparison(db, m, explicit_principals, v, &cerr);
            if (cst == DR_EDATA) {
                st = dr_db_exec_named(db, dr_sql_compare_savepoint_rollback, NULL, 0, NULL, err);
                /* the run is saved: say what is left out, not the fact insert's "nothing was saved" */
                const char *why = strstr(cerr.msg, "the database refused");
                snprintf(v->dropped, sizeof v->dropped, "the numbers of the comparison period %.64s .. %.64s "
                         "do not fit the fact columns (amounts are numeric(14,2)): %.700s", v->compare_start,
                         v->compare_end, why ? why : cerr.msg);
                snprintf(v->compare, sizeof v->compare, "none");
                v->compare_run_id[0] = v->compare_start[0] = v->compare_end[0] = v->compare_title[0] = '\0';
                compare = 0;
            } else if (cst != DR_OK) {
                *err = cerr;
                st = cst;
            } else {
                st = dr_db_exec_named(db, dr_sql_compare_savepoint_release, NULL, 0, NULL, err);
            }
        }
    }
    if (st == DR_OK && !compare) {
        /* without a comparison, or after dropping it: if the run's own numbers do not fit
           either, this fails as a run without a comparison would */
        long rows = 0, crows = 0;
        st = dr_store_compute(db, m, NULL, explicit_principals, &rows, &crows, err);
    }
    if (st == DR_OK)
        st = dr_view_fetch_names(db, m, req, v, err);
    if (st == DR_OK)
        st = dr_view_insert_views(db, &m, (const dr_view_meta *const *)&v, 1, err);
    return st;
}

dr_status dr_view_read(dr_db *db, const dr_run_meta *m, dr_view_meta *v, dr_error *err)
{
    dr_param p[] = {{"run_id", m->run_id}};
    char *const dst[7] = {v->tenant_name, v->period_title, v->compare, v->compare_title, v->currency,
                          v->compare_start, v->compare_end};
    const size_t size[7] = {sizeof v->tenant_name, sizeof v->period_title, sizeof v->compare,
                            sizeof v->compare_title, sizeof v->currency, sizeof v->compare_start,
                            sizeof v->compare_end};
    int found = 0;
    dr_status st = dr_db_fetch_row_named(db, dr_sql_view_read_header, p, 1, dst, size, 7, &found, err);
    if (st == DR_OK && !found) { /* a run saved before views existed */
        memset(v, 0, sizeof *v);
        fallback_tenant(m, v);
        snprintf(v->period_title, sizeof v->period_title, "%s", m->period_label);
        snprintf(v->compare, sizeof v->compare, "none");
    }
    return st;
}

dr_status dr_view_read_rows(dr_db *db, const char *const *run_ids, size_t n, dr_cursor **out, dr_error *err)
{
    return dr_store_read_runs(db, dr_sql_report_view_read, run_ids, n, out, err);
}

void dr_view_to_report_view(const dr_view_meta *v, dr_report_view *out)
{
    *out = (dr_report_view){
        .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_report_view), .tenant_name = v->tenant_name,
        .period_title = v->period_title, .compare = v->compare, .compare_title = v->compare_title,
        .compare_start = v->compare_start, .compare_end = v->compare_end, .currency = v->currency,
        .nfact_columns = 13};
}
