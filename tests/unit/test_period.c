/* Unit tests for period.c: --period specs and --from / --to timestamps. */
#include <stdio.h>
#include <string.h>

#include "unit_check.h"
#include "period.h"

#define CHECK(cond, input) CHECK_INPUT(cond, input, unit_len(input))

#define FORMS_START "expected YYYY, YYYY-MM, YYYY-Qn, YYYY-MM-DD, YYYY-Www or one of today, yesterday, this-week"

static int contains(const char *haystack, const char *needle)
{
    return strstr(haystack, needle) != NULL;
}

/* ---- periods ----------------------------------------------------------- */

static const struct {
    const char *spec;
    dr_period_unit unit;
    const char *anchor;
    const char *label;
} valid_periods[] = {
    {"2026", DR_UNIT_YEAR, "2026-01-01", "2026"},
    {"0001", DR_UNIT_YEAR, "0001-01-01", "0001"},
    {"9999", DR_UNIT_YEAR, "9999-01-01", "9999"},
    {"2026-10", DR_UNIT_MONTH, "2026-10-01", "2026-10"},
    {"2026-01", DR_UNIT_MONTH, "2026-01-01", "2026-01"},
    {"2026-12", DR_UNIT_MONTH, "2026-12-01", "2026-12"},
    {"0001-01", DR_UNIT_MONTH, "0001-01-01", "0001-01"},
    {"2026-Q1", DR_UNIT_QUARTER, "2026-01-01", "2026-Q1"},
    {"2026-Q2", DR_UNIT_QUARTER, "2026-04-01", "2026-Q2"},
    {"2026-Q3", DR_UNIT_QUARTER, "2026-07-01", "2026-Q3"},
    {"2026-Q4", DR_UNIT_QUARTER, "2026-10-01", "2026-Q4"},
    {"2026-q4", DR_UNIT_QUARTER, "2026-10-01", "2026-Q4"},
    {"2026-10-05", DR_UNIT_DAY, "2026-10-05", "2026-10-05"},
    {"2026-12-31", DR_UNIT_DAY, "2026-12-31", "2026-12-31"},
    {"2024-02-29", DR_UNIT_DAY, "2024-02-29", "2024-02-29"},
    {"2000-02-29", DR_UNIT_DAY, "2000-02-29", "2000-02-29"},
    {"2026-04-30", DR_UNIT_DAY, "2026-04-30", "2026-04-30"},
    {"0001-01-01", DR_UNIT_DAY, "0001-01-01", "0001-01-01"},
    {"9999-12-31", DR_UNIT_DAY, "9999-12-31", "9999-12-31"},
    {"2026-W41", DR_UNIT_WEEK, "2026-10-05", "2026-W41"},
    {"2026-w41", DR_UNIT_WEEK, "2026-10-05", "2026-W41"},
    {"2026-W01", DR_UNIT_WEEK, "2025-12-29", "2026-W01"}, /* week 1 starts in the previous year */
    {"2026-W53", DR_UNIT_WEEK, "2026-12-28", "2026-W53"},
    {"2020-W01", DR_UNIT_WEEK, "2019-12-30", "2020-W01"},
    {"2020-W53", DR_UNIT_WEEK, "2020-12-28", "2020-W53"},
    {"2021-W01", DR_UNIT_WEEK, "2021-01-04", "2021-W01"},
    {"2015-W53", DR_UNIT_WEEK, "2015-12-28", "2015-W53"},
    {"2004-W53", DR_UNIT_WEEK, "2004-12-27", "2004-W53"},
    {"0001-W01", DR_UNIT_WEEK, "0001-01-01", "0001-W01"},
    {"9999-W52", DR_UNIT_WEEK, "9999-12-27", "9999-W52"},
};

static void test_period_valid(void)
{
    for (size_t i = 0; i < COUNT(valid_periods); i++) {
        const char *spec = valid_periods[i].spec;
        dr_error err = {0};
        dr_period p;
        memset(&p, 0x5a, sizeof p);
        CHECK(dr_period_parse(spec, &p, &err) == DR_OK, spec);
        CHECK(err.status == DR_OK && err.msg[0] == '\0', spec);
        CHECK(p.unit == valid_periods[i].unit, spec);
        CHECK(p.relative == 0 && p.offset == 0, spec);
        CHECK(strcmp(p.anchor, valid_periods[i].anchor) == 0, spec);
        CHECK(strcmp(p.label, valid_periods[i].label) == 0, spec);
    }
}

static const struct {
    const char *spec;
    dr_period_unit unit;
    int offset;
} relative_periods[] = {
    {"today", DR_UNIT_DAY, 0},           {"yesterday", DR_UNIT_DAY, -1},
    {"this-week", DR_UNIT_WEEK, 0},      {"previous-week", DR_UNIT_WEEK, -1},
    {"this-month", DR_UNIT_MONTH, 0},    {"previous-month", DR_UNIT_MONTH, -1},
    {"this-quarter", DR_UNIT_QUARTER, 0}, {"previous-quarter", DR_UNIT_QUARTER, -1},
    {"this-year", DR_UNIT_YEAR, 0},      {"previous-year", DR_UNIT_YEAR, -1},
};

static void test_period_relative(void)
{
    for (size_t i = 0; i < COUNT(relative_periods); i++) {
        const char *spec = relative_periods[i].spec;
        dr_error err = {0};
        dr_period p;
        memset(&p, 0x5a, sizeof p);
        CHECK(dr_period_parse(spec, &p, &err) == DR_OK, spec);
        CHECK(p.relative == 1, spec);
        CHECK(p.unit == relative_periods[i].unit, spec);
        CHECK(p.offset == relative_periods[i].offset, spec);
        CHECK(p.anchor[0] == '\0', spec);
        CHECK(strcmp(p.label, spec) == 0, spec);
    }
}

/* @p shown: how the message must show the value (between quotes); @p reason: extra text, or NULL. */
static const struct {
    const char *spec;
    const char *shown;
    const char *reason;
} invalid_periods[] = {
    {"", "''", NULL},
    {"2026-13", "'2026-13'", NULL},
    {"2026-00", "'2026-00'", NULL},
    {"2026-99", "'2026-99'", NULL},
    {"2026-Q5", "'2026-Q5'", NULL},
    {"2026-Q0", "'2026-Q0'", NULL},
    {"2026-q0", "'2026-q0'", NULL},
    {"2026-QQ", "'2026-QQ'", NULL},
    {"2026-Q4x", "'2026-Q4x'", NULL},
    {"2026-Q04", "'2026-Q04'", NULL},
    {"0000", "'0000'", "years run from 0001 to 9999"},
    {"0000-01", "'0000-01'", "years run from 0001 to 9999"},
    {"0000-Q1", "'0000-Q1'", "years run from 0001 to 9999"},
    {"0000-01-01", "'0000-01-01'", "years run from 0001 to 9999"},
    {"0000-W01", "'0000-W01'", "years run from 0001 to 9999"},
    {" 2026", "' 2026'", NULL},
    {"2026 ", "'2026 '", NULL},
    {"2026\n", "'2026\\x0a'", NULL},
    {"\t2026", "'\\x092026'", NULL},
    {"+2026", "'+2026'", NULL},
    {"-2026", "'-2026'", NULL},
    {"2026-1", "'2026-1'", NULL},
    {"2026-", "'2026-'", NULL},
    {"2026-1-1", "'2026-1-1'", NULL},
    {"2026-10-5", "'2026-10-5'", NULL},
    {"2026-10-005", "'2026-10-005'", NULL},
    {"202", "'202'", NULL},
    {"20261", "'20261'", NULL},
    {"10000", "'10000'", NULL},
    {"202610", "'202610'", NULL},
    {"2026/10", "'2026/10'", NULL},
    {"2026.10", "'2026.10'", NULL},
    {"2026-10-05T00:00", "'2026-10-05T00:00'", NULL},
    {"2026-13-01", "'2026-13-01'", NULL},
    {"2026-00-10", "'2026-00-10'", NULL},
    {"2026-01-00", "'2026-01-00'", "2026-01 has days 01 to 31"},
    {"2026-01-32", "'2026-01-32'", "2026-01 has days 01 to 31"},
    {"2026-04-31", "'2026-04-31'", "2026-04 has days 01 to 30"},
    {"2026-02-29", "'2026-02-29'", "2026-02 has days 01 to 28"},
    {"2026-02-30", "'2026-02-30'", "2026-02 has days 01 to 28"},
    {"2024-02-30", "'2024-02-30'", "2024-02 has days 01 to 29"},
    {"1900-02-29", "'1900-02-29'", "1900-02 has days 01 to 28"},
    {"2100-02-29", "'2100-02-29'", "2100-02 has days 01 to 28"},
    {"2021-W53", "'2021-W53'", "2021 has only 52 ISO weeks"},
    {"2027-w53", "'2027-w53'", "2027 has only 52 ISO weeks"},
    {"2026-W00", "'2026-W00'", NULL},
    {"2026-W54", "'2026-W54'", NULL},
    {"2026-W1", "'2026-W1'", NULL},
    {"2026-W123", "'2026-W123'", NULL},
    {"2026-W4a", "'2026-W4a'", NULL},
    {"2026W41", "'2026W41'", NULL},
    {"2026-X41", "'2026-X41'", NULL},
    {"Today", "'Today'", NULL},
    {"TODAY", "'TODAY'", NULL},
    {"today ", "'today '", NULL},
    {"this_week", "'this_week'", NULL},
    {"this-weeks", "'this-weeks'", NULL},
    {"last-month", "'last-month'", NULL},
    {"next-year", "'next-year'", NULL},
    {"previous", "'previous'", NULL},
    {"tomorrow", "'tomorrow'", NULL},
    {"\xff\xfe", "'\\xff\\xfe'", NULL},
    {"2026\xc3", "'2026\\xc3'", NULL},
    {"\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96", /* full-width digits "２０２６" */
     "'\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96'", NULL},
    {"2026-\xd9\xa1\xd9\xa0", "'2026-\xd9\xa1\xd9\xa0'", NULL}, /* Arabic-Indic digits */
};

static void test_period_invalid(void)
{
    for (size_t i = 0; i < COUNT(invalid_periods); i++) {
        const char *spec = invalid_periods[i].spec;
        dr_error err = {0};
        dr_period p;
        memset(&p, 0x5a, sizeof p);
        dr_period before = p;
        CHECK(dr_period_parse(spec, &p, &err) == DR_EUSAGE, spec);
        CHECK(err.status == DR_EUSAGE, spec);
        CHECK(strncmp(err.msg, "invalid period ", 15) == 0, spec);
        CHECK(contains(err.msg, invalid_periods[i].shown), spec);
        CHECK(contains(err.msg, FORMS_START), spec);
        CHECK(contains(err.msg, "previous-year"), spec);
        if (invalid_periods[i].reason)
            CHECK(contains(err.msg, invalid_periods[i].reason), spec);
        CHECK(memcmp(&p, &before, sizeof p) == 0, spec);
    }
}

static void test_period_message_exact(void)
{
    dr_error err = {0};
    dr_period p;
    CU_ASSERT_EQUAL(dr_period_parse("2026-13", &p, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg,
                           "invalid period '2026-13': expected YYYY, YYYY-MM, YYYY-Qn, YYYY-MM-DD, "
                           "YYYY-Www or one of today, yesterday, this-week, previous-week, this-month, "
                           "previous-month, this-quarter, previous-quarter, this-year, previous-year");

    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_period_parse("2021-W53", &p, &err), DR_EUSAGE);
    CU_ASSERT(strncmp(err.msg, "invalid period '2021-W53': 2021 has only 52 ISO weeks; expected YYYY,", 67) ==
              0);
}

static void test_period_overlong(void)
{
    char spec[301];
    memset(spec, '9', 300);
    spec[300] = '\0';
    dr_error err = {0};
    dr_period p;
    CU_ASSERT_EQUAL(dr_period_parse(spec, &p, &err), DR_EUSAGE);
    /* 60 digits of the value, then "...", inside the quotes */
    char expect[80];
    snprintf(expect, sizeof expect, "'%.60s...'", spec);
    CU_ASSERT(contains(err.msg, expect));
    CU_ASSERT(!contains(err.msg, "9999999999999999999999999999999999999999999999999999999999999"));
    CU_ASSERT(strlen(err.msg) < 400);
}

static void test_period_null_arguments(void)
{
    dr_error err = {0};
    dr_period p;
    CU_ASSERT_EQUAL(dr_period_parse(NULL, &p, &err), DR_EUSAGE);
    CU_ASSERT(contains(err.msg, "invalid period ''"));
    /* err may be NULL: the status alone is returned */
    CU_ASSERT_EQUAL(dr_period_parse("2026-13", &p, NULL), DR_EUSAGE);
    CU_ASSERT_EQUAL(dr_period_parse("2026-10", &p, NULL), DR_OK);
}

/* ISO years with 53 weeks, from Python's datetime.date.isocalendar(). */
static void test_period_week53_years(void)
{
    static const int long_years[] = {4,    9,    15,   20,   26,   1992, 1998, 2004, 2009,
                                     2015, 2020, 2026, 2032, 2037, 2043, 2048, 9970, 9976,
                                     9981, 9987, 9992, 9998};
    static const int ranges[][2] = {{1, 30}, {1990, 2050}, {9970, 9999}};

    for (size_t r = 0; r < COUNT(ranges); r++) {
        for (int y = ranges[r][0]; y <= ranges[r][1]; y++) {
            int is_long = 0;
            for (size_t i = 0; i < COUNT(long_years); i++)
                is_long |= long_years[i] == y;
            char spec[16];
            snprintf(spec, sizeof spec, "%04d-W53", y);
            dr_period p;
            dr_status st = dr_period_parse(spec, &p, NULL);
            CHECK(st == (is_long ? DR_OK : DR_EUSAGE), spec);
            /* the Monday of week 53 is always in late December of the same year */
            if (is_long && st == DR_OK)
                CHECK(strncmp(p.anchor + 5, "12-", 3) == 0, spec);
        }
    }
}

static void test_period_unit_text(void)
{
    static const struct {
        dr_period_unit unit;
        const char *interval, *field;
    } units[] = {
        {DR_UNIT_DAY, "1 day", "day"},         {DR_UNIT_WEEK, "7 days", "week"},
        {DR_UNIT_MONTH, "1 month", "month"},   {DR_UNIT_QUARTER, "3 months", "quarter"},
        {DR_UNIT_YEAR, "1 year", "year"},
    };
    for (size_t i = 0; i < COUNT(units); i++) {
        CU_ASSERT_STRING_EQUAL(dr_period_unit_interval(units[i].unit), units[i].interval);
        CU_ASSERT_STRING_EQUAL(dr_period_unit_field(units[i].unit), units[i].field);
    }
    CU_ASSERT_PTR_NULL(dr_period_unit_interval((dr_period_unit)99));
    CU_ASSERT_PTR_NULL(dr_period_unit_field((dr_period_unit)-1));
}

/* ---- timestamps -------------------------------------------------------- */

static const struct {
    const char *text;
    const char *local;
    const char *offset;
} valid_ts[] = {
    {"2026-10-01", "2026-10-01 00:00:00", ""},
    {"2026-10-01T08:30", "2026-10-01 08:30:00", ""},
    {"2026-10-01 08:30", "2026-10-01 08:30:00", ""},
    {"2026-10-01T08:30:15", "2026-10-01 08:30:15", ""},
    {"2026-10-01 23:59:59", "2026-10-01 23:59:59", ""},
    {"2026-10-01T08:30:15.5", "2026-10-01 08:30:15.500000", ""},
    {"2026-10-01T08:30:15.000001", "2026-10-01 08:30:15.000001", ""},
    {"2026-10-01T08:30:15.123456", "2026-10-01 08:30:15.123456", ""},
    {"2026-10-01T08:30:15Z", "2026-10-01 08:30:15", "+00:00"},
    {"2026-10-01T08:30Z", "2026-10-01 08:30:00", "+00:00"},
    {"2026-10-01T08:30:15.25Z", "2026-10-01 08:30:15.250000", "+00:00"},
    {"2026-10-01Z", "2026-10-01 00:00:00", "+00:00"},
    {"2026-10-01T08:30+02:00", "2026-10-01 08:30:00", "+02:00"},
    {"2026-10-01T08:30:00-04:00", "2026-10-01 08:30:00", "-04:00"},
    {"2026-10-01T08:30:00+0530", "2026-10-01 08:30:00", "+05:30"},
    {"2026-10-01T08:30:00-0930", "2026-10-01 08:30:00", "-09:30"},
    {"2026-10-01T08:30:00-04", "2026-10-01 08:30:00", "-04:00"},
    {"2026-10-01 08:30:00+14", "2026-10-01 08:30:00", "+14:00"},
    {"2026-10-01T08:30:00+15:59", "2026-10-01 08:30:00", "+15:59"},
    {"2026-10-01T08:30:00-00:00", "2026-10-01 08:30:00", "+00:00"},
    {"2026-10-01T08:30:00+00", "2026-10-01 08:30:00", "+00:00"},
    {"2026-10-01-04:00", "2026-10-01 00:00:00", "-04:00"},
    {"2024-02-29T23:59:59", "2024-02-29 23:59:59", ""},
    {"2000-02-29", "2000-02-29 00:00:00", ""},
    {"0001-01-01T00:00", "0001-01-01 00:00:00", ""},
    {"9999-12-31T23:59:59.999999-15:59", "9999-12-31 23:59:59.999999", "-15:59"},
};

static void test_ts_valid(void)
{
    for (size_t i = 0; i < COUNT(valid_ts); i++) {
        const char *text = valid_ts[i].text;
        dr_error err = {0};
        dr_ts_arg ts;
        memset(&ts, 0x5a, sizeof ts);
        CHECK(dr_ts_arg_parse(text, "--from", &ts, &err) == DR_OK, text);
        CHECK(err.status == DR_OK, text);
        CHECK(strcmp(ts.local, valid_ts[i].local) == 0, text);
        CHECK(strcmp(ts.offset, valid_ts[i].offset) == 0, text);
    }
}

static const struct {
    const char *text;
    const char *reason; /* NULL: a bad form */
} invalid_ts[] = {
    {"", NULL},
    {"2026", NULL},
    {"2026-10", NULL},
    {"26-10-01", NULL},
    {"2026/10/01", NULL},
    {"2026-1-01", NULL},
    {" 2026-10-01", NULL},
    {"2026-10-01 ", NULL},
    {"2026-10-01T", NULL},
    {"2026-10-01T12", NULL},
    {"2026-10-01T1:00", NULL},
    {"2026-10-01T12:0", NULL},
    {"2026-10-01T12:00:", NULL},
    {"2026-10-01T12:00:0", NULL},
    {"2026-10-01T12:00:00.", NULL},
    {"2026-10-01T12:00:00.1234567", NULL},
    {"2026-10-01T12:00:00,5", NULL},
    {"2026-10-01T12:00.5", NULL},
    {"2026-10-01  12:00", NULL},
    {"2026-10-01t12:00", NULL},
    {"2026-10-01_12:00", NULL},
    {"2026-10-01T12:00z", NULL},
    {"2026-10-01T12:00Zx", NULL},
    {"2026-10-01T12:00ZZ", NULL},
    {"2026-10-01T12:00 +02:00", NULL},
    {"2026-10-01T12:00+2", NULL},
    {"2026-10-01T12:00+02:0", NULL},
    {"2026-10-01T12:00+020", NULL},
    {"2026-10-01T12:00+02:00:00", NULL},
    {"2026-10-01T12:00+", NULL},
    {"2026-10-01T12:00+02:00Z", NULL},
    {"2026-10-01T12:00:00\n", NULL},
    {"2026-10-01T12:00:00\xff", NULL},
    {"2026-13-01", "the month must be 01 to 12"},
    {"2026-00-01", "the month must be 01 to 12"},
    {"2026-02-30", "2026-02 has days 01 to 28"},
    {"2026-02-29T00:00", "2026-02 has days 01 to 28"},
    {"2026-04-31", "2026-04 has days 01 to 30"},
    {"2026-10-00", "2026-10 has days 01 to 31"},
    {"0000-01-01", "years run from 0001 to 9999"},
    {"2026-10-01T24:00", "the hour must be 00 to 23"},
    {"2026-10-01T99:00", "the hour must be 00 to 23"},
    {"2026-10-01T12:60", "the minute must be 00 to 59"},
    {"2026-10-01T12:00:60", "the second must be 00 to 59"},
    {"2026-10-01T12:00+16:00", "the offset hours must be 00 to 15"},
    {"2026-10-01T12:00-99", "the offset hours must be 00 to 15"},
    {"2026-10-01T12:00+02:60", "the offset minutes must be 00 to 59"},
    {"2026-10-01T12:00+0260", "the offset minutes must be 00 to 59"},
};

static void test_ts_invalid(void)
{
    for (size_t i = 0; i < COUNT(invalid_ts); i++) {
        const char *text = invalid_ts[i].text;
        char q[DR_QUOTE_SIZE], shown[DR_QUOTE_SIZE + 16];
        snprintf(shown, sizeof shown, "invalid --to %s: ", dr_quote(text, strlen(text), q, sizeof q));
        dr_error err = {0};
        dr_ts_arg ts;
        memset(&ts, 0x5a, sizeof ts);
        dr_ts_arg before = ts;
        CHECK(dr_ts_arg_parse(text, "--to", &ts, &err) == DR_EUSAGE, text);
        CHECK(err.status == DR_EUSAGE, text);
        CHECK(strncmp(err.msg, shown, strlen(shown)) == 0, text);
        CHECK(contains(err.msg, "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]]"), text);
        if (invalid_ts[i].reason)
            CHECK(contains(err.msg, invalid_ts[i].reason), text);
        CHECK(memcmp(&ts, &before, sizeof ts) == 0, text);
    }
}

static void test_ts_messages(void)
{
    dr_error err = {0};
    dr_ts_arg ts;
    CU_ASSERT_EQUAL(dr_ts_arg_parse("2026-10-01T24:00", "--from", &ts, &err), DR_EUSAGE);
    CU_ASSERT(strncmp(err.msg, "invalid --from '2026-10-01T24:00': the hour must be 00 to 23; expected ",
                      70) == 0);

    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_ts_arg_parse("2026-02-30", NULL, &ts, &err), DR_EUSAGE);
    CU_ASSERT(strncmp(err.msg, "invalid timestamp '2026-02-30': 2026-02 has days 01 to 28", 57) == 0);

    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_ts_arg_parse(NULL, "--to", &ts, &err), DR_EUSAGE);
    CU_ASSERT(strncmp(err.msg, "invalid --to '': expected", 25) == 0);

    char text[201];
    memset(text, '1', 200);
    text[200] = '\0';
    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_ts_arg_parse(text, "--from", &ts, &err), DR_EUSAGE);
    CU_ASSERT(contains(err.msg, "111...'"));
    CU_ASSERT(strlen(err.msg) < 400);

    CU_ASSERT_EQUAL(dr_ts_arg_parse("bad", "--from", &ts, NULL), DR_EUSAGE);
}

void dr_test_register(void)
{
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"valid period specs", test_period_valid},
        {"relative period specs", test_period_relative},
        {"invalid period specs", test_period_invalid},
        {"period message text", test_period_message_exact},
        {"overlong period spec is truncated in the message", test_period_overlong},
        {"NULL spec and NULL error", test_period_null_arguments},
        {"ISO week 53 exactly in long ISO years", test_period_week53_years},
        {"unit interval and field", test_period_unit_text},
        {"valid timestamps", test_ts_valid},
        {"invalid timestamps", test_ts_invalid},
        {"timestamp messages", test_ts_messages},
    };
    CU_pSuite suite = CU_add_suite("period", NULL, NULL);
    for (size_t i = 0; suite && i < COUNT(tests); i++)
        CU_add_test(suite, tests[i].name, tests[i].fn);
}
