/* Unit tests for status.c: exit codes, messages, first-error-wins, dr_quote(). */
#include <stdio.h>
#include <string.h>

#include "unit_check.h"
#include "status.h"

#define CHECK(cond, row) CHECK_ROW(cond, row)

static void test_exit_codes(void)
{
    static const struct {
        dr_status st;
        int signal;
        int code;
    } cases[] = {
        {DR_OK, 0, 0},
        {DR_EUSAGE, 0, 64},
        {DR_EDATA, 0, 65},
        {DR_EUNAVAILABLE, 0, 69},
        {DR_EINTERNAL, 0, 70},
        {DR_ENOMEM, 0, 70},
        {DR_ECANTCREATE, 0, 73},
        {DR_EIO, 0, 74},
        {DR_ETEMPFAIL, 0, 75},
        {DR_ECONFIG, 0, 78},
        {DR_EINTERRUPTED, 2, 130},  /* SIGINT */
        {DR_EINTERRUPTED, 15, 143}, /* SIGTERM */
        {DR_EINTERRUPTED, 0, 130},  /* signal unknown: as for Ctrl-C */
        {DR_EUSAGE, 15, 64},        /* the signal only matters when interrupted */
        {DR_OK, 2, 0},
        {DR_STATUS_COUNT, 0, 70},   /* out of range: an internal error */
        {(dr_status)-1, 0, 70},
        {(dr_status)1000, 0, 70},
    };
    for (size_t i = 0; i < COUNT(cases); i++)
        CHECK(dr_status_exit_code(cases[i].st, cases[i].signal) == cases[i].code, i);
}

static void test_strerror(void)
{
    for (int st = -2; st <= DR_STATUS_COUNT + 2; st++) {
        const char *text = dr_strerror((dr_status)st);
        CHECK(text != NULL, (size_t)(st + 2));
        CHECK(text && text[0] != '\0', (size_t)(st + 2));
    }
    CU_ASSERT_PTR_NOT_NULL(dr_strerror((dr_status)1000000));
    /* each real status has its own sentence */
    for (int a = 0; a < DR_STATUS_COUNT; a++)
        for (int b = a + 1; b < DR_STATUS_COUNT; b++)
            CHECK(strcmp(dr_strerror((dr_status)a), dr_strerror((dr_status)b)) != 0, (size_t)(a * 100 + b));
    CU_ASSERT_STRING_EQUAL(dr_strerror(DR_EUNAVAILABLE), "database unavailable");
}

static void test_fail_keeps_first(void)
{
    dr_error err;
    dr_error_clear(&err);
    CU_ASSERT_EQUAL(err.status, DR_OK);
    CU_ASSERT_STRING_EQUAL(err.msg, "");

    CU_ASSERT_EQUAL(dr_fail(&err, DR_EUSAGE, "invalid %s '%d'", "--limit", 7), DR_EUSAGE);
    CU_ASSERT_EQUAL(err.status, DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid --limit '7'");

    /* a second failure returns its own status but leaves the first error */
    CU_ASSERT_EQUAL(dr_fail(&err, DR_EIO, "write failed"), DR_EIO);
    CU_ASSERT_EQUAL(err.status, DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid --limit '7'");

    dr_error_clear(&err);
    CU_ASSERT_EQUAL(err.status, DR_OK);
    CU_ASSERT_EQUAL(err.signal, 0);
    CU_ASSERT_STRING_EQUAL(err.msg, "");
    CU_ASSERT_EQUAL(dr_fail(&err, DR_EIO, "write failed"), DR_EIO);
    CU_ASSERT_STRING_EQUAL(err.msg, "write failed");

    /* no error object: just the status */
    CU_ASSERT_EQUAL(dr_fail(NULL, DR_ECONFIG, "x"), DR_ECONFIG);
    dr_error_clear(NULL);
}

static void test_fail_long_message(void)
{
    char big[2000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    dr_error err = {0};
    CU_ASSERT_EQUAL(dr_fail(&err, DR_EDATA, "%s", big), DR_EDATA);
    CU_ASSERT_EQUAL(strlen(err.msg), sizeof err.msg - 1);
}

/* dr_quote with a DR_QUOTE_SIZE buffer: @p out between single quotes; @p len 0 means strlen(in). */
static const struct {
    const char *in;
    size_t len;
    const char *out;
} quote_cases[] = {
    {"abc", 0, "abc"},
    {"", 0, ""},
    {NULL, 5, ""},
    {"2026-13", 0, "2026-13"},
    {"it's", 0, "it's"},
    {"a\nb", 0, "a\\x0ab"},
    {"\t", 0, "\\x09"},
    {"\r\n", 0, "\\x0d\\x0a"},
    {"\x7f", 0, "\\x7f"},
    {"\x1b[31mred", 0, "\\x1b[31mred"},
    {"a\\b", 0, "a\\\\b"},
    {"\\x41", 0, "\\\\x41"}, /* a typed "\x41" cannot pass for an escape */
    {"a\0b", 3, "a\\x00b"},
    {"\xff", 0, "\\xff"},
    {"\xfe\xff", 0, "\\xfe\\xff"},
    {"\x80", 0, "\\x80"},
    {"M\xc3\xa4rz", 0, "M\xc3\xa4rz"},
    {"\xe2\x82\xac 5", 0, "\xe2\x82\xac 5"},
    {"\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80"},
    {"\xc2\xa0", 0, "\xc2\xa0"},
    {"\xc0\xaf", 0, "\\xc0\\xaf"},                   /* overlong '/' */
    {"\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf"},          /* overlong '/' */
    {"\xed\xa0\x80", 0, "\\xed\\xa0\\x80"},          /* surrogate */
    {"\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"}, /* above U+10FFFF */
    {"\xf5\x80\x80\x80", 0, "\\xf5\\x80\\x80\\x80"},
    {"\xe2\x82", 0, "\\xe2\\x82"},                   /* cut short */
    {"\xc3\xa4", 1, "\\xc3"},                        /* cut short by len */
    {"\xc3" "a", 0, "\\xc3" "a"},
    {"\xc2\x85", 0, "\\xc2\\x85"},                   /* NEL, a C1 control */
    {"\xc2\x9b" "31m", 0, "\\xc2\\x9b" "31m"},       /* CSI, a C1 control */
    {"\xe2\x80\xae" "txt.exe", 0, "\\xe2\\x80\\xae" "txt.exe"}, /* right-to-left override */
    {"\xe2\x81\xa6", 0, "\\xe2\\x81\\xa6"},          /* left-to-right isolate */
    {"\xe2\x80\xa8", 0, "\\xe2\\x80\\xa8"},          /* line separator */
    {"\xef\xbb\xbf" "x", 0, "\\xef\\xbb\\xbf" "x"},  /* BOM */
    {"\xd8\x9c", 0, "\\xd8\\x9c"},                   /* Arabic letter mark */
};

static void test_quote(void)
{
    for (size_t i = 0; i < COUNT(quote_cases); i++) {
        const char *in = quote_cases[i].in;
        size_t len = quote_cases[i].len ? quote_cases[i].len : in ? strlen(in) : 0;
        char buf[DR_QUOTE_SIZE], expect[128];
        snprintf(expect, sizeof expect, "'%s'", quote_cases[i].out);
        memset(buf, 'Z', sizeof buf);
        CHECK(dr_quote(in, len, buf, sizeof buf) == buf, i);
        CHECK(strcmp(buf, expect) == 0, i);
    }
}

/* @p fill_len copies of @p fill then @p tail in; out, in quotes: @p keep fill bytes then @p out_tail. */
static const struct {
    char fill;
    size_t fill_len;
    const char *tail;
    size_t keep;
    const char *out_tail;
} quote_cut_cases[] = {
    {'a', 60, "", 60, ""},
    {'a', 61, "", 60, "..."},
    {'a', 1000, "", 60, "..."},
    {'a', 56, "\n", 56, "\\x0a"},   /* 60 bytes shown: fits */
    {'a', 57, "\n", 57, "..."},     /* the escape is not split */
    {'a', 59, "\n", 59, "..."},
    {'a', 58, "\xc3\xa4", 58, "\xc3\xa4"},
    {'a', 59, "\xc3\xa4", 59, "..."}, /* nor is a UTF-8 character */
    {'a', 57, "\xf0\x9f\x98\x80", 57, "..."},
    {'a', 56, "\xf0\x9f\x98\x80", 56, "\xf0\x9f\x98\x80"},
    {'a', 59, "\\", 59, "..."},
    {'a', 58, "\\", 58, "\\\\"},
};

static void test_quote_truncation(void)
{
    for (size_t i = 0; i < COUNT(quote_cut_cases); i++) {
        char in[1100], expect[DR_QUOTE_SIZE + 8], buf[DR_QUOTE_SIZE];
        size_t n = quote_cut_cases[i].fill_len;
        memset(in, quote_cut_cases[i].fill, n);
        strcpy(in + n, quote_cut_cases[i].tail);
        expect[0] = '\'';
        memset(expect + 1, quote_cut_cases[i].fill, quote_cut_cases[i].keep);
        strcpy(expect + 1 + quote_cut_cases[i].keep, quote_cut_cases[i].out_tail);
        strcat(expect, "'");
        dr_quote(in, strlen(in), buf, sizeof buf);
        CHECK(strcmp(buf, expect) == 0, i);
    }

    /* 300 invalid bytes: 15 escapes fill the 60 bytes */
    char in[300], buf[DR_QUOTE_SIZE], expect[DR_QUOTE_SIZE] = "'";
    memset(in, 0xff, sizeof in);
    for (int i = 0; i < 15; i++)
        strcat(expect, "\\xff");
    strcat(expect, "...'");
    CU_ASSERT_STRING_EQUAL(dr_quote(in, sizeof in, buf, sizeof buf), expect);
}

static void test_quote_small_buffers(void)
{
    static const struct {
        const char *in;
        size_t bufsize;
        const char *out;
    } cases[] = {
        {"abcdefghij", 10, "'abcd...'"},
        {"abcdefg", 10, "'abcdefg'"},
        {"abc", 6, "'abc'"},
        {"abcd", 6, "'...'"},
        {"a\nbcdefgh", 11, "'a\\x0a...'"},
        {"a\nbcdefgh", 10, "'a...'"},
        {"\n", 6, "'...'"},
        {"\n", 7, "'\\x0a'"},
        {"abcd", 4, "'.'"},
        {"abcd", 3, "''"},
        {"", 3, "''"},
        {"abcd", 2, ""}, /* not even room for the quotes */
        {"abcd", 1, ""},
        {"a", 200, "'a'"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char buf[256];
        memset(buf, 'Z', sizeof buf);
        const char *got = dr_quote(cases[i].in, strlen(cases[i].in), buf, cases[i].bufsize);
        CHECK(got == buf, i);
        CHECK(strcmp(buf, cases[i].out) == 0, i);
        CHECK(buf[cases[i].bufsize] == 'Z', i); /* nothing written past bufsize */
    }

    /* no room at all: nothing written */
    char buf[4] = "ZZZ";
    CU_ASSERT_PTR_EQUAL(dr_quote("abc", 3, buf, 0), buf);
    CU_ASSERT_STRING_EQUAL(buf, "ZZZ");
    CU_ASSERT_PTR_NULL(dr_quote("abc", 3, NULL, 10));
}

void dr_test_register(void)
{
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"exit codes", test_exit_codes},
        {"dr_strerror is never NULL", test_strerror},
        {"dr_fail keeps the first error", test_fail_keeps_first},
        {"dr_fail truncates long messages", test_fail_long_message},
        {"dr_quote escapes", test_quote},
        {"dr_quote truncation", test_quote_truncation},
        {"dr_quote small buffers", test_quote_small_buffers},
    };
    CU_pSuite suite = CU_add_suite("status", NULL, NULL);
    for (size_t i = 0; suite && i < COUNT(tests); i++)
        CU_add_test(suite, tests[i].name, tests[i].fn);
}
