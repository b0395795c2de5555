/* Unit tests for sqltext.c: splitting SQL scripts into statements and removing comments,
   with quotes, E'' escapes, dollar quoting and nested comments; and the real sql/ files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_embedded.h"
#include "sqltext.h"
#include "unit_check.h"

#define CHECK(cond, input) CHECK_INPUT(cond, input, unit_len(input))
#define MAX_STMTS 4

/* A script and the statements it must give (NULL-terminated list). */
static const struct {
    const char *script;
    const char *stmts[MAX_STMTS];
} valid[] = {
    /* splitting */
    {"SELECT 1", {"SELECT 1"}},
    {"SELECT 1;", {"SELECT 1"}},
    {"SELECT 1; SELECT 2;", {"SELECT 1", "SELECT 2"}},
    {"SELECT 1;\nSELECT 2", {"SELECT 1", "SELECT 2"}},
    {"  \n\tSELECT 1  \n ;\n", {"SELECT 1"}},
    {"", {NULL}},
    {";;  ;\n;", {NULL}},
    {"SELECT 1;;;SELECT 2", {"SELECT 1", "SELECT 2"}},
    {"CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2); SELECT 3",
     {"CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2)", "SELECT 3"}},
    /* line comments */
    {"-- only a comment\n", {NULL}},
    {"-- one\n-- two\n;\n-- three", {NULL}},
    {"SELECT 1 -- c\nFROM t", {"SELECT 1\nFROM t"}},
    {"SELECT 1\t \t-- c ; not the end\nFROM t", {"SELECT 1\nFROM t"}},
    {"SELECT 1\n-- c\nFROM t", {"SELECT 1\nFROM t"}},
    {"SELECT a,\n    -- note\n    b\nFROM t", {"SELECT a,\n    b\nFROM t"}},
    {"SELECT a,\n\n    b", {"SELECT a,\n\n    b"}}, /* blank lines are kept */
    {"SELECT 1 -- c", {"SELECT 1"}},
    {"SELECT 2--1", {"SELECT 2"}},
    {"SELECT 1 - -1", {"SELECT 1 - -1"}},
    {"SELECT 1 -- c\r\nFROM t;\r\n", {"SELECT 1\r\nFROM t"}},
    {"SELECT 1; -- after\nSELECT 2", {"SELECT 1", "SELECT 2"}},
    {"-- the table's name: ';\nSELECT 1", {"SELECT 1"}},
    /* block comments */
    {"SELECT/*x*/1", {"SELECT 1"}},
    {"SELECT /* x */ 1", {"SELECT  1"}},
    {"SELECT 1/**/;", {"SELECT 1"}},
    {"SELECT /* a /* b */ c ; */ 1", {"SELECT  1"}},
    {"SELECT 1/* a /* b /* c */ */ */+2", {"SELECT 1 +2"}},
    {"/* header\n   comment ; */\nSELECT 1", {"SELECT 1"}},
    {"SELECT a,\n  /* note */\n  b", {"SELECT a,\n  b"}},
    {"/*/ still a comment */SELECT 1", {"SELECT 1"}},
    {"/***/SELECT 1", {"SELECT 1"}},
    {"SELECT 1 /* c */ -- d\nFROM t", {"SELECT 1\nFROM t"}},
    {"SELECT a/* multi\nline */b", {"SELECT a b"}},
    {"SELECT 2 */ 3", {"SELECT 2 */ 3"}},
    /* standard strings: '' escapes, a backslash is an ordinary character */
    {"SELECT '--not a comment', '/* nor */', ';'", {"SELECT '--not a comment', '/* nor */', ';'"}},
    {"SELECT 'it''s -- ; here'", {"SELECT 'it''s -- ; here'"}},
    {"SELECT ''''; SELECT ''", {"SELECT ''''", "SELECT ''"}},
    {"SELECT 'a\\'; SELECT 2 -- '", {"SELECT 'a\\'", "SELECT 2"}},
    {"SELECT 'a\n-- not\n;'", {"SELECT 'a\n-- not\n;'"}},
    {"SELECT some'\\'; SELECT 1", {"SELECT some'\\'", "SELECT 1"}},
    {"SELECT U&'\\'; SELECT 2", {"SELECT U&'\\'", "SELECT 2"}},
    {"SELECT 'x' -- ' ; \nFROM t", {"SELECT 'x'\nFROM t"}},
    /* E'' strings: a backslash escapes the next character */
    {"SELECT E'it\\'s -- ; x'", {"SELECT E'it\\'s -- ; x'"}},
    {"SELECT e'\\\\'; SELECT 2", {"SELECT e'\\\\'", "SELECT 2"}},
    {"SELECT E'a''b;\\n'", {"SELECT E'a''b;\\n'"}},
    {"SELECT (E'\\';')", {"SELECT (E'\\';')"}},
    /* quoted identifiers */
    {"SELECT \"a;--b\"\"c\" FROM t", {"SELECT \"a;--b\"\"c\" FROM t"}},
    {"SELECT \"it's\"; SELECT 2", {"SELECT \"it's\"", "SELECT 2"}},
    {"SELECT \"E\"'x;y'", {"SELECT \"E\"'x;y'"}},
    /* dollar quoting */
    {"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; -- x\n $$; SELECT 2",
     {"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; -- x\n $$", "SELECT 2"}},
    {"DO $fn$ BEGIN PERFORM '$$'; /* x */ END $fn$; SELECT 1",
     {"DO $fn$ BEGIN PERFORM '$$'; /* x */ END $fn$", "SELECT 1"}},
    {"SELECT $a$ $b$ ; $b$ $a$", {"SELECT $a$ $b$ ; $b$ $a$"}},
    {"SELECT $_x1$;'$_x1$;", {"SELECT $_x1$;'$_x1$"}},
    {"SELECT $$/*$$, $$'$$, $$\"$$", {"SELECT $$/*$$, $$'$$, $$\"$$"}},
    {"SELECT $1; SELECT $2", {"SELECT $1", "SELECT $2"}},
    {"SELECT $1 || $$;$$", {"SELECT $1 || $$;$$"}},
    {"SELECT $1$; SELECT 2", {"SELECT $1$", "SELECT 2"}},
    {"SELECT a$b$; SELECT 1", {"SELECT a$b$", "SELECT 1"}},
    {"SELECT $$a$$b$$", {"SELECT $$a$$b$$"}},
    /* placeholders and casts are plain text */
    {"SELECT :a::int -- :b\n, ':c'", {"SELECT :a::int\n, ':c'"}},
};

/* Split @p script, of @p len bytes (strlen when 0), and check it gives @p expect. */
static void check_valid(const char *script, size_t len, const char *const *expect)
{
    dr_sqltext sql = {0};
    dr_error err = {0};
    size_t n = 0;
    while (n < MAX_STMTS && expect[n])
        n++;
    CHECK(dr_sqltext_split(script, len ? len : strlen(script), &sql, &err) == DR_OK, script);
    CHECK(err.status == DR_OK, script);
    CHECK(sql.count == n, script);
    for (size_t k = 0; k < n && k < sql.count; k++) {
        CHECK(strcmp(sql.stmts[k].text, expect[k]) == 0, sql.stmts[k].text);
        /* a result has nothing left to remove: splitting it again gives it back */
        dr_sqltext again = {0};
        CHECK(dr_sqltext_split(expect[k], strlen(expect[k]), &again, &err) == DR_OK, expect[k]);
        CHECK(again.count == 1 && strcmp(again.stmts[0].text, expect[k]) == 0, expect[k]);
        dr_sqltext_free(&again);
    }
    dr_sqltext_free(&sql);
    CHECK(sql.stmts == NULL && sql.count == 0, script);
}

static void test_valid(void)
{
    for (size_t i = 0; i < COUNT(valid); i++)
        check_valid(valid[i].script, 0, valid[i].stmts);
}

/* Scripts that must fail, and a part of the message (with the line). */
static const struct {
    const char *script;
    const char *msg;
} invalid[] = {
    {"SELECT 'abc", "unterminated quoted string ('...') starting at line 1: expected a closing '"},
    {"SELECT 'it''s", "unterminated quoted string ('...') starting at line 1"},
    {"SELECT 1;\nSELECT 'a\\';\n'b", "unterminated quoted string ('...') starting at line 3"},
    {"SELECT E'abc\\'", "unterminated escape string (E'...') starting at line 1"},
    {"SELECT E'abc\\", "unterminated escape string (E'...') starting at line 1"},
    {"SELECT \"abc", "unterminated quoted identifier (\"...\") starting at line 1: expected a closing \""},
    {"\nSELECT \"a\"\"", "unterminated quoted identifier (\"...\") starting at line 2"},
    {"SELECT $$abc", "unterminated dollar-quoted string starting at line 1: expected a closing '$$'"},
    {"SELECT $fn$ abc $$ ;", "unterminated dollar-quoted string starting at line 1: expected a closing '$fn$'"},
    {"SELECT $fn$ abc $FN$", "expected a closing '$fn$'"},
    {"SELECT /* a", "unterminated /* comment starting at line 1: expected */ (comments nest: 1 still open)"},
    {"SELECT /* a /* b */", "unterminated /* comment starting at line 1: expected */ (comments nest: 1 still open)"},
    {"\n\nSELECT 1 /* /* /*", "unterminated /* comment starting at line 3: expected */ (comments nest: 3 still open)"},
    {"SELECT 1 /*", "unterminated /* comment starting at line 1"},
    {"SELECT 1 /* *", "unterminated /* comment starting at line 1"},
    {"SELECT (1", "the '(' at line 1 is never closed: expected a ')'"},
    {"SELECT (1;\nSELECT 2", "the '(' at line 1 is never closed"},
    {"SELECT 1)", "a ')' at line 1 has no matching '('"},
    {"SELECT 1;\n\nSELECT (2))", "a ')' at line 3 has no matching '('"},
};

static void test_invalid(void)
{
    for (size_t i = 0; i < COUNT(invalid); i++) {
        const char *script = invalid[i].script;
        dr_sqltext sql = {0};
        dr_error err = {0};
        CHECK(dr_sqltext_split(script, strlen(script), &sql, &err) == DR_ECONFIG, script);
        CHECK(err.status == DR_ECONFIG, script);
        CHECK(strstr(err.msg, invalid[i].msg) != NULL, err.msg);
        CHECK(sql.stmts == NULL && sql.count == 0, script);
        dr_sqltext_free(&sql);
    }
}

static void test_misc(void)
{
    dr_sqltext sql = {0};
    dr_error err = {0};

    /* a NUL byte is not taken for the end of the script */
    static const char nul[] = "SELECT 1;\nSELECT '\0'";
    CU_ASSERT_EQUAL(dr_sqltext_split(nul, sizeof nul - 1, &sql, &err), DR_ECONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, "a NUL byte at line 2 of a SQL script: expected text");
    CU_ASSERT_EQUAL(sql.count, 0);

    /* only @p len bytes are read */
    const char *expect[] = {"SELECT 1", NULL};
    check_valid("SELECT 1; SELECT 2", 8, expect);

    /* NULL text, NULL error, NULL-safe and repeated frees */
    CU_ASSERT_EQUAL(dr_sqltext_split(NULL, 0, &sql, NULL), DR_OK);
    CU_ASSERT_EQUAL(sql.count, 0);
    CU_ASSERT_EQUAL(dr_sqltext_split("SELECT 'x", 9, &sql, NULL), DR_ECONFIG);
    dr_sqltext_free(&sql);
    dr_sqltext_free(&sql);
    dr_sqltext_free(NULL);

    /* the line each statement starts on */
    const char *lines = "\n\nSELECT 1;\n-- c\n/* d\n*/ SELECT\n2; 'x'";
    dr_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(dr_sqltext_split(lines, strlen(lines), &sql, &err), DR_OK);
    CU_ASSERT_EQUAL_FATAL(sql.count, 3);
    CU_ASSERT_STRING_EQUAL(sql.stmts[0].text, "SELECT 1");
    CU_ASSERT_EQUAL(sql.stmts[0].line, 3);
    CU_ASSERT_STRING_EQUAL(sql.stmts[1].text, "SELECT\n2");
    CU_ASSERT_EQUAL(sql.stmts[1].line, 6);
    CU_ASSERT_STRING_EQUAL(sql.stmts[2].text, "'x'");
    CU_ASSERT_EQUAL(sql.stmts[2].line, 7);
    dr_sqltext_free(&sql);
}

/* The file @p name of the repository's sql/ folder (found from this source file's path). */
static char *read_sql_file(const char *name, size_t *len)
{
    char path[4096];
    const char *dir = getenv("DYNOREPORT_SQL_DIR");
    if (dir && *dir) {
        snprintf(path, sizeof path, "%s/%s", dir, name);
    } else {
        const char *slash = strrchr(__FILE__, '/'); /* .../tests/unit/test_sqltext.c */
        int n = slash ? (int)(slash - __FILE__) : 1;
        snprintf(path, sizeof path, "%.*s/../../sql/%s", n, slash ? __FILE__ : ".", name);
    }
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    *len = 0;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL) {
            *len = fread(buf, 1, (size_t)size, f);
            buf[*len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static void test_report_store_file(void)
{
    size_t len = 0;
    char *text = read_sql_file("report_store.sql", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(strstr(text, "--") != NULL); /* the file does have comments */
    dr_sqltext sql = {0};
    dr_error err = {0};
    CU_ASSERT_EQUAL(dr_sqltext_split(text, len, &sql, &err), DR_OK);
    CU_ASSERT_EQUAL_FATAL(sql.count, 1);
    const char *s = sql.stmts[0].text;
    CU_ASSERT(strncmp(s, "SELECT s.tenant_id, s.fact_rows, s.compare_fact_rows\nFROM dyno_crm.dynoreport_report_store(", 91) == 0);
    CU_ASSERT(strstr(s, ":principals::text") != NULL);
    CU_ASSERT(strstr(s, ":tenants::uuid[]") != NULL);
    /* no "--" outside its strings (it has none inside either), no comment */
    CU_ASSERT_PTR_NULL(strstr(s, "--"));
    CU_ASSERT_PTR_NULL(strstr(s, "/*"));
    CU_ASSERT_PTR_NULL(strchr(s, ';'));
    /* what the build embedded is the same text */
    CU_ASSERT_STRING_EQUAL(s, dr_sql_report_store);
    dr_sqltext_free(&sql);
    free(text);
}

/* Every embedded statement is one statement without comments, as the generator required. */
static void test_embedded(void)
{
    const char *all[] = {
        dr_sql_report_store, dr_sql_report_read, dr_sql_schema_lock, dr_sql_schema_version_create,
        dr_sql_session_search_path, dr_sql_period_resolve, dr_sql_run_insert, dr_sql_zone_set,
    };
    for (size_t i = 0; i < COUNT(all); i++) {
        dr_sqltext sql = {0};
        dr_error err = {0};
        CHECK(dr_sqltext_split(all[i], strlen(all[i]), &sql, &err) == DR_OK, all[i]);
        CHECK(sql.count == 1 && strcmp(sql.stmts[0].text, all[i]) == 0, all[i]);
        CHECK(strncmp(all[i], "--", 2) != 0, all[i]);
        dr_sqltext_free(&sql);
    }
    /* the pin first, then the zone: the statement is parsed before its search_path applies */
    CU_ASSERT_STRING_EQUAL(dr_sql_session_search_path,
                           "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false),\n"
                           "       pg_catalog.set_config('TimeZone', 'UTC', false),\n"
                           "       pg_catalog.set_config('application_name', 'dynoreport', false)");
    CU_ASSERT_STRING_EQUAL(dr_sql_schema_lock, "SELECT pg_advisory_xact_lock(7262610001)");
    CU_ASSERT_STRING_EQUAL(dr_sql_zone_set, "SELECT set_config('TimeZone', :tz, true)");
    CU_ASSERT(strstr(dr_sql_period_resolve, "'YYYYMMDD\"T\"HH24MISS\"Z\"'") != NULL);
    CU_ASSERT(strstr(dr_sql_run_header_read, "\nFROM unnest(:run_ids::uuid[]) WITH ORDINALITY AS u(run_id, ord)\n") != NULL);
}

void dr_test_register(void)
{
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"valid scripts", test_valid},
        {"unterminated quotes and comments", test_invalid},
        {"NUL, length, NULL, lines", test_misc},
        {"sql/report_store.sql", test_report_store_file},
        {"embedded statements", test_embedded},
    };
    CU_pSuite suite = CU_add_suite("sqltext", NULL, NULL);
    for (size_t i = 0; suite && i < COUNT(tests); i++)
        CU_add_test(suite, tests[i].name, tests[i].fn);
}
