/* Unit tests for the pure functions of odbc.c: dr_connstr_redact (passwords out of
   messages) and dr_sql_named_to_markers (":name" placeholders to ODBC "?" markers). */
#include <stdio.h>
#include <string.h>

#include "unit_check.h"
#include "odbc.h"

#define CHECK(cond, input) CHECK_INPUT(cond, input, unit_len(input))

/* ---- dr_connstr_redact ------------------------------------------------------------- */

/* @p secret: text of a password that must not be in the output (NULL: none). */
static const struct {
    const char *in;
    const char *out;
    const char *secret;
} redactions[] = {
    {"Driver=X;Uid=u;Pwd=secret;", "Driver=X;Uid=u;Pwd=***;", "secret"},
    {"Driver=X;Uid=u;Pwd=secret", "Driver=X;Uid=u;Pwd=***", "secret"},
    {"Pwd=secret;Uid=u", "Pwd=***;Uid=u", "secret"},
    {"Password=secret;", "Password=***;", "secret"},
    {"pwd=secret", "pwd=***", "secret"},
    {"PWD=secret", "PWD=***", "secret"},
    {"PASSWORD=secret", "PASSWORD=***", "secret"},
    {"pAsSwOrD=secret", "pAsSwOrD=***", "secret"},
    {"Pwd=", "Pwd=***", NULL},
    {"Pwd=;Uid=u", "Pwd=***;Uid=u", NULL},
    /* braced values: ';' inside the braces belongs to the value */
    {"PWD={se;cret};Uid=u", "PWD=***;Uid=u", "cret"},
    {"Pwd={secret}", "Pwd=***", "secret"},
    {"Pwd={}", "Pwd=***", NULL},
    {"Pwd={unterminated;secret", "Pwd=***", "secret"},
    {"Driver={PostgreSQL Unicode};Server=db;Pwd={secret};", "Driver={PostgreSQL Unicode};Server=db;Pwd=***;",
     "secret"},
    {"Driver={a;Pwd=x};Uid=u", "Driver={a;Pwd=x};Uid=u", NULL}, /* inside another value */
    {"Driver={a}}b};Pwd=secret", "Driver={a}}b};Pwd=***", "secret"},
    /* every password attribute, and only those */
    {"Pwd=one;Password=two", "Pwd=***;Password=***", "one"},
    {"Pwd=one;Password=two", "Pwd=***;Password=***", "two"},
    {"Uid=u;Server=s;Port=5432", "Uid=u;Server=s;Port=5432", NULL},
    {"UidPwd=x;PwdX=y;Passwords=z", "UidPwd=x;PwdX=y;Passwords=z", NULL},
    {"Server=a=b;Pwd=secret;y=z", "Server=a=b;Pwd=***;y=z", "secret"},
    /* what is not key=value is copied as it is */
    {"", "", NULL},
    {"DSN", "DSN", NULL},
    {"noequals;Pwd=secret", "noequals;Pwd=***", "secret"},
    {";;Pwd=secret;;", ";;Pwd=***;;", "secret"},
    {"=x;Pwd=secret", "=x;Pwd=***", "secret"},
    {"DSN=crm;", "DSN=crm;", NULL},
    /* issue 10: the way the driver reads it; the key and the blanks as they were written */
    {" Pwd=secret;", " Pwd=***;", "secret"},
    {"Uid=u; PWD = secret ;x=y", "Uid=u; PWD =***;x=y", "secret"},
    {"PWD={se}}cr;et};Uid=u", "PWD=***;Uid=u", "cr;et"},
    {"Pwd={a}b;Uid=u", "Pwd=***;Uid=u", "b"},
    {"pqopt={sslmode=require};Pwd=s", "pqopt={sslmode=require};Pwd=***", NULL},
    {"pqopt={password=s3 x=y};Uid=u", "pqopt=***;Uid=u", "s3"},
    {"ConnSettings={SET a=1};Pwd={x}}}", "ConnSettings={SET a=1};Pwd=***", NULL},
};

static void test_redact_table(void)
{
    for (size_t i = 0; i < COUNT(redactions); i++) {
        const char *in = redactions[i].in;
        char out[256];
        memset(out, 'x', sizeof out);
        dr_connstr_redact(in, out, sizeof out);
        CHECK(strcmp(out, redactions[i].out) == 0, in);
        if (redactions[i].secret != NULL)
            CHECK(strstr(out, redactions[i].secret) == NULL, in);
    }
}

/* A small buffer gets a NUL-terminated prefix of the whole redaction: never a byte of
   the password, never a byte past out_size. */
static void test_redact_truncation(void)
{
    for (size_t i = 0; i < COUNT(redactions); i++) {
        const char *in = redactions[i].in;
        const char *full = redactions[i].out;
        size_t len = strlen(full);
        for (size_t size = 1; size <= len + 1; size++) {
            char out[256];
            memset(out, 'x', sizeof out);
            dr_connstr_redact(in, out, size);
            CHECK(strlen(out) == size - 1, in);
            CHECK(strncmp(out, full, size - 1) == 0, in);
            CHECK(out[size] == 'x', in);
            if (redactions[i].secret != NULL)
                CHECK(strstr(out, redactions[i].secret) == NULL, in);
        }
    }
}

static void test_redact_edges(void)
{
    char out[16];

    memset(out, 'x', sizeof out);
    dr_connstr_redact(NULL, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "");

    memset(out, 'x', sizeof out); /* size 0: nothing written */
    dr_connstr_redact("Pwd=secret", out, 0);
    CU_ASSERT_EQUAL(out[0], 'x');

    dr_connstr_redact("Pwd=secret;Uid=u", out, 8); /* "Pwd=***" and the NUL */
    CU_ASSERT_STRING_EQUAL(out, "Pwd=***");
    dr_connstr_redact("Pwd=secret;Uid=u", out, 6);
    CU_ASSERT_STRING_EQUAL(out, "Pwd=*");
}

/*
 * Former gaps of dr_connstr_redact: each of these leaked the password into a message
 * before issue 10 (the suite was kept unregistered until the fix; -DDR_TEST_REDACT_KNOWN_GAPS
 * is no longer needed). The check is only that no byte run of the password is in the
 * output and that "***" is. The rows after the first seven are what the driver (psqlODBC,
 * unixODBC) also reads as a password: names in any case, libpq options, blanks.
 */
static const struct {
    const char *in;
    const char *secret;
} redact_gaps[] = {
    {" Pwd=secret;", "secret"},                 /* space before the key */
    {"Uid=u; Pwd=secret;", "secret"},           /* ... after a ';' */
    {"Uid=u;\tPwd=secret;", "secret"},          /* a tab */
    {"PWD =secret;", "secret"},                 /* space before '=' */
    {"Password = secret", "secret"},            /* spaces around '=' */
    {"PWD={se}}cret};Uid=u", "cret"},           /* "}}" is a literal '}' inside braces */
    {"Pwd={a}}b;c}}d};Uid=u", "d}"},            /* ... several, with a ';' among them */
    {"pWd={x;y=z}}};Uid=u", "y=z"},             /* any case, '=' and ';' in the braces */
    {"PASSWORD={a b};", "a b"},
    {"Pwd= {sec;ret}", "ret"},                  /* a brace after a blank: over-redacted, safe */
    {"Pwd={unterminated}}; secret", "secret"},  /* "}}" then no closing brace: to the end */
    {"Pwd={abc}tail;Uid=u", "tail"},            /* text after the closing brace */
    {"pqopt={password=secret sslmode=require}", "secret"},  /* libpq options (psqlODBC) */
    {"D5={sslpassword=secret}", "secret"},                 /* ... by its abbreviation */
    {"Driver=x;PWD=one;Pwd=two", "one"},         /* every one of them */
    {"Driver=x;PWD=one;Pwd=two", "two"},
    {"UID=u;Pwd=secret", "secret"},
};

static void test_redact_known_gaps(void)
{
    for (size_t i = 0; i < COUNT(redact_gaps); i++) {
        const char *in = redact_gaps[i].in;
        char out[256];
        dr_connstr_redact(in, out, sizeof out);
        CHECK(strstr(out, redact_gaps[i].secret) == NULL, in);
        CHECK(strstr(out, "***") != NULL, in);
    }
}

/* ---- dr_connstr_next ------------------------------------------------------------------ */

/* Each piece: key (or "-" for text without '='), then value, joined by '|'. */
static const struct {
    const char *in;
    const char *pieces;
} token_rows[] = {
    {"", ""},
    {"A=1", "A=1"},
    {"A=1;B=2;", "A=1|B=2"},
    {" A = 1 ;\tB=2", "A= 1 |B=2"},
    {"A={x;y}}z};B=2", "A={x;y}}z}|B=2"},
    {"A={x}tail;B=2", "A={x}tail|B=2"},
    {"A={open;B=2", "A={open;B=2"},
    {"noeq;A=1", "-|A=1"},
    {";;A=1", "-|-|A=1"},
    {"=v", "=v"},
    {"A=b=c", "A=b=c"},
};

static void test_connstr_next(void)
{
    for (size_t i = 0; i < COUNT(token_rows); i++) {
        char got[256] = "";
        size_t used = 0;
        dr_connstr_attr a;
        for (const char *p = token_rows[i].in; dr_connstr_next(&p, &a);) {
            int n = a.key ? snprintf(got + used, sizeof got - used, "%s%.*s=%.*s", used ? "|" : "", (int)a.keylen,
                                     a.key, (int)a.valuelen, a.value)
                          : snprintf(got + used, sizeof got - used, "%s-", used ? "|" : "");
            used += (size_t)n;
        }
        CHECK(strcmp(got, token_rows[i].pieces) == 0, token_rows[i].in);
    }
}

static void test_connstr_has(void)
{
    CU_ASSERT(dr_connstr_has("Driver=x; usedeclarefetch =0", "UseDeclareFetch"));
    CU_ASSERT(!dr_connstr_has("Driver={a;UseDeclareFetch=1}", "UseDeclareFetch")); /* inside a value */
    CU_ASSERT(!dr_connstr_has("UseDeclareFetchX=1", "UseDeclareFetch"));
    CU_ASSERT(dr_connstr_has_secret("Uid=u; pwd=x"));
    CU_ASSERT(dr_connstr_has_secret("PASSWORD={}"));
    CU_ASSERT(dr_connstr_has_secret("pqopt={password=x}"));
    CU_ASSERT(!dr_connstr_has_secret("pqopt={sslmode=require}"));
    CU_ASSERT(!dr_connstr_has_secret("Driver={Pwd=x};Uid=u"));
    CU_ASSERT(!dr_connstr_has_secret("DSN=crm;"));
    unsigned char buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    dr_wipe(buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++)
        CU_ASSERT_EQUAL(buf[i], 0);
}

/* ---- dr_sql_named_to_markers --------------------------------------------------------- */

static const char *const names[] = {"tenant_id", "run", "run_id", "from", "to", "_x"};
enum { N_TENANT, N_RUN, N_RUN_ID, N_FROM, N_TO, N_X };

#define MAX_MARKERS 8
#define UNSET ((size_t)0x5a5a)

/* @p n markers, @p order their indexes into names[] */
static const struct {
    const char *sql;
    const char *out;
    int n;
    size_t order[MAX_MARKERS];
} markers[] = {
    {"", "", 0, {0}},
    {"SELECT 1", "SELECT 1", 0, {0}},
    {"SELECT :tenant_id", "SELECT ?", 1, {N_TENANT}},
    {"WHERE a >= :from AND a < :to", "WHERE a >= ? AND a < ?", 2, {N_FROM, N_TO}},
    {"VALUES (:to, :from, :to)", "VALUES (?, ?, ?)", 3, {N_TO, N_FROM, N_TO}},
    {":run :run_id :run", "? ? ?", 3, {N_RUN, N_RUN_ID, N_RUN}}, /* a name's prefix is another */
    {":_x", "?", 1, {N_X}},
    {":from:to", "??", 2, {N_FROM, N_TO}},
    {"(:from)", "(?)", 1, {N_FROM}},
    /* "::" casts are left alone, also right after a placeholder */
    {"x::text", "x::text", 0, {0}},
    {":from::timestamptz", "?::timestamptz", 1, {N_FROM}},
    {"a::int + :to::int", "a::int + ?::int", 1, {N_TO}},
    {"::from", "::from", 0, {0}},
    {":::from", "::?", 1, {N_FROM}},
    {"a::", "a::", 0, {0}},
    /* so is text inside quotes, '' and "" included */
    {"':from'", "':from'", 0, {0}},
    {"\":from\"", "\":from\"", 0, {0}},
    {"'it''s :from' :to", "'it''s :from' ?", 1, {N_TO}},
    {"\"a\"\"b :from\" :to", "\"a\"\"b :from\" ?", 1, {N_TO}},
    {"'\"' :from '\"'", "'\"' ? '\"'", 1, {N_FROM}},
    {"'unterminated :from", "'unterminated :from", 0, {0}},
    /* a ':' not followed by a letter or '_' is not a placeholder */
    {"a[1:2]", "a[1:2]", 0, {0}},
    {":1", ":1", 0, {0}},
    {": from", ": from", 0, {0}},
    {"a:", "a:", 0, {0}},
};

static void test_markers_table(void)
{
    for (size_t i = 0; i < COUNT(markers); i++) {
        const char *sql = markers[i].sql;
        char out[256];
        size_t order[MAX_MARKERS + 1];
        for (size_t k = 0; k < COUNT(order); k++)
            order[k] = UNSET;
        int n = dr_sql_named_to_markers(sql, names, COUNT(names), out, sizeof out, order,
                                        MAX_MARKERS);
        CHECK(n == markers[i].n, sql);
        if (n != markers[i].n)
            continue;
        CHECK(strcmp(out, markers[i].out) == 0, sql);
        for (int k = 0; k < n; k++)
            CHECK(order[k] == markers[i].order[k], sql);
        for (size_t k = (size_t)n; k < COUNT(order); k++)
            CHECK(order[k] == UNSET, sql); /* nothing written past the markers */
    }
}

/* The output needs strlen(out) + 1 bytes: exactly that works, one less is -1. */
static void test_markers_out_size(void)
{
    for (size_t i = 0; i < COUNT(markers); i++) {
        const char *sql = markers[i].sql;
        size_t need = strlen(markers[i].out) + 1;
        char out[256];
        size_t order[MAX_MARKERS];
        memset(out, 'x', sizeof out);
        CHECK(dr_sql_named_to_markers(sql, names, COUNT(names), out, need, order, MAX_MARKERS) ==
                  markers[i].n,
              sql);
        CHECK(strcmp(out, markers[i].out) == 0, sql);
        CHECK(out[need] == 'x', sql);
        if (need > 1)
            CHECK(dr_sql_named_to_markers(sql, names, COUNT(names), out, need - 1, order,
                                          MAX_MARKERS) == -1,
                  sql);
    }
}

/* An unknown name, exact match only (case and length count). */
static const char *const unknown[] = {
    ":nope",
    "SELECT :from, :nope",
    ":tenant",          /* a prefix of tenant_id */
    ":tenant_id2",      /* tenant_id with more */
    ":run_ix",
    ":FROM",            /* names are case-sensitive */
    "'quoted' :nope",
    "a::int + :nope::int",
};

static void test_markers_unknown(void)
{
    for (size_t i = 0; i < COUNT(unknown); i++) {
        char out[256];
        size_t order[MAX_MARKERS];
        CHECK(dr_sql_named_to_markers(unknown[i], names, COUNT(names), out, sizeof out, order,
                                      MAX_MARKERS) == -1,
              unknown[i]);
    }
    /* no names at all: any placeholder is unknown, plain text is fine */
    char out[64];
    size_t order[1];
    CU_ASSERT_EQUAL(dr_sql_named_to_markers(":from", names, 0, out, sizeof out, order, 1), -1);
    CU_ASSERT_EQUAL(dr_sql_named_to_markers("x::int", NULL, 0, out, sizeof out, order, 1), 0);
    CU_ASSERT_STRING_EQUAL(out, "x::int");
}

/* More markers than max_order: -1, and order[] is not written past max_order. */
static void test_markers_too_many(void)
{
    char out[64];
    size_t order[4] = {UNSET, UNSET, UNSET, UNSET};

    CU_ASSERT_EQUAL(dr_sql_named_to_markers(":from :to", names, COUNT(names), out, sizeof out,
                                            order, 2), 2);
    CU_ASSERT_EQUAL(dr_sql_named_to_markers(":from :to :from", names, COUNT(names), out,
                                            sizeof out, order, 2), -1);
    CU_ASSERT_EQUAL(order[2], UNSET);
    CU_ASSERT_EQUAL(dr_sql_named_to_markers(":from", names, COUNT(names), out, sizeof out, order,
                                            0), -1);
    CU_ASSERT_EQUAL(dr_sql_named_to_markers("SELECT 1", names, COUNT(names), out, sizeof out,
                                            order, 0), 0);
}

/* ---- registration --------------------------------------------------------------------- */

typedef struct {
    const char *name;
    CU_TestFunc fn;
} unit_test;

static void add_suite(const char *name, const unit_test *tests, size_t n)
{
    CU_pSuite suite = CU_add_suite(name, NULL, NULL);
    for (size_t i = 0; suite && i < n; i++)
        CU_add_test(suite, tests[i].name, tests[i].fn);
}

/* The suite of former redaction gaps (see redact_gaps[]). */
void dr_test_register_redact_known_gaps(void);
void dr_test_register_redact_known_gaps(void)
{
    static const unit_test tests[] = {
        {"passwords that leaked before issue 10", test_redact_known_gaps},
    };
    add_suite("redact_known_gaps", tests, COUNT(tests));
}

void dr_test_register(void)
{
    static const unit_test redact[] = {
        {"passwords replaced by ***", test_redact_table},
        {"small buffers", test_redact_truncation},
        {"NULL input and size 0", test_redact_edges},
    };
    static const unit_test named[] = {
        {"placeholders, casts and quotes", test_markers_table},
        {"output buffer size", test_markers_out_size},
        {"unknown names", test_markers_unknown},
        {"too many markers", test_markers_too_many},
    };
    static const unit_test tokens[] = {
        {"pieces as the driver reads them", test_connstr_next},
        {"keys and secrets", test_connstr_has},
    };
    add_suite("connstr_redact", redact, COUNT(redact));
    add_suite("sql_named_to_markers", named, COUNT(named));
    dr_test_register_redact_known_gaps();
    add_suite("connstr_next", tokens, COUNT(tokens));
}
