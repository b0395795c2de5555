/**
 * @file sqltext.h
 * @brief Split a SQL script into statements and remove its comments, with PostgreSQL's
 *        lexical rules; one rule for migrations (at run time) and embedded statements
 *        (at build time, core/tools/embed_sql.c).
 */
#ifndef DR_SQLTEXT_H
#define DR_SQLTEXT_H

#include <stddef.h>

#include "status.h"

/** One statement of a script. */
typedef struct dr_sql_stmt {
    char *text;  /**< the statement, NUL-terminated, without comments, trimmed, no ';' */
    size_t line; /**< 1-based line of the script where the statement starts */
} dr_sql_stmt;

/** The statements of a script, in order. Free with dr_sqltext_free(). */
typedef struct dr_sqltext {
    dr_sql_stmt *stmts;
    size_t count;
} dr_sqltext;

/**
 * Split @p len bytes of @p text into statements on each ';' that is outside quotes,
 * comments and parentheses, and remove the comments, as PostgreSQL reads them:
 * `-- …` to the end of the line and slash-star … star-slash blocks (nesting), but never
 * inside '…' strings ('' escapes), E'…' strings (backslash escapes too), "…" identifiers or
 * $tag$…$tag$ bodies ($$, $fn$; `$1` is a parameter, not a tag).
 *
 * The text is otherwise kept as written: a line that held only comments disappears, a
 * comment after code goes with the blanks before it (its line break stays), and a
 * comment between two tokens becomes one space, so tokens never glue together. Each
 * statement is trimmed of surrounding white space; empty statements are skipped.
 * This is a pure function: no I/O, no global state.
 *
 * @param text  the script (need not be NUL-terminated; a NUL byte in it is an error)
 * @param len   its length in bytes
 * @param out   receives the statements (count 0 for a script of only comments); on
 *              failure it is left empty
 * @param err   receives one sentence naming the problem and its line
 * @return DR_OK; DR_ECONFIG for an unterminated string, identifier, dollar quote or
 *         comment, unbalanced parentheses or a NUL byte; DR_ENOMEM
 */
dr_status dr_sqltext_split(const char *text, size_t len, dr_sqltext *out, dr_error *err);

/** Free the statements of @p s and leave it empty. NULL-safe. */
void dr_sqltext_free(dr_sqltext *s);

#endif
