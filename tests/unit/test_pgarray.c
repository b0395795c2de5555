/* Unit tests for pgarray.c: PostgreSQL array literals (quoting, escaping, NULL, reuse). */
#include <string.h>

#include "unit_check.h"
#include "pgarray.h"

static const struct {
    const char *elems[4];
    size_t n;
    const char *literal;
} cases[] = {
    {{NULL}, 0, "{}"},
    {{"a"}, 1, "{\"a\"}"},
    {{"a", "b,c", "{d}"}, 3, "{\"a\",\"b,c\",\"{d}\"}"},
    {{"say \"hi\"", "back\\slash", ""}, 3, "{\"say \\\"hi\\\"\",\"back\\\\slash\",\"\"}"},
    {{"NULL", "  spaced  "}, 2, "{\"NULL\",\"  spaced  \"}"},
};

static void test_literals(void)
{
    for (size_t i = 0; i < COUNT(cases); i++) {
        dr_pgarray a = {0};
        for (size_t j = 0; j < cases[i].n; j++)
            CU_ASSERT_EQUAL(dr_pgarray_add_str(&a, cases[i].elems[j]), 0);
        const char *lit = dr_pgarray_end(&a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(lit);
        CU_ASSERT_STRING_EQUAL(lit, cases[i].literal);
        CU_ASSERT_EQUAL(a.n, cases[i].n);
        CU_ASSERT_STRING_EQUAL(dr_pgarray_end(&a), cases[i].literal); /* idempotent */
        dr_pgarray_free(&a);
    }
}

static void test_null_reuse_and_bytes(void)
{
    dr_pgarray a = {0};
    CU_ASSERT_EQUAL(dr_pgarray_add_str(&a, "x"), 0);
    CU_ASSERT_EQUAL(dr_pgarray_add_str(&a, NULL), 0);
    CU_ASSERT_STRING_EQUAL(dr_pgarray_end(&a), "{\"x\",NULL}");
    /* adding after the end starts a new literal */
    CU_ASSERT_EQUAL(dr_pgarray_add(&a, "ab\"cd", 3), 0); /* only the first 3 bytes */
    CU_ASSERT_STRING_EQUAL(dr_pgarray_end(&a), "{\"ab\\\"\"}");
    dr_pgarray_reset(&a);
    CU_ASSERT_STRING_EQUAL(dr_pgarray_end(&a), "{}");
    /* many elements: the buffer grows */
    dr_pgarray_reset(&a);
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(dr_pgarray_add_str(&a, "123e4567-e89b-12d3-a456-426614174000"), 0);
    const char *lit = dr_pgarray_end(&a);
    CU_ASSERT_EQUAL(strlen(lit), 2 + 1000 * 38 + 999);
    dr_pgarray_free(&a);
    dr_pgarray_free(&a); /* twice: harmless */
    dr_pgarray_free(NULL);
}

void dr_test_register(void)
{
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"literals", test_literals},
        {"NULL, reuse, byte lengths", test_null_reuse_and_bytes},
    };
    CU_pSuite suite = CU_add_suite("pgarray", NULL, NULL);
    for (size_t i = 0; suite && i < COUNT(tests); i++)
        CU_add_test(suite, tests[i].name, tests[i].fn);
}
