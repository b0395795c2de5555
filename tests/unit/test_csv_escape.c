/* Unit tests of the CSV cell rules (plugins/csv/csv_escape.c), table-driven. */
#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_escape.h"
#include "plugin_common.h" /* dr_pc_parse_bool, dr_pc_word_eq: the options' words */

/* ---- one field written through an open_memstream ----------------------- */

typedef struct field_case {
    const char *what;
    dr_type type;
    const char *in;       /* NULL: SQL NULL */
    unsigned char delim;  /* 0: ',' */
    bool quote_all;
    bool no_formula;      /* formula_escape off (default on) */
    const char *expected; /* exact bytes written */
} field_case;

static const field_case field_cases[] = {
    /* plain text and RFC 4180 quoting */
    {"plain text", DR_TYPE_TEXT, "hello", 0, false, false, "hello"},
    {"utf-8 text", DR_TYPE_TEXT, "caf\xC3\xA9 M\xC3\xBCller", 0, false, false,
     "caf\xC3\xA9 M\xC3\xBCller"},
    {"inner space", DR_TYPE_TEXT, "a b", 0, false, false, "a b"},
    {"empty text", DR_TYPE_TEXT, "", 0, false, false, ""},
    {"NULL", DR_TYPE_TEXT, NULL, 0, false, false, ""},
    {"comma", DR_TYPE_TEXT, "a,b", 0, false, false, "\"a,b\""},
    {"quote", DR_TYPE_TEXT, "say \"hi\"", 0, false, false, "\"say \"\"hi\"\"\""},
    {"only a quote", DR_TYPE_TEXT, "\"", 0, false, false, "\"\"\"\""},
    {"CR", DR_TYPE_TEXT, "a\rb", 0, false, false, "\"a\rb\""},
    {"LF", DR_TYPE_TEXT, "a\nb", 0, false, false, "\"a\nb\""},
    {"CRLF", DR_TYPE_TEXT, "a\r\nb", 0, false, false, "\"a\r\nb\""},
    {"leading space", DR_TYPE_TEXT, " lead", 0, false, false, "\" lead\""},
    {"trailing space", DR_TYPE_TEXT, "trail ", 0, false, false, "\"trail \""},
    {"trailing tab", DR_TYPE_TEXT, "trail\t", 0, false, false, "\"trail\t\""},
    {"only a space", DR_TYPE_TEXT, " ", 0, false, false, "\" \""},
    {"single quote start", DR_TYPE_TEXT, "'quoted", 0, false, false, "'quoted"},

    /* formula injection: text cells starting with = + - @ TAB CR */
    {"text =", DR_TYPE_TEXT, "=SUM(A1)", 0, false, false, "'=SUM(A1)"},
    {"text +", DR_TYPE_TEXT, "+1", 0, false, false, "'+1"},
    {"text -", DR_TYPE_TEXT, "-5.00", 0, false, false, "'-5.00"},
    {"text @", DR_TYPE_TEXT, "@cmd", 0, false, false, "'@cmd"},
    {"text TAB", DR_TYPE_TEXT, "\tx", 0, false, false, "'\tx"},
    {"text CR", DR_TYPE_TEXT, "\rx", 0, false, false, "\"'\rx\""},
    {"text = with comma", DR_TYPE_TEXT, "=A1,B1", 0, false, false, "\"'=A1,B1\""},
    {"text = with quotes", DR_TYPE_TEXT, "=\"x\"&\"y\"", 0, false, false,
     "\"'=\"\"x\"\"&\"\"y\"\"\""},
    {"text = trailing space", DR_TYPE_TEXT, "=1 ", 0, false, false, "\"'=1 \""},
    {"text = only", DR_TYPE_TEXT, "=", 0, false, false, "'="},
    {"text = inside", DR_TYPE_TEXT, "a=b", 0, false, false, "a=b"},
    {"text space then =", DR_TYPE_TEXT, " =1", 0, false, false, "\" =1\""},
    {"escape off =", DR_TYPE_TEXT, "=SUM(A1)", 0, false, true, "=SUM(A1)"},
    {"escape off TAB", DR_TYPE_TEXT, "\tx", 0, false, true, "\"\tx\""},
    {"escape off CR", DR_TYPE_TEXT, "\rx", 0, false, true, "\"\rx\""},

    /* non-text cells are never formula-escaped */
    {"decimal -", DR_TYPE_DECIMAL, "-5.00", 0, false, false, "-5.00"},
    {"decimal +", DR_TYPE_DECIMAL, "+5.00", 0, false, false, "+5.00"},
    {"decimal =", DR_TYPE_DECIMAL, "=1", 0, false, false, "=1"},
    {"decimal @", DR_TYPE_DECIMAL, "@1", 0, false, false, "@1"},
    {"decimal TAB", DR_TYPE_DECIMAL, "\t1", 0, false, false, "\"\t1\""},
    {"decimal CR", DR_TYPE_DECIMAL, "\r1", 0, false, false, "\"\r1\""},
    {"int64 -", DR_TYPE_INT64, "-42", 0, false, false, "-42"},
    {"int64 +", DR_TYPE_INT64, "+42", 0, false, false, "+42"},
    {"int64 =", DR_TYPE_INT64, "=42", 0, false, false, "=42"},
    {"int64 @", DR_TYPE_INT64, "@42", 0, false, false, "@42"},
    {"timestamp", DR_TYPE_TIMESTAMP, "2026-10-01T00:00:00-04:00", 0, false, false,
     "2026-10-01T00:00:00-04:00"},
    {"timestamp -", DR_TYPE_TIMESTAMP, "-2026-10-01T00:00:00+00:00", 0, false, false,
     "-2026-10-01T00:00:00+00:00"},
    {"timestamp +", DR_TYPE_TIMESTAMP, "+2026-10-01T00:00:00+00:00", 0, false, false,
     "+2026-10-01T00:00:00+00:00"},
    {"timestamp =", DR_TYPE_TIMESTAMP, "=2026", 0, false, false, "=2026"},
    {"uuid", DR_TYPE_UUID, "0b9c2f3e-1d2a-4c5b-8e6f-7a8b9c0d1e2f", 0, false, false,
     "0b9c2f3e-1d2a-4c5b-8e6f-7a8b9c0d1e2f"},
    {"uuid -", DR_TYPE_UUID, "-b9c2f3e", 0, false, false, "-b9c2f3e"},
    {"uuid @", DR_TYPE_UUID, "@b9c2f3e", 0, false, false, "@b9c2f3e"},
    {"uuid =", DR_TYPE_UUID, "=b9c2f3e", 0, false, false, "=b9c2f3e"},
    {"boolean", DR_TYPE_BOOLEAN, "true", 0, false, false, "true"},
    {"decimal with comma still quoted", DR_TYPE_DECIMAL, "1,5", 0, false, false, "\"1,5\""},

    /* semicolon and other delimiters */
    {"semicolon: comma plain", DR_TYPE_TEXT, "a,b", ';', false, false, "a,b"},
    {"semicolon: semicolon quoted", DR_TYPE_TEXT, "a;b", ';', false, false, "\"a;b\""},
    {"semicolon: decimal", DR_TYPE_DECIMAL, "-1234.50", ';', false, false, "-1234.50"},
    {"semicolon: formula", DR_TYPE_TEXT, "=1;2", ';', false, false, "\"'=1;2\""},
    {"tab: inner tab quoted", DR_TYPE_TEXT, "a\tb", '\t', false, false, "\"a\tb\""},
    {"pipe: pipe quoted", DR_TYPE_TEXT, "a|b", '|', false, false, "\"a|b\""},
    {"dot: decimal quoted", DR_TYPE_DECIMAL, "1.50", '.', false, false, "\"1.50\""},

    /* quote=all */
    {"all: text", DR_TYPE_TEXT, "abc", 0, true, false, "\"abc\""},
    {"all: empty text", DR_TYPE_TEXT, "", 0, true, false, "\"\""},
    {"all: NULL stays empty", DR_TYPE_TEXT, NULL, 0, true, false, ""},
    {"all: decimal", DR_TYPE_DECIMAL, "-5.00", 0, true, false, "\"-5.00\""},
    {"all: int64", DR_TYPE_INT64, "7", 0, true, false, "\"7\""},
    {"all: quote", DR_TYPE_TEXT, "a\"b", 0, true, false, "\"a\"\"b\""},
    {"all: formula", DR_TYPE_TEXT, "=x", 0, true, false, "\"'=x\""},
    {"all: formula off", DR_TYPE_TEXT, "=x", 0, true, true, "\"=x\""},
    {"all: semicolon", DR_TYPE_TEXT, "a;b", ';', true, false, "\"a;b\""},
};

static void test_write_field(void)
{
    for (size_t i = 0; i < sizeof field_cases / sizeof field_cases[0]; i++) {
        const field_case *c = &field_cases[i];
        dr_csv_format fmt;
        char *out = NULL;
        size_t outlen = 0;
        FILE *fp = open_memstream(&out, &outlen);

        CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
        dr_csv_format_init(&fmt);
        if (c->delim != 0)
            fmt.delimiter = c->delim;
        fmt.quote_all = c->quote_all;
        fmt.formula_escape = !c->no_formula;

        int rc = dr_csv_write_field(fp, &fmt, c->type, c->in, c->in ? strlen(c->in) : 0);
        CU_ASSERT_EQUAL(fclose(fp), 0);
        CU_ASSERT_EQUAL(rc, 0);

        size_t explen = strlen(c->expected);
        bool same = outlen == explen && memcmp(out, c->expected, explen) == 0;
        if (!same)
            fprintf(stderr, "\n  case '%s': got %zu bytes [%.*s], expected %zu bytes [%s]\n",
                    c->what, outlen, (int)outlen, out ? out : "", explen, c->expected);
        CU_ASSERT_TRUE(same);
        free(out);
    }
}

/* ---- several fields of a record into a tmpfile() ------------------------ */

static void test_record_tmpfile(void)
{
    static const struct {
        dr_type type;
        const char *text;
    } row[] = {
        {DR_TYPE_UUID, "0b9c2f3e-1d2a-4c5b-8e6f-7a8b9c0d1e2f"},
        {DR_TYPE_TEXT, "=SUM(A1)"},
        {DR_TYPE_DECIMAL, "-5.00"},
        {DR_TYPE_DECIMAL, NULL},
        {DR_TYPE_TEXT, "x;y"},
        {DR_TYPE_INT64, "12"},
    };
    static const char expected[] =
        "0b9c2f3e-1d2a-4c5b-8e6f-7a8b9c0d1e2f;'=SUM(A1);-5.00;;\"x;y\";12\r\n";
    dr_csv_format fmt;
    char got[256];
    FILE *fp = tmpfile();

    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    dr_csv_format_init(&fmt);
    fmt.delimiter = ';';
    for (size_t i = 0; i < sizeof row / sizeof row[0]; i++) {
        if (i > 0)
            CU_ASSERT_NOT_EQUAL(putc(fmt.delimiter, fp), EOF);
        const char *t = row[i].text;
        CU_ASSERT_EQUAL(dr_csv_write_field(fp, &fmt, row[i].type, t, t ? strlen(t) : 0), 0);
    }
    CU_ASSERT_EQUAL(fputs("\r\n", fp) >= 0, 1);
    rewind(fp);
    size_t n = fread(got, 1, sizeof got, fp);
    CU_ASSERT_EQUAL(n, sizeof expected - 1);
    CU_ASSERT_EQUAL(memcmp(got, expected, sizeof expected - 1), 0);
    fclose(fp);
}

/* ---- write errors are reported ----------------------------------------- */

static void test_write_error(void)
{
    static const struct {
        dr_type type;
        const char *text;
        bool quote_all;
    } cases[] = {
        {DR_TYPE_TEXT, "plain text longer than the buffer", false},
        {DR_TYPE_TEXT, "quoted, via csv_fwrite2, longer than the buffer", false},
        {DR_TYPE_TEXT, "=prefixed, quoted, longer than the buffer", false},
        {DR_TYPE_TEXT, "=prefixed plain longer than the buffer", false},
        {DR_TYPE_DECIMAL, "123456789012345678901234567890.00", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char mem[8];
        dr_csv_format fmt;
        FILE *fp = fmemopen(mem, sizeof mem, "w");

        CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
        setvbuf(fp, NULL, _IONBF, 0);
        dr_csv_format_init(&fmt);
        fmt.quote_all = cases[i].quote_all;
        CU_ASSERT_EQUAL(dr_csv_write_field(fp, &fmt, cases[i].type, cases[i].text,
                                           strlen(cases[i].text)),
                        -1);
        fclose(fp);
    }
}

/* ---- the predicates ----------------------------------------------------- */

static void test_needs_formula_escape(void)
{
    static const struct {
        dr_type type;
        const char *text;
        bool expected;
    } cases[] = {
        {DR_TYPE_TEXT, "=", true},        {DR_TYPE_TEXT, "+", true},
        {DR_TYPE_TEXT, "-", true},        {DR_TYPE_TEXT, "@", true},
        {DR_TYPE_TEXT, "\t", true},       {DR_TYPE_TEXT, "\r", true},
        {DR_TYPE_TEXT, "", false},        {DR_TYPE_TEXT, NULL, false},
        {DR_TYPE_TEXT, "a=", false},      {DR_TYPE_TEXT, " =", false},
        {DR_TYPE_TEXT, "\n=", false},     {DR_TYPE_TEXT, "'=", false},
        {DR_TYPE_DECIMAL, "-1", false},   {DR_TYPE_DECIMAL, "=1", false},
        {DR_TYPE_INT64, "-1", false},     {DR_TYPE_INT64, "+1", false},
        {DR_TYPE_TIMESTAMP, "-1", false}, {DR_TYPE_TIMESTAMP, "@1", false},
        {DR_TYPE_UUID, "-1", false},      {DR_TYPE_UUID, "\t1", false},
        {DR_TYPE_BOOLEAN, "=1", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i].text;
        CU_ASSERT_EQUAL(dr_csv_needs_formula_escape(cases[i].type, t, t ? strlen(t) : 0),
                        cases[i].expected);
    }
}

static void test_needs_quotes(void)
{
    static const struct {
        const char *text;
        unsigned char delim;
        bool expected;
    } cases[] = {
        {"abc", ',', false},  {"", ',', false},      {"a b", ',', false},
        {"a,b", ',', true},   {"a,b", ';', false},   {"a;b", ';', true},
        {"a\"b", ',', true},  {"a\rb", ',', true},   {"a\nb", ',', true},
        {" a", ',', true},    {"a ", ',', true},     {"\ta", ',', true},
        {"a\t", ',', true},   {"a\tb", ',', false},  {"a\tb", '\t', true},
        {"'", ',', false},    {NULL, ',', false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i].text;
        CU_ASSERT_EQUAL(dr_csv_needs_quotes(t, t ? strlen(t) : 0, cases[i].delim),
                        cases[i].expected);
    }
}

static void test_parse_delimiter(void)
{
    static const struct {
        const char *in;
        int rc;
        unsigned char expected;
    } cases[] = {
        {",", 0, ','},        {";", 0, ';'},      {"\t", 0, '\t'},     {"|", 0, '|'},
        {":", 0, ':'},        {"comma", 0, ','},  {"semicolon", 0, ';'}, {"tab", 0, '\t'},
        {"pipe", 0, '|'},     {"Comma", 0, ','},  {"TAB", 0, '\t'},    {"", -1, 0},
        {"xx", -1, 0},        {"\"", -1, 0},      {"\r", -1, 0},       {"\n", -1, 0},
        {"\x01", -1, 0},      {"\x7f", -1, 0},    {"\xC3\xA9", -1, 0}, {"\xA7", -1, 0},
        {"commas", -1, 0},    {" ,", -1, 0},      {NULL, -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char out = 0;
        CU_ASSERT_EQUAL(dr_csv_parse_delimiter(cases[i].in, &out), cases[i].rc);
        if (cases[i].rc == 0)
            CU_ASSERT_EQUAL(out, cases[i].expected);
    }
}

static void test_parse_bool(void)
{
    static const struct {
        const char *in;
        int rc;
        bool expected;
    } cases[] = {
        {"true", 0, true},  {"TRUE", 0, true},   {"yes", 0, true},  {"on", 0, true},
        {"1", 0, true},     {"false", 0, false}, {"False", 0, false}, {"no", 0, false},
        {"off", 0, false},  {"0", 0, false},     {"", -1, false},   {"t", -1, false},
        {"2", -1, false},   {"truee", -1, false}, {NULL, -1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool out = !cases[i].expected;
        CU_ASSERT_EQUAL(dr_pc_parse_bool(cases[i].in, &out), cases[i].rc);
        if (cases[i].rc == 0)
            CU_ASSERT_EQUAL(out, cases[i].expected);
    }
}

static void test_word_eq(void)
{
    static const struct {
        const char *a, *b;
        bool expected;
    } cases[] = {
        {"run", "Run", true},         {"HISTORY", "history", true}, {"", "", true},
        {"a", "ab", false},           {"ab", "a", false},           {"", "a", false},
        {"caf\xC3\xA9", "CAF\xC3\xA9", true}, {"\xC3\xA9", "\xC3\x89", false},
        {"Perf (2)", "perf (2)", true}, {"perf (2)", "perf (3)", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CU_ASSERT_EQUAL(dr_pc_word_eq(cases[i].a, cases[i].b), cases[i].expected);
}

static void test_format_defaults(void)
{
    dr_csv_format fmt = {0, true, false};
    dr_csv_format_init(&fmt);
    CU_ASSERT_EQUAL(fmt.delimiter, ',');
    CU_ASSERT_FALSE(fmt.quote_all);
    CU_ASSERT_TRUE(fmt.formula_escape);
}

void dr_test_register(void)
{
    CU_pSuite s = CU_add_suite("csv_escape", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "format defaults", test_format_defaults);
    CU_add_test(s, "needs formula escape", test_needs_formula_escape);
    CU_add_test(s, "needs quotes", test_needs_quotes);
    CU_add_test(s, "write field (table)", test_write_field);
    CU_add_test(s, "record into tmpfile", test_record_tmpfile);
    CU_add_test(s, "write errors", test_write_error);
    CU_add_test(s, "parse delimiter", test_parse_delimiter);
    CU_add_test(s, "parse bool", test_parse_bool);
    CU_add_test(s, "word equality", test_word_eq);
}
