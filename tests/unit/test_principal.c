/* Unit tests for principal.c: UUIDs and USER: / GROUP: principals. */
#include <stdio.h>
#include <string.h>

#include "unit_check.h"
#include "principal.h"

#define CHECK(cond, input) CHECK_INPUT(cond, input, unit_len(input))

#define EXAMPLE "123e4567-e89b-12d3-a456-426614174000"

static const struct {
    const char *text;
    const char *canonical;
} valid_uuids[] = {
    {EXAMPLE, EXAMPLE},
    {"123E4567-E89B-12D3-A456-426614174000", EXAMPLE},
    {"123e4567-E89b-12D3-a456-426614174000", EXAMPLE},
    {"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
    {"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "ffffffff-ffff-ffff-ffff-ffffffffffff"},
    {"abcdefAB-CDEF-0123-4567-89abcdef0123", "abcdefab-cdef-0123-4567-89abcdef0123"},
};

static void test_uuid_valid(void)
{
    for (size_t i = 0; i < COUNT(valid_uuids); i++) {
        const char *text = valid_uuids[i].text;
        dr_error err = {0};
        char out[DR_UUID_LEN + 1];
        memset(out, 'x', sizeof out);
        CHECK(dr_uuid_parse(text, "--tenant", out, &err) == DR_OK, text);
        CHECK(err.status == DR_OK, text);
        CHECK(strcmp(out, valid_uuids[i].canonical) == 0, text);
    }
}

/* @p shown: the value as the message must quote it. */
static const struct {
    const char *text;
    const char *shown;
} invalid_uuids[] = {
    {"", "''"},
    {"xyz", "'xyz'"},
    {"{" EXAMPLE "}", "'{" EXAMPLE "}'"},
    {"123e4567e89b12d3a456426614174000", "'123e4567e89b12d3a456426614174000'"},
    {EXAMPLE "0", "'" EXAMPLE "0'"},
    {EXAMPLE " ", "'" EXAMPLE " '"},
    {" " EXAMPLE, "' " EXAMPLE "'"},
    {EXAMPLE "\n", "'" EXAMPLE "\\x0a'"},
    {"123e4567-e89b-12d3-a456-42661417400", "'123e4567-e89b-12d3-a456-42661417400'"},
    {"123e4567-e89b-12d3-a456-4266141740000", "'123e4567-e89b-12d3-a456-4266141740000'"},
    {"123e4567-e89b-12d3-a456_426614174000", "'123e4567-e89b-12d3-a456_426614174000'"},
    {"123e4567e-89b-12d3-a456-426614174000", "'123e4567e-89b-12d3-a456-426614174000'"},
    {"g23e4567-e89b-12d3-a456-426614174000", "'g23e4567-e89b-12d3-a456-426614174000'"},
    {"123e4567-e89b-12d3-a456-42661417400g", "'123e4567-e89b-12d3-a456-42661417400g'"},
    {"123e4567--89b-12d3-a456-426614174000", "'123e4567--89b-12d3-a456-426614174000'"},
    {"urn:uuid:" EXAMPLE, "'urn:uuid:" EXAMPLE "'"},
    {"123e4567-e89b-12d3-a456-42661417400\xff", "'123e4567-e89b-12d3-a456-42661417400\\xff'"},
    {"\xef\xbc\x91\xef\xbc\x92", "'\xef\xbc\x91\xef\xbc\x92'"}, /* full-width digits */
};

static void test_uuid_invalid(void)
{
    for (size_t i = 0; i < COUNT(invalid_uuids); i++) {
        const char *text = invalid_uuids[i].text;
        char expect[256];
        snprintf(expect, sizeof expect, "invalid --tenant %s: expected a UUID like " EXAMPLE,
                 invalid_uuids[i].shown);
        dr_error err = {0};
        char out[DR_UUID_LEN + 1];
        memset(out, 'x', sizeof out);
        CHECK(dr_uuid_parse(text, "--tenant", out, &err) == DR_EUSAGE, text);
        CHECK(err.status == DR_EUSAGE, text);
        CHECK(strcmp(err.msg, expect) == 0, text);
        CHECK(out[0] == '\0', text);
    }
}

static void test_uuid_messages(void)
{
    dr_error err = {0};
    char out[DR_UUID_LEN + 1];
    CU_ASSERT_EQUAL(dr_uuid_parse("xyz", "--tenant", out, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid --tenant 'xyz': expected a UUID like " EXAMPLE);

    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_uuid_parse("nope", "--run-id", out, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid --run-id 'nope': expected a UUID like " EXAMPLE);

    dr_error_clear(&err);
    CU_ASSERT_EQUAL(dr_uuid_parse(NULL, NULL, out, &err), DR_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.msg, "invalid UUID '': expected a UUID like " EXAMPLE);

    CU_ASSERT_EQUAL(dr_uuid_parse("nope", "--tenant", out, NULL), DR_EUSAGE);
}

static const struct {
    const char *text;
    dr_principal_type type;
    const char *id;
} valid_principals[] = {
    {"USER:" EXAMPLE, DR_PRINCIPAL_USER, EXAMPLE},
    {"GROUP:" EXAMPLE, DR_PRINCIPAL_GROUP, EXAMPLE},
    {"user:" EXAMPLE, DR_PRINCIPAL_USER, EXAMPLE},
    {"group:" EXAMPLE, DR_PRINCIPAL_GROUP, EXAMPLE},
    {"User:" EXAMPLE, DR_PRINCIPAL_USER, EXAMPLE},
    {"gRoUp:" EXAMPLE, DR_PRINCIPAL_GROUP, EXAMPLE},
    {"USER:123E4567-E89B-12D3-A456-426614174000", DR_PRINCIPAL_USER, EXAMPLE},
};

static void test_principal_valid(void)
{
    for (size_t i = 0; i < COUNT(valid_principals); i++) {
        const char *text = valid_principals[i].text;
        dr_error err = {0};
        dr_principal p;
        memset(&p, 0x5a, sizeof p);
        CHECK(dr_principal_parse(text, &p, &err) == DR_OK, text);
        CHECK(err.status == DR_OK, text);
        CHECK(p.type == valid_principals[i].type, text);
        CHECK(strcmp(p.id, valid_principals[i].id) == 0, text);
    }
}

static const char *const invalid_principals[] = {
    "",
    "USER",
    "USER:",
    "GROUP:",
    EXAMPLE,
    ":" EXAMPLE,
    "USR:" EXAMPLE,
    "USERS:" EXAMPLE,
    "ROLE:" EXAMPLE,
    "ALL:" EXAMPLE,
    "USER " EXAMPLE,
    "USER=" EXAMPLE,
    "USER::" EXAMPLE,
    "USER: " EXAMPLE,
    " USER:" EXAMPLE,
    "USER:" EXAMPLE " ",
    "USER:" EXAMPLE ",GROUP:" EXAMPLE,
    "USER:xyz",
    "USER:{" EXAMPLE "}",
    "GROUP:123e4567e89b12d3a456426614174000",
    "\xc4\xb0USER:" EXAMPLE, /* dotted capital I: not ASCII, not a type */
    "US\xff" "ER:" EXAMPLE,
};

static void test_principal_invalid(void)
{
    for (size_t i = 0; i < COUNT(invalid_principals); i++) {
        const char *text = invalid_principals[i];
        char q[DR_QUOTE_SIZE], expect[256];
        snprintf(expect, sizeof expect,
                 "invalid --principal %s: expected USER:<uuid> or GROUP:<uuid>, e.g. USER:" EXAMPLE,
                 dr_quote(text, strlen(text), q, sizeof q));
        dr_error err = {0};
        dr_principal p;
        memset(&p, 0x5a, sizeof p);
        dr_principal before = p;
        CHECK(dr_principal_parse(text, &p, &err) == DR_EUSAGE, text);
        CHECK(err.status == DR_EUSAGE, text);
        CHECK(strcmp(err.msg, expect) == 0, text);
        CHECK(memcmp(&p, &before, sizeof p) == 0, text);
    }
}

static void test_principal_misc(void)
{
    dr_error err = {0};
    dr_principal p;
    CU_ASSERT_EQUAL(dr_principal_parse(NULL, &p, &err), DR_EUSAGE);
    CU_ASSERT(strncmp(err.msg, "invalid --principal '': expected USER:<uuid> or GROUP:<uuid>", 60) == 0);
    CU_ASSERT_EQUAL(dr_principal_parse("USER:x", &p, NULL), DR_EUSAGE);

    CU_ASSERT_STRING_EQUAL(dr_principal_type_name(DR_PRINCIPAL_USER), "USER");
    CU_ASSERT_STRING_EQUAL(dr_principal_type_name(DR_PRINCIPAL_GROUP), "GROUP");
    CU_ASSERT_PTR_NOT_NULL(dr_principal_type_name((dr_principal_type)7));

    /* the name of a parsed type parses back to the same principal */
    CU_ASSERT_EQUAL(dr_principal_parse("group:" EXAMPLE, &p, &err), DR_OK);
    char text[64];
    snprintf(text, sizeof text, "%s:%s", dr_principal_type_name(p.type), p.id);
    CU_ASSERT_STRING_EQUAL(text, "GROUP:" EXAMPLE);
}

/* Random run ids: canonical lower-case version 4 UUIDs (what dr_uuid_parse accepts as
   they are), the variant bits of RFC 4122, no two alike. */
static void test_uuid_random(void)
{
    char seen[64][DR_UUID_LEN + 1];
    for (size_t i = 0; i < COUNT(seen); i++) {
        dr_error err = {0};
        char canonical[DR_UUID_LEN + 1];
        CU_ASSERT_EQUAL(dr_uuid_random(seen[i], &err), DR_OK);
        CU_ASSERT_EQUAL(strlen(seen[i]), DR_UUID_LEN);
        CU_ASSERT_EQUAL(dr_uuid_parse(seen[i], NULL, canonical, &err), DR_OK);
        CU_ASSERT_STRING_EQUAL(canonical, seen[i]);
        CU_ASSERT_EQUAL(seen[i][14], '4');
        CU_ASSERT_PTR_NOT_NULL(strchr("89ab", seen[i][19]));
        for (size_t j = 0; j < i; j++)
            CU_ASSERT_STRING_NOT_EQUAL(seen[i], seen[j]);
    }
}

void dr_test_register(void)
{
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"valid UUIDs", test_uuid_valid},
        {"invalid UUIDs", test_uuid_invalid},
        {"UUID messages", test_uuid_messages},
        {"valid principals", test_principal_valid},
        {"invalid principals", test_principal_invalid},
        {"NULL input and type names", test_principal_misc},
        {"random UUIDs", test_uuid_random},
    };
    CU_pSuite suite = CU_add_suite("principal", NULL, NULL);
    for (size_t i = 0; suite && i < COUNT(tests); i++)
        CU_add_test(suite, tests[i].name, tests[i].fn);
}
