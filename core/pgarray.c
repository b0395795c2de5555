/* PostgreSQL array literals built in memory: every element double-quoted, '"' and '\'
   escaped, NULL as the bare word NULL; the closing brace added by dr_pgarray_end. */
#include "pgarray.h"

#include <stdlib.h>
#include <string.h>

static int put(dr_pgarray *a, const char *s, size_t n)
{
    if (a->len + n + 2 > a->cap) { /* room for the closing brace and the NUL */
        size_t cap = (a->len + n + 2) * 2;
        char *g = realloc(a->p, cap);
        if (g == NULL)
            return -1;
        a->p = g;
        a->cap = cap;
    }
    memcpy(a->p + a->len, s, n);
    a->len += n;
    a->p[a->len] = '\0';
    return 0;
}

int dr_pgarray_add(dr_pgarray *a, const char *v, size_t len)
{
    if (a->len > 0 && a->p[a->len - 1] == '}') /* ended: a new literal */
        dr_pgarray_reset(a);
    if (put(a, a->n ? "," : "{", 1) < 0)
        return -1;
    a->n++;
    if (v == NULL)
        return put(a, "NULL", 4);
    if (put(a, "\"", 1) < 0)
        return -1;
    for (size_t start = 0, i = 0; i <= len; i++) {
        if (i < len && v[i] != '"' && v[i] != '\\')
            continue;
        if (put(a, v + start, i - start) < 0 || (i < len && put(a, "\\", 1) < 0))
            return -1;
        start = i;
    }
    return put(a, "\"", 1);
}

int dr_pgarray_add_str(dr_pgarray *a, const char *v)
{
    return dr_pgarray_add(a, v, v ? strlen(v) : 0);
}

const char *dr_pgarray_end(dr_pgarray *a)
{
    if (a->len > 0 && a->p[a->len - 1] == '}')
        return a->p;
    if (a->n == 0 && put(a, "{", 1) < 0)
        return NULL;
    if (put(a, "}", 1) < 0)
        return NULL;
    return a->p;
}

void dr_pgarray_reset(dr_pgarray *a)
{
    a->len = 0;
    a->n = 0;
    if (a->p)
        a->p[0] = '\0';
}

void dr_pgarray_free(dr_pgarray *a)
{
    if (a == NULL)
        return;
    free(a->p);
    *a = (dr_pgarray){0};
}
