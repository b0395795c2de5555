/*
 * Output file names from a template such as "{report}_{tenant}_{period}.{ext}".
 *
 * The result is checked after expansion, because token values (a tenant,
 * a period label) reach the file system too and must not move the file
 * out of the output directory.
 */
#include "name_template.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* NAME_MAX on the usual file systems. */
#define NAME_MAX_BYTES 255

#define KNOWN_TOKENS "{report} {tenant} {period} {from} {to} {run_id} {generated} {ext}"

static const struct {
    const char *name;
    size_t member; /* offset of the value in dr_name_vars */
} name_tokens[] = {
    {"report", offsetof(dr_name_vars, report)},
    {"tenant", offsetof(dr_name_vars, tenant)},
    {"period", offsetof(dr_name_vars, period)},
    {"from", offsetof(dr_name_vars, from)},
    {"to", offsetof(dr_name_vars, to)},
    {"run_id", offsetof(dr_name_vars, run_id)},
    {"generated", offsetof(dr_name_vars, generated)},
    {"ext", offsetof(dr_name_vars, ext)},
};

/* The expansion so far: text beyond the buffer is counted, not stored. */
typedef struct expansion {
    char text[NAME_MAX_BYTES + 1];
    size_t len;
    int with_values; /* 0: every token expands to "x", a harmless stand-in */
} expansion;

static void append(expansion *x, const char *s, size_t n)
{
    if (x->len < sizeof x->text - 1) {
        size_t room = sizeof x->text - 1 - x->len;
        memcpy(x->text + x->len, s, n < room ? n : room);
    }
    x->len += n;
}

/* Index of the token named by @p name (@p len bytes), or -1. */
static int find_token(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof name_tokens / sizeof name_tokens[0]; i++) {
        if (strlen(name_tokens[i].name) == len && memcmp(name_tokens[i].name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

static const char *token_value(const dr_name_vars *vars, int token)
{
    if (vars == NULL)
        return NULL;
    return *(const char *const *)((const char *)vars + name_tokens[token].member);
}

static dr_status name_fail(dr_error *err, const char *tmpl, size_t tmpl_len, const char *reason)
{
    char q[DR_QUOTE_SIZE];
    return dr_fail(err, DR_EUSAGE, "invalid --name %s: %s", dr_quote(tmpl, tmpl_len, q, sizeof q),
                   reason);
}

/* A refusal of the expanded name @p x, shown too when it is the values that are at fault. */
static dr_status result_fail(dr_error *err, const char *tmpl, size_t tmpl_len, const expansion *x,
                             int values_at_fault, const char *reason)
{
    if (!values_at_fault)
        return name_fail(err, tmpl, tmpl_len, reason);
    char q[DR_QUOTE_SIZE], r[DR_QUOTE_SIZE];
    return dr_fail(err, DR_EUSAGE, "invalid --name %s: %s (it expands to %s)",
                   dr_quote(tmpl, tmpl_len, q, sizeof q), reason,
                   dr_quote(x->text, strlen(x->text), r, sizeof r));
}

/* Substitute the tokens of @p tmpl into @p x; template errors go to @p err. */
static dr_status expand(const char *tmpl, size_t tmpl_len, const dr_name_vars *vars, expansion *x,
                        dr_error *err)
{
    char msg[2 * DR_QUOTE_SIZE + sizeof KNOWN_TOKENS + 64];
    char q[DR_QUOTE_SIZE];

    for (size_t i = 0; i < tmpl_len; i++) {
        if (tmpl[i] == '}') {
            snprintf(msg, sizeof msg, "'}' at position %zu has no matching '{'", i + 1);
            return name_fail(err, tmpl, tmpl_len, msg);
        }
        if (tmpl[i] != '{') {
            append(x, tmpl + i, 1);
            continue;
        }
        size_t end = i + 1;
        while (end < tmpl_len && tmpl[end] != '}' && tmpl[end] != '{')
            end++;
        if (end == tmpl_len || tmpl[end] == '{') {
            snprintf(msg, sizeof msg, "'{' at position %zu has no matching '}'", i + 1);
            return name_fail(err, tmpl, tmpl_len, msg);
        }
        int token = find_token(tmpl + i + 1, end - i - 1);
        if (token < 0) {
            snprintf(msg, sizeof msg, "unknown token %s; known tokens are " KNOWN_TOKENS,
                     dr_quote(tmpl + i, end - i + 1, q, sizeof q));
            return name_fail(err, tmpl, tmpl_len, msg);
        }
        const char *value = token_value(vars, token);
        if (value == NULL) {
            snprintf(msg, sizeof msg, "the token {%s} has no value for this command",
                     name_tokens[token].name);
            return name_fail(err, tmpl, tmpl_len, msg);
        }
        if (x->with_values)
            append(x, value, strlen(value));
        else
            append(x, "x", 1);
        i = end;
    }
    return DR_OK;
}

static int has_control_byte(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    }
    return 0;
}

/* Why the expanded name @p x is not one plain file name, or NULL. */
static const char *name_problem(const expansion *x, size_t out_size, char *buf, size_t size)
{
    if (x->len == 0)
        return "the file name is empty";
    if (x->len > NAME_MAX_BYTES)
        return "the file name would be longer than 255 bytes";
    if (x->len >= out_size) {
        snprintf(buf, size, "the file name would be longer than %zu bytes",
                 out_size > 0 ? out_size - 1 : 0);
        return buf;
    }
    if (memchr(x->text, '/', x->len) || strcmp(x->text, ".") == 0 || strcmp(x->text, "..") == 0)
        return "the file name must stay inside the output directory (no '/' or '..')";
    if (memchr(x->text, '\\', x->len))
        return "the file name must not contain '\\' (a directory separator on Windows)";
    if (has_control_byte(x->text, x->len))
        return "the file name must not contain control characters";
    if (x->text[0] == '.')
        return "the file name must not start with '.' (it would be hidden)";
    return NULL;
}

dr_status dr_name_expand(const char *tmpl, size_t tmpl_len, const dr_name_vars *vars, char *out,
                         size_t out_size, dr_error *err)
{
    expansion x, bare;
    char buf[64], bare_buf[64];

    if (out == NULL)
        out_size = 0;
    if (out_size > 0)
        out[0] = '\0';
    if (tmpl == NULL)
        tmpl_len = 0;
    if (tmpl_len > 0 && memchr(tmpl, '\0', tmpl_len) != NULL)
        return name_fail(err, tmpl, tmpl_len, "the template contains a NUL byte");

    memset(&x, 0, sizeof x);
    x.with_values = 1;
    dr_status st = expand(tmpl, tmpl_len, vars, &x, err);
    if (st != DR_OK)
        return st;

    const char *reason = name_problem(&x, out_size, buf, sizeof buf);
    if (reason != NULL) {
        /* Does the template's own text have this problem, or do the values bring it? */
        memset(&bare, 0, sizeof bare);
        (void)expand(tmpl, tmpl_len, vars, &bare, NULL); /* cannot fail: it just succeeded */
        const char *bare_reason = name_problem(&bare, out_size, bare_buf, sizeof bare_buf);
        int values_at_fault = bare_reason == NULL || strcmp(bare_reason, reason) != 0;
        return result_fail(err, tmpl, tmpl_len, &x, values_at_fault, reason);
    }
    memcpy(out, x.text, x.len + 1);
    return DR_OK;
}
