/* Build-time generator: each sql/<name>.sql (one statement) becomes the C constant dr_sql_<name>
   of sql_embedded.h, its comments removed by the same core/sqltext.c the migrations go through. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqltext.h"

#define TOOL "embed_sql"

/* Read the whole of @p path into a malloc'd buffer; NULL (after a message) on failure. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    if (f == NULL) {
        fprintf(stderr, TOOL ": cannot read '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (*len + 4096 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *grown = realloc(buf, cap);
            if (grown == NULL) {
                fprintf(stderr, TOOL ": out of memory reading '%s'\n", path);
                goto fail;
            }
            buf = grown;
        }
        size_t n = fread(buf + *len, 1, 4096, f);
        *len += n;
        if (n < 4096)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, TOOL ": cannot read '%s'\n", path);
        goto fail;
    }
    fclose(f);
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

/* The constant's name: the file's base name without ".sql", [a-z_][a-z0-9_]*. */
static int sql_name(const char *path, char *name, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n <= 4 || strcmp(base + n - 4, ".sql") != 0 || n - 4 >= size)
        return -1;
    for (size_t i = 0; i < n - 4; i++) {
        char c = base[i];
        if (!((c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9')))
            return -1;
        name[i] = c;
    }
    name[n - 4] = '\0';
    return 0;
}

/* Write @p text as the body of a C string literal, one source line per SQL line. */
static void write_literal(FILE *out, const char *text)
{
    fputs("    \"", out);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n')
            fputs("\\n\"\n    \"", out);
        else if (*p == '\\' || *p == '"')
            fprintf(out, "\\%c", *p);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p == '?' && p > (const unsigned char *)text && p[-1] == '?')
            fputs("\\?", out); /* no trigraph (??=, ??/ ...) in ISO C mode */
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(out, "\\%03o", *p);
        else
            fputc(*p, out);
    }
    fputs("\"", out);
}

/* Check one SQL file and append its constant to @p out. */
static int embed_one(FILE *out, const char *path)
{
    char name[128];
    size_t len = 0;
    dr_sqltext sql = {0};
    dr_error err = {0};
    int rc = -1;
    char *text = NULL;
    if (sql_name(path, name, sizeof name) != 0) {
        fprintf(stderr, TOOL ": '%s': expected a file name <name>.sql with <name> of a-z, 0-9 and _ "
                "(it becomes the C constant dr_sql_<name>)\n", path);
        goto cleanup;
    }
    if ((text = read_all(path, &len)) == NULL)
        goto cleanup;
    if (dr_sqltext_split(text, len, &sql, &err) != DR_OK) {
        fprintf(stderr, TOOL ": '%s': %s\n", path, err.msg);
        goto cleanup;
    }
    if (sql.count != 1) {
        if (sql.count == 0)
            fprintf(stderr, TOOL ": '%s' holds no SQL statement: an embedded SQL file holds exactly one\n",
                    path);
        else
            fprintf(stderr, TOOL ": '%s' holds %zu SQL statements (the second starts at line %zu): an "
                    "embedded SQL file holds exactly one, so put each in a file of its own\n",
                    path, sql.count, sql.stmts[1].line);
        goto cleanup;
    }
    fprintf(out, "\n/* sql/%s.sql */\nstatic const char dr_sql_%s[] =\n", name, name);
    write_literal(out, sql.stmts[0].text);
    fputs(";\n", out);
    rc = 0;
cleanup:
    dr_sqltext_free(&sql);
    free(text);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: " TOOL " OUTPUT.h FILE.sql...\n");
        return 2;
    }
    const char *target = argv[1];
    size_t tlen = strlen(target);
    char *tmp = malloc(tlen + 5);
    FILE *out = NULL;
    int rc = 1;
    if (tmp == NULL) {
        fprintf(stderr, TOOL ": out of memory\n");
        goto cleanup;
    }
    memcpy(tmp, target, tlen);
    memcpy(tmp + tlen, ".tmp", 5);
    if ((out = fopen(tmp, "w")) == NULL) {
        fprintf(stderr, TOOL ": cannot create '%s': %s\n", tmp, strerror(errno));
        goto cleanup;
    }
    fputs("/* Generated from sql/<name>.sql by core/tools/embed_sql.c at build time; do not edit. */\n"
          "#ifndef DR_SQL_EMBEDDED_H\n#define DR_SQL_EMBEDDED_H\n", out);
    for (int i = 2; i < argc; i++)
        if (embed_one(out, argv[i]) != 0)
            goto cleanup;
    fputs("\n#endif\n", out);
    int bad = ferror(out);
    if (fclose(out) != 0 || bad) {
        out = NULL;
        fprintf(stderr, TOOL ": cannot write '%s'\n", tmp);
        goto cleanup;
    }
    out = NULL;
    if (rename(tmp, target) != 0) {
        fprintf(stderr, TOOL ": cannot rename '%s' to '%s': %s\n", tmp, target, strerror(errno));
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (out != NULL)
        fclose(out);
    if (rc != 0 && tmp != NULL)
        remove(tmp);
    free(tmp);
    return rc;
}
