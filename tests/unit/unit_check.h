/*
 * Shared by the table-driven unit tests: CUnit checks that name the table row they were
 * about (the input, quoted safely, or the row number), so a failure is identifiable.
 */
#ifndef DR_UNIT_CHECK_H
#define DR_UNIT_CHECK_H

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* strlen that takes NULL (table rows may have no input) */
static inline size_t unit_len(const char *s)
{
    return s ? strlen(s) : 0;
}

static inline void unit_check_input(int ok, const char *cond, const char *input, size_t len,
                                    unsigned line, const char *file)
{
    char q[DR_QUOTE_SIZE], msg[512];
    snprintf(msg, sizeof msg, "%s  [input %s]", cond, dr_quote(input, input ? len : 0, q, sizeof q));
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, file, "", CU_FALSE);
}

static inline void unit_check_row(int ok, const char *cond, size_t row, unsigned line, const char *file)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s  [row %zu]", cond, row);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, file, "", CU_FALSE);
}

/** CHECK_INPUT(condition, input, length of input) */
#define CHECK_INPUT(cond, input, len) \
    unit_check_input((cond) != 0, #cond, (input), (len), __LINE__, __FILE__)

/** CHECK_ROW(condition, row number) */
#define CHECK_ROW(cond, row) unit_check_row((cond) != 0, #cond, (row), __LINE__, __FILE__)

#endif
