/**
 * @file pgarray.h
 * @brief PostgreSQL array literals built in memory ("{"a","b\"c"}"), to send many values
 *        as one bound text parameter (a batch of tenants, runs or names).
 */
#ifndef DR_PGARRAY_H
#define DR_PGARRAY_H

#include <stddef.h>

/** A growing array literal; zero-initialised it is empty. */
typedef struct dr_pgarray {
    char *p;
    size_t len, cap;
    size_t n; /**< elements added */
} dr_pgarray;

/** Append @p v (@p len bytes; NULL: an SQL NULL element), quoted and escaped. -1: out of memory. */
int dr_pgarray_add(dr_pgarray *a, const char *v, size_t len);

/** Append the NUL-terminated @p v (NULL: an SQL NULL element). -1: out of memory. */
int dr_pgarray_add_str(dr_pgarray *a, const char *v);

/** The literal with its closing brace ("{}" when empty); NULL when out of memory. Adding
    after this starts a new literal. */
const char *dr_pgarray_end(dr_pgarray *a);

/** Forget the elements, keep the memory. */
void dr_pgarray_reset(dr_pgarray *a);

/** Free the memory; NULL-safe. */
void dr_pgarray_free(dr_pgarray *a);

#endif
