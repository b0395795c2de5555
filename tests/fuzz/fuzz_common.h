/*
 * Shared checks of the libFuzzer targets: a property that fails calls abort(), which
 * libFuzzer reports as a crash with the input that caused it.
 */
#ifndef DR_FUZZ_COMMON_H
#define DR_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);   \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* The input as a NUL-terminated string (what argv gives: it stops at the first NUL). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), 0 if malformed. */
static inline size_t fuzz_utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/*
 * A message shown to users must be one line of well-formed UTF-8 without control bytes,
 * NUL-terminated inside its buffer: whatever the input, values are quoted by dr_quote().
 */
static inline void fuzz_check_message(const dr_error *e, dr_status st)
{
    FUZZ_CHECK(st == DR_OK || e->status == st);
    if (st == DR_OK)
        return;
    size_t n = strnlen(e->msg, sizeof e->msg);
    FUZZ_CHECK(n < sizeof e->msg);
    FUZZ_CHECK(n > 0);
    const unsigned char *m = (const unsigned char *)e->msg;
    for (size_t i = 0; i < n;) {
        FUZZ_CHECK(m[i] >= 0x20 && m[i] != 0x7F);
        size_t len = fuzz_utf8_len(m + i, n - i);
        FUZZ_CHECK(len > 0);
        i += len;
    }
}

#endif
