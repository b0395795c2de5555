/* Unit tests for runs.c's --older-than parser: ages N UNIT and dates, and what it refuses. */
#include <stdio.h>
#include <string.h>

#include "runs.h"
#include "unit_check.h"

#define CHECK(cond, input) CHECK_INPUT(cond, input, unit_len(input))

static const struct {
    const char *text;
    const char *age;    /* the interval, or "" for a date */
    const char *before; /* a date's local text and offset */
} valid[] = {
    {"13months", "13 months", NULL},   {"1month", "1 months", NULL},
    {"90days", "90 days", NULL},       {"1day", "1 days", NULL},         {"7d", "7 days", NULL},
    {"2weeks", "2 weeks", NULL},       {"1week", "1 weeks", NULL},       {"3w", "3 weeks", NULL},
    {"1year", "1 years", NULL},        {"2years", "2 years", NULL},      {"5y", "5 years", NULL},
    {"100000days", "100000 days", NULL}, {"007days", "7 days", NULL},
    {"2025-01-01", "", "2025-01-01 00:00:00"},
    {"2025-06-30T12:30", "", "2025-06-30 12:30:00"},
    {"2025-06-30T12:30:15+02:00", "", "2025-06-30 12:30:15+02:00"},
    {"2025-06-30Z", "", "2025-06-30 00:00:00+00:00"},
};

static const char *const invalid[] = {
    "", "13", "months", "0days", "0y", "100001days", "13 months", " 13months", "13months ", "13Months",
    "13mo", "13m", "1.5years", "-1year", "+1year", "1e3days", "13monthss", "2025-13-01", "2025-02-30",
    "2025-01-01T25:00", "2025", "20250101", "1 year", "yesterday", "1h", "10minutes",
};

static void test_age_valid(void)
{
    for (size_t i = 0; i < COUNT(valid); i++) {
        dr_runs_prune_request req;
        dr_error err = {0};
        memset(&req, 'x', sizeof req);
        req.age[sizeof req.age - 1] = '\0';
        CHECK(dr_runs_age_parse(valid[i].text, &req, &err) == DR_OK, valid[i].text);
        CHECK(strcmp(req.age, valid[i].age) == 0, valid[i].text);
        if (valid[i].before) {
            char both[64];
            snprintf(both, sizeof both, "%s%s", req.before.local, req.before.offset);
            CHECK(strcmp(both, valid[i].before) == 0, valid[i].text);
        }
    }
}

static void test_age_invalid(void)
{
    for (size_t i = 0; i < COUNT(invalid); i++) {
        dr_runs_prune_request req = {0};
        dr_error err = {0};
        char shown[DR_QUOTE_SIZE];
        CHECK(dr_runs_age_parse(invalid[i], &req, &err) == DR_EUSAGE, invalid[i]);
        CHECK(err.usage_hint == 1, invalid[i]);
        dr_quote(invalid[i], strlen(invalid[i]), shown, sizeof shown);
        CHECK(strstr(err.msg, shown) != NULL, invalid[i]);
        CHECK(strstr(err.msg, "13months") != NULL && strstr(err.msg, "YYYY-MM-DD") != NULL, invalid[i]);
    }
}

void dr_test_register(void)
{
    CU_pSuite s = CU_add_suite("runs", NULL, NULL);
    CU_add_test(s, "--older-than: ages and dates", test_age_valid);
    CU_add_test(s, "--older-than: refused with the forms named", test_age_invalid);
}
