/* Unit tests for name_template.c: output file names from --name templates. */
#include <stdio.h>
#include <string.h>

#include "unit_check.h"
#include "name_template.h"

#define CHECK(cond, input, len) CHECK_INPUT(cond, input, len)

#define TENANT "123e4567-e89b-12d3-a456-426614174000"
#define RUN_ID "0b6f8c3e-2d7a-4c39-9a51-7f0e2b9d4c11"
#define STAY_INSIDE "the file name must stay inside the output directory (no '/' or '..')"

static dr_name_vars standard_vars(void)
{
    dr_name_vars v = {
        .report = "rep_performance",
        .tenant = TENANT,
        .period = "2026-10",
        .from = "20261001T000000-0400",
        .to = "20261101T000000-0400",
        .run_id = RUN_ID,
        .generated = "20261105T093000Z",
        .ext = "csv",
    };
    return v;
}

static const struct {
    const char *tmpl;
    const char *expect;
} valid_names[] = {
    {DR_NAME_DEFAULT, "rep_performance_" TENANT "_2026-10.csv"},
    {"{report}.{ext}", "rep_performance.csv"},
    {"{report}_{tenant}_{period}_{from}_{to}_{run_id}_{generated}.{ext}",
     "rep_performance_" TENANT "_2026-10_20261001T000000-0400_20261101T000000-0400_" RUN_ID
     "_20261105T093000Z.csv"},
    {"{run_id}", RUN_ID},
    {"{ext}{ext}", "csvcsv"},
    {"plain.txt", "plain.txt"},
    {"x", "x"},
    {"a..b.{ext}", "a..b.csv"},
    {"{report}..{ext}", "rep_performance..csv"},
    {"x.", "x."},
    {"report {period}.csv", "report 2026-10.csv"},
    {"Bericht_M\xc3\xa4rz_{period}.{ext}", "Bericht_M\xc3\xa4rz_2026-10.csv"},
    {"~{report}", "~rep_performance"},
    {"-{report}", "-rep_performance"},
};

static void test_name_valid(void)
{
    dr_name_vars vars = standard_vars();
    for (size_t i = 0; i < COUNT(valid_names); i++) {
        const char *tmpl = valid_names[i].tmpl;
        size_t len = strlen(tmpl);
        dr_error err = {0};
        char out[256];
        CHECK(dr_name_expand(tmpl, len, &vars, out, sizeof out, &err) == DR_OK, tmpl, len);
        CHECK(err.status == DR_OK, tmpl, len);
        CHECK(strcmp(out, valid_names[i].expect) == 0, tmpl, len);
    }
}

/* Templates refused with the standard values; @p len 0 means strlen(tmpl). */
static const struct {
    const char *tmpl;
    size_t len;
    const char *reason;
} invalid_templates[] = {
    {"", 0, "the file name is empty"},
    {"../x.{ext}", 0, STAY_INSIDE},
    {"/etc/passwd", 0, STAY_INSIDE},
    {"a/b", 0, STAY_INSIDE},
    {"{report}/", 0, STAY_INSIDE},
    {"/{report}", 0, STAY_INSIDE},
    {"..", 0, STAY_INSIDE},
    {".", 0, STAY_INSIDE},
    {"a\\b", 0, "must not contain '\\'"},
    {"..\\{report}", 0, "must not contain '\\'"},
    {".hidden", 0, "must not start with '.'"},
    {".{ext}", 0, "must not start with '.'"},
    {"...", 0, "must not start with '.'"},
    {"{unknown}", 0, "unknown token '{unknown}'; known tokens are {report} {tenant} {period} {from} "
                     "{to} {run_id} {generated} {ext}"},
    {"{Report}", 0, "unknown token '{Report}'"},
    {"{ report}", 0, "unknown token '{ report}'"},
    {"{}", 0, "unknown token '{}'"},
    {"{re\nport}", 0, "unknown token '{re\\x0aport}'"},
    {"{report", 0, "'{' at position 1 has no matching '}'"},
    {"x_{", 0, "'{' at position 3 has no matching '}'"},
    {"x}", 0, "'}' at position 2 has no matching '{'"},
    {"}{report}", 0, "'}' at position 1 has no matching '{'"},
    {"{report}}", 0, "'}' at position 9 has no matching '{'"},
    {"{{report}}", 0, "'{' at position 1 has no matching '}'"},
    {"{rep{ext}ort}", 0, "'{' at position 1 has no matching '}'"},
    {"a\0b", 3, "the template contains a NUL byte"},
    {"{report}\0.csv", 13, "the template contains a NUL byte"},
    {"\0", 1, "the template contains a NUL byte"},
    {"a\tb", 0, "control characters"},
    {"a\nb.{ext}", 0, "control characters"},
    {"a\rb", 0, "control characters"},
    {"a\x7f" "b", 0, "control characters"},
    {"\x1b[31m{report}", 0, "control characters"},
};

static void test_name_invalid_templates(void)
{
    dr_name_vars vars = standard_vars();
    for (size_t i = 0; i < COUNT(invalid_templates); i++) {
        const char *tmpl = invalid_templates[i].tmpl;
        size_t len = invalid_templates[i].len ? invalid_templates[i].len : strlen(tmpl);
        char q[DR_QUOTE_SIZE], prefix[DR_QUOTE_SIZE + 32];
        snprintf(prefix, sizeof prefix, "invalid --name %s: ", dr_quote(tmpl, len, q, sizeof q));
        dr_error err = {0};
        char out[256];
        memset(out, 'x', sizeof out);
        CHECK(dr_name_expand(tmpl, len, &vars, out, sizeof out, &err) == DR_EUSAGE, tmpl, len);
        CHECK(err.status == DR_EUSAGE, tmpl, len);
        CHECK(strncmp(err.msg, prefix, strlen(prefix)) == 0, tmpl, len);
        CHECK(strstr(err.msg, invalid_templates[i].reason) != NULL, tmpl, len);
        CHECK(out[0] == '\0', tmpl, len);
    }
}

/* Harmless templates that values make unsafe: one value replaced, the expansion shown. */
static const struct {
    const char *tmpl;
    const char *period;
    const char *tenant;
    const char *ext;
    const char *reason;
    const char *shown; /* how the message shows the expansion */
} invalid_values[] = {
    {"{period}.csv", "2026/10", NULL, NULL, STAY_INSIDE, "'2026/10.csv'"},
    {"x_{tenant}", NULL, "../../etc", NULL, STAY_INSIDE, "'x_../../etc'"},
    {"{tenant}", NULL, "..", NULL, STAY_INSIDE, "'..'"},
    {"{tenant}", NULL, ".", NULL, STAY_INSIDE, "'.'"},
    {"{tenant}{period}", ".", "", NULL, STAY_INSIDE, "'.'"},
    {"{period}", ".x", NULL, NULL, "the file name must not start with '.'", "'.x'"},
    {"a.{ext}", NULL, NULL, "c\\sv", "the file name must not contain '\\'", "'a.c\\\\sv'"},
    {"a.{ext}", NULL, NULL, "csv\n", "the file name must not contain control characters", "'a.csv\\x0a'"},
    {"{report}_{period}.{ext}", "2026\x01", NULL, NULL, "the file name must not contain control characters",
     "'rep_performance_2026\\x01.csv'"},
    {"{ext}", NULL, NULL, "", "the file name is empty", "''"},
    {"..{ext}", NULL, NULL, "", STAY_INSIDE, "'..'"},
    {"{period}.{ext}", "2026/10", NULL, NULL, STAY_INSIDE, "'2026/10.csv'"},
};

static void test_name_invalid_values(void)
{
    for (size_t i = 0; i < COUNT(invalid_values); i++) {
        const char *tmpl = invalid_values[i].tmpl;
        size_t len = strlen(tmpl);
        dr_name_vars vars = standard_vars();
        if (invalid_values[i].period)
            vars.period = invalid_values[i].period;
        if (invalid_values[i].tenant)
            vars.tenant = invalid_values[i].tenant;
        if (invalid_values[i].ext)
            vars.ext = invalid_values[i].ext;
        char expect[512];
        snprintf(expect, sizeof expect, "invalid --name '%s': %s", tmpl, invalid_values[i].reason);
        dr_error err = {0};
        char out[256];
        CHECK(dr_name_expand(tmpl, len, &vars, out, sizeof out, &err) == DR_EUSAGE, tmpl, len);
        CHECK(strncmp(err.msg, expect, strlen(expect)) == 0, tmpl, len);
        char shown[128];
        snprintf(shown, sizeof shown, " (it expands to %s)", invalid_values[i].shown);
        CHECK(strstr(err.msg, shown) != NULL, tmpl, len);
    }
}

static void test_name_messages_exact(void)
{
    dr_name_vars vars = standard_vars();
    dr_error err = {0};
    char out[256];
    const char *tmpl = "../x.{ext}";
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid --name '../x.{ext}': " STAY_INSIDE);

    dr_error_clear(&err);
    vars.period = "2026/10";
    tmpl = "{period}.csv";
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg,
                           "invalid --name '{period}.csv': " STAY_INSIDE " (it expands to '2026/10.csv')");

    dr_error_clear(&err);
    tmpl = "{ext}";
    vars.ext = "";
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid --name '{ext}': the file name is empty (it expands to '')");

    /* the template's own text is at fault: the expansion is not shown */
    dr_error_clear(&err);
    vars = standard_vars();
    tmpl = ".{report}";
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid --name '.{report}': the file name must not start with '.' "
                                    "(it would be hidden)");

    /* the values are at fault even though the template alone is odd */
    dr_error_clear(&err);
    vars.period = "2026/10";
    tmpl = "{period}.{ext}";
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid --name '{period}.{ext}': " STAY_INSIDE
                                    " (it expands to '2026/10.csv')");
}

static void test_name_missing_values(void)
{
    static const char *const templates[] = {"{report}", "{tenant}", "{period}", "{from}",
                                            "{to}",     "{run_id}", "{generated}", "{ext}"};
    char out[256];
    for (size_t i = 0; i < COUNT(templates); i++) {
        const char *tmpl = templates[i];
        size_t len = strlen(tmpl);
        dr_error err = {0};
        char expect[128];
        snprintf(expect, sizeof expect, "invalid --name '%s': the token %s has no value for this command",
                 tmpl, tmpl);
        /* all values absent */
        dr_name_vars none = {0};
        CHECK(dr_name_expand(tmpl, len, &none, out, sizeof out, &err) == DR_EUSAGE, tmpl, len);
        CHECK(strcmp(err.msg, expect) == 0, tmpl, len);
        /* no vars at all */
        dr_error_clear(&err);
        CHECK(dr_name_expand(tmpl, len, NULL, out, sizeof out, &err) == DR_EUSAGE, tmpl, len);
        CHECK(strcmp(err.msg, expect) == 0, tmpl, len);
    }
    /* only the absent value matters */
    dr_name_vars vars = standard_vars();
    vars.run_id = NULL;
    dr_error err = {0};
    CU_ASSERT_EQUAL(dr_name_expand(DR_NAME_DEFAULT, strlen(DR_NAME_DEFAULT), &vars, out, sizeof out, &err),
                    DR_OK);
    CU_ASSERT_EQUAL(dr_name_expand("x.txt", 5, NULL, out, sizeof out, &err), DR_OK);
    CU_ASSERT_STRING_EQUAL(out, "x.txt");
}

static void test_name_length(void)
{
    dr_name_vars vars = standard_vars();
    char tmpl[400], out[300];
    dr_error err = {0};

    /* 255 bytes is the limit */
    memset(tmpl, 'a', 251);
    strcpy(tmpl + 251, ".csv");
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, 255, &vars, out, sizeof out, &err), DR_OK);
    CU_ASSERT_EQUAL(strlen(out), 255);
    memset(tmpl, 'a', 252);
    strcpy(tmpl + 252, ".csv");
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, 256, &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT(strstr(err.msg, "the file name would be longer than 255 bytes") != NULL);
    CU_ASSERT(strlen(err.msg) < 300); /* the template is shown truncated */
    CU_ASSERT_STRING_EQUAL(out, "");

    /* 300 bytes built from a short template: 20 x "rep_performance" */
    tmpl[0] = '\0';
    for (int i = 0; i < 20; i++)
        strcat(tmpl, "{report}");
    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT(strstr(err.msg, "the file name would be longer than 255 bytes (it expands to 'rep_") != NULL);
    CU_ASSERT(strstr(err.msg, "...')") != NULL);

    /* a value so long that it alone is too long */
    char longval[1000];
    memset(longval, 'v', sizeof longval - 1);
    longval[sizeof longval - 1] = '\0';
    vars.report = longval;
    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_name_expand("{report}.{ext}", 14, &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT(strstr(err.msg, "longer than 255 bytes") != NULL);

    /* a 300-byte template is refused whatever it holds, and is not shown whole */
    memset(tmpl, 'b', 300);
    tmpl[300] = '\0';
    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, 300, &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT(strstr(err.msg, "bbb...'") != NULL);
}

static void test_name_out_size(void)
{
    dr_name_vars vars = standard_vars();
    dr_error err = {0};
    char out[32];
    const char *tmpl = "{report}.{ext}"; /* "rep_performance.csv": 19 bytes */

    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, out, 20, &err), DR_OK);
    CU_ASSERT_STRING_EQUAL(out, "rep_performance.csv");

    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, out, 19, &err), DR_EUSAGE);
    CU_ASSERT(strstr(err.msg, "the file name would be longer than 18 bytes") != NULL);
    CU_ASSERT_STRING_EQUAL(out, "");

    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, out, 0, NULL), DR_EUSAGE);
    CU_ASSERT_EQUAL(dr_name_expand(tmpl, strlen(tmpl), &vars, NULL, 32, NULL), DR_EUSAGE);
}

static void test_name_first_error_and_length_argument(void)
{
    dr_name_vars vars = standard_vars();
    char out[256];
    dr_error err = {0};

    /* only tmpl_len bytes count: the rest of the string is ignored */
    CU_ASSERT_EQUAL(dr_name_expand("{report}/etc", 8, &vars, out, sizeof out, &err), DR_OK);
    CU_ASSERT_STRING_EQUAL(out, "rep_performance");
    /* a cut in the middle of a token leaves it unbalanced */
    CU_ASSERT_EQUAL(dr_name_expand("{report}", 5, &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT(strstr(err.msg, "invalid --name '{repo': '{' at position 1") != NULL);
    /* NULL template: empty */
    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_name_expand(NULL, 0, &vars, out, sizeof out, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid --name '': the file name is empty");
}

void dr_test_register(void)
{
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"valid templates", test_name_valid},
        {"refused templates", test_name_invalid_templates},
        {"values that make a name unsafe", test_name_invalid_values},
        {"message text", test_name_messages_exact},
        {"tokens without a value", test_name_missing_values},
        {"255-byte limit", test_name_length},
        {"output buffer size", test_name_out_size},
        {"template length argument", test_name_first_error_and_length_argument},
    };
    CU_pSuite suite = CU_add_suite("name_template", NULL, NULL);
    for (size_t i = 0; suite && i < COUNT(tests); i++)
        CU_add_test(suite, tests[i].name, tests[i].fn);
}
