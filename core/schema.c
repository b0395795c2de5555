/* `db init`: the migrations of sql/migrations, applied in order under an advisory lock, and
   the schema check of `run`; every statement comes from sql/ (embedded or read at run time). */
#include "schema.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sql_embedded.h"
#include "sqltext.h"

#define DR_MAX_MIGRATIONS 256

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *dr_sql_dir(void)
{
    const char *env = getenv("DYNOREPORT_SQL_DIR");
    if (env && *env)
        return env;
    if (is_dir(DR_SQL_INSTALL_DIR))
        return DR_SQL_INSTALL_DIR;
    return DR_SQL_SOURCE_DIR;
}

/* The whole of @p path, NUL-terminated, in *@p out (malloc'd), its length in *@p out_len. */
static dr_status read_file(const char *path, char **out, size_t *out_len, dr_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *out_len = 0;
    if (f == NULL)
        return dr_fail(err, DR_ECONFIG, "cannot read SQL file '%s': %s", path, strerror(errno));
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return dr_fail(err, DR_ENOMEM, "out of memory reading '%s'", path);
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return dr_fail(err, DR_ECONFIG, "cannot read SQL file '%s'", path);
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return DR_OK;
}

/* @p stmt begins with the keywords CREATE OR REPLACE FUNCTION (any case, any blanks). */
static int is_create_or_replace_function(const char *stmt)
{
    static const char *const words[] = {"create", "or", "replace", "function"};
    const char *p = stmt;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
            p++;
        size_t n = strlen(words[w]);
        for (size_t k = 0; k < n; k++, p++)
            if ((*p | 0x20) != words[w][k])
                return 0;
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\f' && *p != '\v')
            return 0;
    }
    return 1;
}

/*
 * Run every statement of a SQL script, split and stripped of comments by dr_sqltext_split.
 * With @p functions_only (a migration run again to repair functions), every statement must
 * be CREATE OR REPLACE FUNCTION, or nothing of it runs (DR_ECONFIG): running anything else
 * of an applied migration a second time could change or lose data.
 */
static dr_status run_script(dr_db *db, const char *path, int functions_only, dr_error *err)
{
    char *text = NULL;
    size_t len = 0;
    dr_sqltext sql = {0};
    char prefix[1024];
    dr_status st = read_file(path, &text, &len, err);
    if (st != DR_OK)
        goto cleanup;
    st = dr_sqltext_split(text, len, &sql, err);
    if (st != DR_OK) {
        snprintf(prefix, sizeof prefix, "cannot apply '%s': ", path);
        dr_error_prefix(err, prefix);
        goto cleanup;
    }
    for (size_t i = 0; functions_only && i < sql.count; i++) {
        if (!is_create_or_replace_function(sql.stmts[i].text)) {
            st = dr_fail(err, DR_ECONFIG,
                         "'%s' is named as a function-only migration in schema_objects_check.sql, but "
                         "its statement at line %zu is not CREATE OR REPLACE FUNCTION: it is not run again",
                         path, sql.stmts[i].line);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < sql.count; i++) {
        st = dr_db_exec(db, sql.stmts[i].text, NULL, 0, NULL, err);
        if (st != DR_OK) {
            /* name the file and line; the database's own message is already in err */
            snprintf(prefix, sizeof prefix, "applying '%s' (the statement at line %zu) failed: ", path,
                     sql.stmts[i].line);
            dr_error_prefix(err, prefix);
            goto cleanup;
        }
    }
cleanup:
    dr_sqltext_free(&sql);
    free(text);
    return st;
}

static int migration_version(const char *name)
{
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".sql") != 0)
        return -1;
    int v = 0, digits = 0;
    while (name[digits] >= '0' && name[digits] <= '9' && digits < 6)
        v = v * 10 + (name[digits++] - '0');
    return digits > 0 && name[digits] == '_' ? v : -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of sql/migrations/NNN_*.sql. */
static dr_status list_migrations(const char *dir, char **names, size_t *count, dr_error *err)
{
    DIR *d = opendir(dir);
    *count = 0;
    if (d == NULL)
        return dr_fail(err, DR_ECONFIG,
                       "cannot open the SQL directory '%s': %s (set DYNOREPORT_SQL_DIR to the "
                       "sql/ folder of dynoreport)", dir, strerror(errno));
    struct dirent *e;
    dr_status st = DR_OK;
    while ((e = readdir(d)) != NULL) {
        if (migration_version(e->d_name) < 0)
            continue;
        if (*count >= DR_MAX_MIGRATIONS) {
            st = dr_fail(err, DR_ECONFIG, "too many migrations in '%s'", dir);
            break;
        }
        if ((names[*count] = strdup(e->d_name)) == NULL) {
            st = dr_fail(err, DR_ENOMEM, "out of memory listing '%s'", dir);
            break;
        }
        (*count)++;
    }
    closedir(d);
    qsort(names, *count, sizeof *names, cmp_str);
    return st;
}

/* A single integer (count, version) of a query with at most one :version parameter. */
static dr_status query_int(dr_db *db, const char *sql, const char *version, int *out, dr_error *err)
{
    char text[32] = "0";
    char *const dst[1] = {text};
    const size_t size[1] = {sizeof text};
    dr_param p[] = {{"version", version}};
    int found = 0;
    dr_status st = dr_db_fetch_row_named(db, sql, p, version ? 1 : 0, dst, size, 1, &found, err);
    *out = st == DR_OK && found ? atoi(text) : 0;
    return st;
}

/* Append "; @p what" (or @p what, first) to the report's list, cut when it is full. */
static void report_add(dr_schema_report *rep, const char *what)
{
    size_t n = strlen(rep->repaired_what);
    if (n + 1 < sizeof rep->repaired_what)
        snprintf(rep->repaired_what + n, sizeof rep->repaired_what - n, "%s%s", n ? "; " : "", what);
}

#define DR_MAX_PROBLEMS 128

/* One row of sql/schema_objects_check.sql. */
typedef struct problem {
    char *what;
    char *fix;   /* NULL: none */
    char *rerun; /* NULL: none */
} problem;

static void problems_free(problem *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].what);
        free(p[i].fix);
        free(p[i].rerun);
    }
}

static char *dup_value(const char *v, size_t len)
{
    if (v == NULL)
        return NULL;
    char *d = malloc(len + 1);
    if (d != NULL) {
        memcpy(d, v, len);
        d[len] = '\0';
    }
    return d;
}

/* Every row of the objects check, read whole before anything is changed (one cursor). */
static dr_status objects_check(dr_db *db, problem *rows, size_t *count, dr_error *err)
{
    dr_cursor *c = NULL;
    *count = 0;
    dr_status st = dr_db_query_small_named(db, dr_sql_schema_objects_check, NULL, 0, &c, err);
    if (st == DR_OK && dr_cursor_ncols(c) != 4)
        st = dr_fail(err, DR_EINTERNAL, "the objects check returned %zu columns, expected 4", dr_cursor_ncols(c));
    while (st == DR_OK) {
        const char *v[4];
        size_t l[4];
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, l, err)) != DR_OK || !has)
            break;
        if (*count >= DR_MAX_PROBLEMS) {
            st = dr_fail(err, DR_EINTERNAL, "the objects check found more than %d problems", DR_MAX_PROBLEMS);
            break;
        }
        problem *p = &rows[(*count)++];
        *p = (problem){dup_value(v[1] ? v[1] : "", l[1]), dup_value(v[2], l[2]), dup_value(v[3], l[3])};
        if (p->what == NULL || (v[2] && p->fix == NULL) || (v[3] && p->rerun == NULL))
            st = dr_fail(err, DR_ENOMEM, "out of memory checking the schema");
    }
    dr_cursor_close(c);
    return st;
}

/* "what; what; ..." of the rows that @p repairable says, into @p out. */
static size_t list_problems(const problem *rows, size_t n, int repairable, char *out, size_t size)
{
    size_t used = 0, listed = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if ((rows[i].fix != NULL || rows[i].rerun != NULL) != repairable)
            continue;
        char shown[600];
        dr_printable_copy(rows[i].what, shown, sizeof shown);
        int k = snprintf(out + used, size - used, "%s%s", listed ? "; " : "", shown);
        listed++;
        if (k < 0 || (size_t)k >= size - used) {
            used = size - 1;
            break;
        }
        used += (size_t)k;
    }
    return listed;
}

/* A migration to run again (a name of a problem's rerun list) and the first problem asking. */
typedef struct rerun {
    char name[256];
    size_t row;
} rerun;

static int cmp_rerun(const void *a, const void *b)
{
    const rerun *x = a, *y = b;
    int vx = migration_version(x->name), vy = migration_version(y->name);
    return vx != vy ? (vx < vy ? -1 : 1) : strcmp(x->name, y->name);
}

/*
 * The function-only migrations the rows ask for (each row's rerun: space-separated names),
 * each once, in version order, into @p out; a name that is not NNN_name.sql of the
 * migrations directory is DR_EINTERNAL.
 */
static dr_status collect_reruns(const problem *rows, size_t n, rerun *out, size_t *count, dr_error *err)
{
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = rows[i].rerun;
        while (p != NULL && *p != '\0') {
            while (*p == ' ')
                p++;
            size_t len = strcspn(p, " ");
            if (len == 0)
                break;
            char name[256];
            if (len >= sizeof name)
                return dr_fail(err, DR_EINTERNAL, "the objects check names a migration too long to run again");
            memcpy(name, p, len);
            name[len] = '\0';
            p += len;
            if (migration_version(name) < 0 || strchr(name, '/') != NULL)
                return dr_fail(err, DR_EINTERNAL, "the objects check names '%s' to run again, which is not "
                                                  "a migration (NNN_name.sql)", name);
            int seen = 0;
            for (size_t k = 0; k < *count && !seen; k++)
                seen = strcmp(out[k].name, name) == 0;
            if (seen)
                continue;
            if (*count >= DR_MAX_PROBLEMS)
                return dr_fail(err, DR_EINTERNAL, "the objects check names too many migrations to run again");
            memcpy(out[*count].name, name, len + 1);
            out[(*count)++].row = i;
        }
    }
    qsort(out, *count, sizeof *out, cmp_rerun);
    return DR_OK;
}

/* The repair of @p row failed: say so; a refusal of the rows or the server is the operator's. */
static dr_status repair_failed(const problem *row, dr_status st, dr_error *err)
{
    char prefix[700], shown[600];
    dr_printable_copy(row->what, shown, sizeof shown);
    snprintf(prefix, sizeof prefix, "db init found that %s, and could not repair it: ", shown);
    dr_error_prefix(err, prefix);
    /* rows that break the restored rule, a changed definition: the operator's to decide */
    if (st == DR_EDATA || st == DR_EINTERNAL)
        err->status = st = DR_ECONFIG;
    return st;
}

/*
 * The objects dynoreport owns against what the migrations define: repair what can be
 * repaired, refuse (DR_ECONFIG) when anything cannot, and check again after repairing.
 * The one-statement fixes run first, in the check's order; then the function-only
 * migrations the function rows name, each once, in version order (a later definition of
 * a function wins over an earlier one).
 */
static dr_status check_and_repair(dr_db *db, const char *dir, dr_schema_report *rep, dr_error *err)
{
    problem rows[DR_MAX_PROBLEMS];
    size_t n = 0;
    char list[900], path[4096 + 256];
    rerun reruns[DR_MAX_PROBLEMS];
    size_t nrerun = 0;
    dr_status st = objects_check(db, rows, &n, err);
    if (st != DR_OK || n == 0)
        goto cleanup;
    size_t bad = list_problems(rows, n, 0, list, sizeof list);
    if (bad > 0) {
        size_t fixable = n - bad;
        st = dr_fail(err, DR_ECONFIG,
                     "the dynoreport tables differ from what the migrations made, in a way db init "
                     "cannot repair without losing or guessing data: %s%s; nothing was changed "
                     "(put it back by hand, for example from a backup, then run db init again)",
                     list, fixable ? " (and more it could repair)" : "");
        goto cleanup;
    }
    if ((st = collect_reruns(rows, n, reruns, &nrerun, err)) != DR_OK)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].fix == NULL)
            continue;
        if ((st = dr_db_exec(db, rows[i].fix, NULL, 0, NULL, err)) != DR_OK) {
            st = repair_failed(&rows[i], st, err);
            goto cleanup;
        }
        rep->repaired++;
        report_add(rep, rows[i].what);
    }
    for (size_t k = 0; k < nrerun; k++) {
        int len = snprintf(path, sizeof path, "%s/%s", dir, reruns[k].name);
        if (len < 0 || (size_t)len >= sizeof path)
            st = dr_fail(err, DR_ECONFIG, "the path of the migration '%s' is too long", reruns[k].name);
        else
            st = run_script(db, path, 1, err);
        if (st != DR_OK) {
            st = repair_failed(&rows[reruns[k].row], st, err);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i].fix == NULL) {
            rep->repaired++;
            report_add(rep, rows[i].what);
        }
    }
    problems_free(rows, n);
    n = 0;
    st = objects_check(db, rows, &n, err);
    if (st == DR_OK && n > 0) {
        char rest[sizeof list];
        size_t repairable = list_problems(rows, n, 1, list, sizeof list);
        size_t others = list_problems(rows, n, 0, rest, sizeof rest);
        st = dr_fail(err, DR_ECONFIG, "the dynoreport tables still differ after db init repaired them: %s%s%s",
                     list, repairable && others ? "; " : "", rest);
    }
cleanup:
    problems_free(rows, n);
    return st;
}

/*
 * The index build left @p st / @p err: when it waited too long (55P03), say which index
 * and table, that the CRM was not blocked, and what is left behind.
 */
static dr_status index_wait_message(dr_db *db, dr_status st, dr_error *err)
{
    if (st != DR_ETEMPFAIL || strcmp(err->sqlstate, "55P03") != 0)
        return st;
    char name[200] = "", table[200] = "", drop[400] = "";
    char *const dst[3] = {name, table, drop};
    const size_t sizes[3] = {sizeof name, sizeof table, sizeof drop};
    dr_error e = {0};
    int found = 0;
    if (dr_db_fetch_row_named(db, dr_sql_source_indexes_invalid, NULL, 0, dst, sizes, 3, &found, &e) != DR_OK ||
        !found)
        return st; /* it never got on: the message names the statement, conn_diag the bound */
    char shown_name[300], shown_table[300];
    dr_printable_copy(name, shown_name, sizeof shown_name);
    dr_printable_copy(table, shown_table, sizeof shown_table);
    dr_error_clear(err);
    st = dr_fail(err, DR_ETEMPFAIL,
                 "cannot build the source index %s: CREATE INDEX CONCURRENTLY waits until the "
                 "transactions open on %s (and then every older one) have ended, and one did not end "
                 "within lock_timeout (default " DR_DEFAULT_LOCK_TIMEOUT "); CRM writes were not blocked "
                 "meanwhile. Try again when it has ended, or raise lock_timeout in [connection] of the "
                 "configuration. The unfinished index is left INVALID, which is harmless: the next "
                 "'dynoreport db init --with-source-indexes' drops and rebuilds it "
                 "(canceling statement due to lock timeout, SQLSTATE 55P03)",
                 shown_name, shown_table);
    memcpy(err->sqlstate, "55P03", 6);
    return st;
}

/* Drop the INVALID source indexes an unfinished build left (autocommit, CONCURRENTLY). */
static dr_status drop_invalid_indexes(dr_db *db, dr_schema_report *rep, dr_error *err)
{
    for (int round = 0; round < 8; round++) {
        char name[200] = "", table[200] = "", drop[400] = "";
        char *const dst[3] = {name, table, drop};
        const size_t sizes[3] = {sizeof name, sizeof table, sizeof drop};
        int found = 0;
        dr_status st = dr_db_fetch_row_named(db, dr_sql_source_indexes_invalid, NULL, 0, dst, sizes, 3,
                                             &found, err);
        if (st != DR_OK || !found)
            return st;
        if ((st = dr_db_exec(db, drop, NULL, 0, NULL, err)) != DR_OK) {
            char prefix[300], shown[200];
            dr_printable_copy(name, shown, sizeof shown);
            snprintf(prefix, sizeof prefix, "cannot drop the INVALID index %s an unfinished build left: ", shown);
            dr_error_prefix(err, prefix);
            return st;
        }
        rep->invalid_dropped++;
    }
    return dr_fail(err, DR_EINTERNAL, "INVALID source indexes keep coming back");
}

/*
 * The source indexes, after the migrations committed: CONCURRENTLY, each statement its own
 * transaction, under the session form of db init's advisory lock (a second db init must
 * not drop, as INVALID, an index this one is building), without statement_timeout (the
 * build works rather than waits) but with the session's lock_timeout on every wait.
 */
static dr_status build_source_indexes(dr_db *db, dr_schema_report *rep, dr_error *err)
{
    char path[4096 + 64];
    int locked = 0;
    snprintf(path, sizeof path, "%s/source_indexes.sql", dr_sql_dir());
    dr_status st = dr_db_set_autocommit(db, 1, err);
    if (st == DR_OK && (st = dr_db_exec_named(db, dr_sql_schema_lock_session, NULL, 0, NULL, err)) != DR_OK)
        dr_error_prefix(err, "cannot build the source indexes: another 'dynoreport db init' is running: ");
    locked = st == DR_OK;
    if (st == DR_OK)
        st = dr_db_exec_named(db, dr_sql_source_indexes_session, NULL, 0, NULL, err);
    if (st == DR_OK)
        st = drop_invalid_indexes(db, rep, err);
    if (st == DR_OK) {
        st = run_script(db, path, 0, err);
        st = index_wait_message(db, st, err);
    }
    if (st == DR_OK) {
        char name[200] = "", table[200] = "", drop[400] = "";
        char *const dst[3] = {name, table, drop};
        const size_t sizes[3] = {sizeof name, sizeof table, sizeof drop};
        int found = 0;
        st = dr_db_fetch_row_named(db, dr_sql_source_indexes_invalid, NULL, 0, dst, sizes, 3, &found, err);
        if (st == DR_OK && found) {
            char shown[300];
            dr_printable_copy(name, shown, sizeof shown);
            st = dr_fail(err, DR_EINTERNAL, "the source index %s is still INVALID after its build", shown);
        }
    }
    if (locked) {
        dr_error e = {0};
        dr_db_exec_named(db, dr_sql_schema_unlock_session, NULL, 0, NULL, &e);
    }
    dr_error e = {0};
    dr_db_set_autocommit(db, 0, st == DR_OK ? err : &e);
    return st;
}

dr_status dr_schema_init_report(dr_db *db, int source_indexes, dr_schema_report *rep, dr_error *err)
{
    char *names[DR_MAX_MIGRATIONS];
    size_t count = 0;
    char dir[4096], path[4096 + 256];
    *rep = (dr_schema_report){0};
    snprintf(dir, sizeof dir, "%s/migrations", dr_sql_dir());
    dr_status st = list_migrations(dir, names, &count, err);
    if (st != DR_OK)
        goto cleanup;
    if (count == 0) {
        st = dr_fail(err, DR_ECONFIG, "no migrations (NNN_name.sql) found in '%s'", dir);
        goto cleanup;
    }
    st = dr_db_exec_named(db, dr_sql_schema_lock, NULL, 0, NULL, err);
    if (st == DR_OK)
        st = dr_db_exec_named(db, dr_sql_schema_create, NULL, 0, NULL, err);
    if (st == DR_OK)
        st = dr_db_exec_named(db, dr_sql_schema_version_create, NULL, 0, NULL, err);
    for (size_t i = 0; st == DR_OK && i < count; i++) {
        char vtext[16];
        int done = 0;
        snprintf(vtext, sizeof vtext, "%d", migration_version(names[i]));
        st = query_int(db, dr_sql_schema_version_applied, vtext, &done, err);
        if (st != DR_OK || done)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        st = run_script(db, path, 0, err);
        if (st == DR_OK) {
            dr_param p[] = {{"version", vtext}, {"name", names[i]}};
            st = dr_db_exec_named(db, dr_sql_schema_version_insert, p, 2, NULL, err);
        }
        if (st == DR_OK)
            rep->applied++;
    }
    if (st == DR_OK)
        st = query_int(db, dr_sql_schema_version_max, NULL, &rep->version, err);
    /* the expected objects are those of DR_SCHEMA_VERSION: a newer schema (a newer dynoreport
       ran db init here) may have changed them on purpose */
    if (st == DR_OK && rep->version == DR_SCHEMA_VERSION) {
        rep->checked = 1;
        st = check_and_repair(db, dir, rep, err);
    }
    if (st == DR_OK)
        st = dr_db_commit(db, err);
    if (st != DR_OK)
        dr_db_rollback(db);
    if (st == DR_OK && source_indexes)
        st = build_source_indexes(db, rep, err);
cleanup:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    return st;
}

dr_status dr_schema_check(dr_db *db, dr_error *err)
{
    int version = 0, found = 0;
    char present[24] = "", missing[1024] = "";
    char *const dst[2] = {present, missing};
    const size_t size[2] = {sizeof present, sizeof missing};
    dr_status st = dr_db_fetch_row_named(db, dr_sql_schema_check, NULL, 0, dst, size, 2, &found, err);
    if (st == DR_OK && strcmp(present, "0") != 0)
        st = query_int(db, dr_sql_schema_version_max, NULL, &version, err);
    if (st != DR_OK)
        return st;
    if (version < 1)
        return dr_fail(err, DR_ECONFIG,
                       "the dynoreport tables do not exist in this database: run 'dynoreport db init' first");
    if (version < DR_SCHEMA_VERSION)
        return dr_fail(err, DR_ECONFIG,
                       "the dynoreport tables are at schema version %d, and this dynoreport needs "
                       "version %d: run 'dynoreport db init' first", version, DR_SCHEMA_VERSION);
    if (missing[0] != '\0')
        return dr_fail(err, DR_ECONFIG,
                       "the function%s %s of the dynoreport schema %s missing: run 'dynoreport db init' "
                       "to create %s again", strchr(missing, ',') ? "s" : "", missing,
                       strchr(missing, ',') ? "are" : "is", strchr(missing, ',') ? "them" : "it");
    return DR_OK;
}
