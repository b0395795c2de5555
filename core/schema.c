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

/* Run every statement of a SQL script, split and stripped of comments by dr_sqltext_split. */
static dr_status run_script(dr_db *db, const char *path, dr_error *err)
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

dr_status dr_schema_init(dr_db *db, int source_indexes, int *applied, int *version, dr_error *err)
{
    char *names[DR_MAX_MIGRATIONS];
    size_t count = 0;
    char dir[4096], path[4096 + 256];
    *applied = 0;
    *version = 0;
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
        st = run_script(db, path, err);
        if (st == DR_OK) {
            dr_param p[] = {{"version", vtext}, {"name", names[i]}};
            st = dr_db_exec_named(db, dr_sql_schema_version_insert, p, 2, NULL, err);
        }
        if (st == DR_OK)
            (*applied)++;
    }
    if (st == DR_OK && source_indexes) {
        snprintf(path, sizeof path, "%s/source_indexes.sql", dr_sql_dir());
        st = run_script(db, path, err);
    }
    if (st == DR_OK)
        st = query_int(db, dr_sql_schema_version_max, NULL, version, err);
    if (st == DR_OK)
        st = dr_db_commit(db, err);
cleanup:
    if (st != DR_OK)
        dr_db_rollback(db);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    return st;
}

dr_status dr_schema_check(dr_db *db, dr_error *err)
{
    int present = 0, version = 0;
    dr_status st = query_int(db, dr_sql_schema_version_table_exists, NULL, &present, err);
    if (st == DR_OK && present)
        st = query_int(db, dr_sql_schema_version_max, NULL, &version, err);
    if (st != DR_OK)
        return st;
    if (version < 1)
        return dr_fail(err, DR_ECONFIG,
                       "the dynoreport tables do not exist in this database: run 'dynoreport db init' first");
    return DR_OK;
}
