/* SQL scripts to statements: split on top-level ';' and drop comments with PostgreSQL's
   lexical rules (quotes, E'' escapes, dollar quoting, nested block comments). */
#include "sqltext.h"

#include <stdlib.h>
#include <string.h>

/* One pass over a script; the statement being built lives in buf[0..o). */
typedef struct scan {
    const char *in;
    size_t len, i;
    size_t line;       /* 1-based input line at in[i] */
    char *buf;
    size_t o;
    size_t line_start; /* where the current output line starts in buf */
    int line_comment;  /* a comment was removed from the current output line */
    int line_content;  /* the current output line holds something besides blanks */
    size_t stmt_line;  /* input line of the statement's first character, 0 before it */
    size_t depth;      /* open parentheses */
    size_t paren_line; /* line of the outermost open parenthesis */
    size_t word;       /* identifier characters just read, unquoted (0 after anything else) */
    dr_sqltext *out;
    size_t cap;
} scan;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A character that continues an identifier (PostgreSQL's ident_cont, '$' included). */
static int is_ident(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
           u == '$' || u >= 0x80;
}

/* A character that may start (tag_start) or continue a dollar-quote tag. */
static int is_tag(char c, int start)
{
    return is_ident(c) && c != '$' && !(start && c >= '0' && c <= '9');
}

static int next_is(const scan *s, size_t at, char c)
{
    return at < s->len && s->in[at] == c;
}

/* Copy one input character to the statement; @p quoted: it is part of a quoted token. */
static void emit(scan *s, char c, int quoted)
{
    if (quoted || !is_space(c)) {
        s->line_content = 1;
        if (s->stmt_line == 0)
            s->stmt_line = s->line;
    }
    s->buf[s->o++] = c;
    if (c == '\n') {
        s->line_start = s->o;
        s->line_comment = 0;
        s->line_content = quoted;
    }
}

/* A line break outside quotes: a line left holding only comments goes away entirely. */
static void newline(scan *s)
{
    if (s->line_comment && !s->line_content) {
        s->o = s->line_start;
        s->line_comment = 0;
    } else {
        emit(s, '\n', 0);
    }
}

/* Append the statement in buf, trimmed, unless it is empty; start the next one. */
static dr_status finish(scan *s, dr_error *err)
{
    size_t a = 0, b = s->o;
    while (a < b && is_space(s->buf[a]))
        a++;
    while (b > a && is_space(s->buf[b - 1]))
        b--;
    if (b > a) {
        if (s->out->count == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 8;
            dr_sql_stmt *grown = realloc(s->out->stmts, cap * sizeof *grown);
            if (grown == NULL)
                return dr_fail(err, DR_ENOMEM, "out of memory splitting a SQL script");
            s->out->stmts = grown;
            s->cap = cap;
        }
        char *text = malloc(b - a + 1);
        if (text == NULL)
            return dr_fail(err, DR_ENOMEM, "out of memory splitting a SQL script");
        memcpy(text, s->buf + a, b - a);
        text[b - a] = '\0';
        s->out->stmts[s->out->count].text = text;
        s->out->stmts[s->out->count].line = s->stmt_line;
        s->out->count++;
    }
    s->o = s->line_start = 0;
    s->line_comment = s->line_content = 0;
    s->stmt_line = 0;
    return DR_OK;
}

/* '…', E'…' (@p escapes: a backslash takes the next character) or "…" from in[i]. */
static dr_status quoted(scan *s, char q, int escapes, dr_error *err)
{
    size_t start = s->line;
    emit(s, s->in[s->i++], 1);
    while (s->i < s->len) {
        char c = s->in[s->i++];
        emit(s, c, 1);
        if (c == '\n')
            s->line++;
        if (escapes && c == '\\' && s->i < s->len) {
            c = s->in[s->i++];
            emit(s, c, 1);
            if (c == '\n')
                s->line++;
        } else if (c == q) {
            if (!next_is(s, s->i, q))
                return DR_OK;
            emit(s, s->in[s->i++], 1); /* '' or "" stands for one quote */
        }
    }
    if (q == '"')
        return dr_fail(err, DR_ECONFIG, "unterminated quoted identifier (\"...\") starting at line %zu: "
                       "expected a closing \"", start);
    return dr_fail(err, DR_ECONFIG, "unterminated %s starting at line %zu: expected a closing '",
                   escapes ? "escape string (E'...')" : "quoted string ('...')", start);
}

/*
 * in[i] is '$': a dollar-quoted body if a tag ($$, $name$) starts here, copied whole;
 * otherwise (a parameter such as $1, or '$' inside an identifier) just the '$'.
 */
static dr_status dollar(scan *s, dr_error *err)
{
    size_t j = s->i + 1;
    if (s->word == 0) {
        if (j < s->len && is_tag(s->in[j], 1))
            while (j < s->len && is_tag(s->in[j], 0))
                j++;
    } else {
        j = s->len; /* inside an identifier, '$' is one of its characters */
    }
    if (j >= s->len || s->in[j] != '$') {
        s->word += s->word > 0; /* a '$' that starts nothing is a parameter's ($1) */
        emit(s, s->in[s->i++], 0);
        return DR_OK;
    }
    const char *tag = s->in + s->i;
    size_t tlen = j + 1 - s->i, start = s->line;
    s->word = 0;
    for (size_t k = 0; k < tlen; k++)
        emit(s, s->in[s->i++], 1);
    while (s->i < s->len) {
        if (s->in[s->i] == '$' && s->len - s->i >= tlen && memcmp(s->in + s->i, tag, tlen) == 0) {
            for (size_t k = 0; k < tlen; k++)
                emit(s, s->in[s->i++], 1);
            return DR_OK;
        }
        if (s->in[s->i] == '\n')
            s->line++;
        emit(s, s->in[s->i++], 1);
    }
    char q[DR_QUOTE_SIZE];
    return dr_fail(err, DR_ECONFIG, "unterminated dollar-quoted string starting at line %zu: "
                   "expected a closing %s", start, dr_quote(tag, tlen, q, sizeof q));
}

/* A block comment from in[i] (nesting, as in PostgreSQL); it becomes one space where it
   separated two tokens, and nothing next to a blank. */
static dr_status block_comment(scan *s, dr_error *err)
{
    size_t start = s->line, level = 0;
    do {
        if (s->i + 1 >= s->len)
            return dr_fail(err, DR_ECONFIG, "unterminated /* comment starting at line %zu: "
                           "expected */ (comments nest: %zu still open)", start, level);
        if (s->in[s->i] == '/' && s->in[s->i + 1] == '*') {
            level++;
            s->i += 2;
        } else if (s->in[s->i] == '*' && s->in[s->i + 1] == '/') {
            level--;
            s->i += 2;
        } else {
            if (s->in[s->i] == '\n')
                s->line++;
            s->i++;
        }
    } while (level > 0);
    s->line_comment = 1;
    if (s->o > 0 && !is_space(s->buf[s->o - 1]) && s->i < s->len && !is_space(s->in[s->i]))
        s->buf[s->o++] = ' ';
    return DR_OK;
}

/* A "--" comment from in[i] to the end of the line; the blanks before it go too. */
static void line_comment(scan *s)
{
    while (s->o > s->line_start && (s->buf[s->o - 1] == ' ' || s->buf[s->o - 1] == '\t'))
        s->o--;
    while (s->i < s->len && s->in[s->i] != '\n' && s->in[s->i] != '\r')
        s->i++;
    s->line_comment = 1;
}

dr_status dr_sqltext_split(const char *text, size_t len, dr_sqltext *out, dr_error *err)
{
    scan s = {.in = text, .len = len, .line = 1, .out = out};
    dr_status st = DR_OK;
    out->stmts = NULL;
    out->count = 0;
    if (text == NULL)
        len = s.len = 0;
    const char *nul = len ? memchr(text, '\0', len) : NULL;
    if (nul != NULL) {
        size_t line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        st = dr_fail(err, DR_ECONFIG, "a NUL byte at line %zu of a SQL script: expected text", line);
        goto cleanup;
    }
    if ((s.buf = malloc(len + 1)) == NULL) {
        st = dr_fail(err, DR_ENOMEM, "out of memory splitting a SQL script");
        goto cleanup;
    }
    while (st == DR_OK && s.i < len) {
        char c = text[s.i];
        size_t word = s.word;
        s.word = 0;
        if (c == '-' && next_is(&s, s.i + 1, '-')) {
            line_comment(&s);
        } else if (c == '/' && next_is(&s, s.i + 1, '*')) {
            st = block_comment(&s, err);
        } else if (c == '\'') {
            /* E'...' (or e'...'): the E alone, not the end of a longer word */
            int e = word == 1 && (text[s.i - 1] == 'E' || text[s.i - 1] == 'e');
            st = quoted(&s, '\'', e, err);
        } else if (c == '"') {
            st = quoted(&s, '"', 0, err);
        } else if (c == '$') {
            s.word = word;
            st = dollar(&s, err);
        } else if (c == '\n') {
            s.i++;
            newline(&s);
            s.line++;
        } else if (c == ';' && s.depth == 0) {
            s.i++;
            st = finish(&s, err);
        } else {
            if (c == '(' && s.depth++ == 0)
                s.paren_line = s.line;
            if (c == ')' && s.depth-- == 0)
                st = dr_fail(err, DR_ECONFIG, "a ')' at line %zu has no matching '('", s.line);
            s.word = is_ident(c) ? word + 1 : 0;
            s.i++;
            emit(&s, c, 0);
        }
    }
    if (st == DR_OK && s.depth > 0)
        st = dr_fail(err, DR_ECONFIG, "the '(' at line %zu is never closed: expected a ')'", s.paren_line);
    if (st == DR_OK) {
        if (s.line_comment && !s.line_content)
            s.o = s.line_start;
        st = finish(&s, err);
    }
cleanup:
    free(s.buf);
    if (st != DR_OK)
        dr_sqltext_free(out);
    return st;
}

void dr_sqltext_free(dr_sqltext *s)
{
    if (s == NULL)
        return;
    for (size_t k = 0; k < s->count; k++)
        free(s->stmts[k].text);
    free(s->stmts);
    s->stmts = NULL;
    s->count = 0;
}
