/**
 * @file odbc.h
 * @brief The only module that talks ODBC: connect, run statements with bound
 *        text parameters, stream results with row arrays, turn diagnostics into
 *        one message and a status.
 *
 * Every value reaches the database as a bound parameter (SQLBindParameter).
 * All data comes back as text (SQL_C_CHAR): numerics keep every digit, and
 * timestamps are formatted in SQL (ODBC has no timestamptz, see docs/storage.md).
 */
#ifndef DR_ODBC_H
#define DR_ODBC_H

#include <stddef.h>

#include "status.h"

typedef struct dr_db dr_db;         /**< a connection, autocommit off */
typedef struct dr_cursor dr_cursor; /**< an open result being fetched */

/**
 * Connect with an ODBC connection string ("Driver=...;Server=...;" or "DSN=x;").
 * Turns autocommit off and sets the session TimeZone to UTC.
 * @return DR_OK, DR_EUNAVAILABLE (refused, unreachable, authentication), or
 *         DR_ECONFIG (driver or DSN not found). The message never shows a password.
 */
dr_status dr_db_connect(const char *connstr, dr_db **out, dr_error *err);

/** Roll back anything pending and disconnect. NULL-safe. */
void dr_db_close(dr_db *db);

/**
 * Run @p sql with @p nparams text parameters (NULL entries are SQL NULL) and
 * fetch nothing. @p rows, if not NULL, receives the affected row count.
 */
dr_status dr_db_exec(dr_db *db, const char *sql, const char *const *params, size_t nparams,
                     long *rows, dr_error *err);

/** Commit the current transaction. */
dr_status dr_db_commit(dr_db *db, dr_error *err);

/** Roll back the current transaction (errors are ignored: it is a cleanup path). */
void dr_db_rollback(dr_db *db);

/**
 * Open a query; rows are then fetched @p batch at a time with row arrays
 * (0 picks a default). Only one cursor may be open per connection.
 */
dr_status dr_db_query(dr_db *db, const char *sql, const char *const *params, size_t nparams,
                      size_t batch, dr_cursor **out, dr_error *err);

/** Number of result columns. */
size_t dr_cursor_ncols(const dr_cursor *c);

/**
 * Advance to the next row. On DR_OK, *@p has_row says whether there is one; then
 * @p values[i] is the text of column i (NULL for SQL NULL) and @p lens[i] its
 * length, valid until the next call. @p values and @p lens hold dr_cursor_ncols entries.
 */
dr_status dr_cursor_next(dr_cursor *c, int *has_row, const char **values, size_t *lens,
                         dr_error *err);

/** Close the cursor. NULL-safe. */
void dr_cursor_close(dr_cursor *c);

/**
 * Ask the server to cancel the statement running on @p db, if any. Safe to call
 * from another thread (the signal-watching thread does).
 */
void dr_db_cancel(dr_db *db);

/*
 * Bounds on the waits of the tool's session. dr_db_connect pins the search_path first
 * (pg_catalog, pg_temp: sql/session_search_path.sql), then gives the session these
 * built-in bounds where nobody set one for it (postgresql.conf, ALTER ROLE / DATABASE,
 * PGOPTIONS, ConnSettings: a bound the DBA chose stays); [connection] in the configuration
 * overrides both (dr_db_apply_timeouts). When one is hit the statement fails with exit 75
 * and a message naming the setting. Why these values: docs/storage.md.
 */
#define DR_DEFAULT_STATEMENT_TIMEOUT "30min" /**< a report statement takes about 1 s on 3M deals */
#define DR_DEFAULT_LOCK_TIMEOUT "1min"       /**< waits behind a CRM migration, VACUUM FULL, a LOCK */
#define DR_DEFAULT_IDLE_TIMEOUT "10min"      /**< a run's transaction idles while its files are written */

/** Configured values of the bounds, PostgreSQL's text ("1500" = ms, "0" = none); "" = not configured. */
typedef struct dr_db_timeouts {
    char statement[24]; /**< statement_timeout */
    char lock[24];      /**< lock_timeout */
    char idle[24];      /**< idle_in_transaction_session_timeout */
} dr_db_timeouts;

/** Set the configured bounds of @p t (NULL or all "" changes nothing) for the session, committed. */
dr_status dr_db_apply_timeouts(dr_db *db, const dr_db_timeouts *t, dr_error *err);

/**
 * Autocommit on (each statement its own transaction, as CREATE INDEX CONCURRENTLY needs)
 * or off (the default of a connection). Turning it on commits what is pending.
 */
dr_status dr_db_set_autocommit(dr_db *db, int on, dr_error *err);

/**
 * Copy @p connstr into @p out with every secret value replaced by "***", for messages.
 * The string is read the way unixODBC and psqlODBC read it (dr_connstr_next): keys in any
 * case and with blanks around them, values in braces with "}}" for a literal '}'. Secret
 * values: those of PWD and Password (psqlODBC's two names for the password) and a pqopt /
 * D5 value (libpq options) that mentions a password. Always NUL-terminated (out_size > 0);
 * a small buffer gets a prefix of the whole redaction.
 */
void dr_connstr_redact(const char *connstr, char *out, size_t out_size);

/*
 * Reading a connection string. Pure functions (no ODBC call), inline so that config.c,
 * which must not link the ODBC code (the fuzz targets build it alone), shares the one
 * reading with odbc.c.
 */

/** One piece of a connection string, as dr_connstr_next found it. */
typedef struct dr_connstr_attr {
    const char *begin;   /**< the piece's first byte (blanks before the key included) */
    const char *key;     /**< the key without blanks around it; NULL: not key=value text */
    size_t keylen;
    const char *value;   /**< the value as written, from the byte after '=' (braces kept) */
    size_t valuelen;     /**< up to the ';' that ends it (or the end of the string) */
    const char *end;     /**< the ';' after the piece, or the terminating NUL */
} dr_connstr_attr;

/**
 * The next piece of the connection string at *@p p, then *@p p past it (and its ';').
 * A value that starts with '{' (after blanks) runs to the first '}' not doubled ("}}" is
 * a literal '}'), and on to the next ';' (text there would be part of no other key); an
 * unterminated brace runs to the end. Text without '=' before the next ';' is a piece
 * with key NULL. @return 0 at the end of the string, else 1.
 */
static inline int dr_connstr_next(const char **p, dr_connstr_attr *a)
{
    const char *s = *p;
    if (s == NULL || *s == '\0')
        return 0;
    *a = (dr_connstr_attr){.begin = s};
    const char *eq = s;
    while (*eq && *eq != '=' && *eq != ';')
        eq++;
    if (*eq != '=') {
        a->end = eq;
        *p = *eq ? eq + 1 : eq;
        return 1;
    }
    const char *k = s, *ke = eq;
    while (k < ke && (*k == ' ' || *k == '\t'))
        k++;
    while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
        ke--;
    a->key = k;
    a->keylen = (size_t)(ke - k);
    const char *v = eq + 1, *q = v;
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q == '{') {
        for (q++; *q; q++) {
            if (*q == '}' && q[1] == '}')
                q++;
            else if (*q == '}')
                break;
        }
    }
    while (*q && *q != ';')
        q++;
    a->value = v;
    a->valuelen = (size_t)(q - v);
    a->end = q;
    *p = *q ? q + 1 : q;
    return 1;
}

/** Is @p a's key @p name (ASCII, any case)? */
static inline int dr_connstr_key_is(const dr_connstr_attr *a, const char *name)
{
    size_t i = 0;
    if (a->key == NULL)
        return 0;
    for (; i < a->keylen && name[i]; i++) {
        unsigned char x = (unsigned char)a->key[i], y = (unsigned char)name[i];
        if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y))
            return 0;
    }
    return i == a->keylen && name[i] == '\0';
}

/** Does @p a's value hold @p word (ASCII, any case)? */
static inline int dr_connstr_value_has(const dr_connstr_attr *a, const char *word)
{
    size_t n = 0;
    while (word[n])
        n++;
    for (size_t i = 0; a->value && i + n <= a->valuelen; i++) {
        size_t j = 0;
        for (; j < n; j++) {
            unsigned char x = (unsigned char)a->value[i + j], y = (unsigned char)word[j];
            if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y))
                break;
        }
        if (j == n)
            return 1;
    }
    return 0;
}

/** Does the attribute carry a secret: PWD, Password, or libpq options naming a password? */
static inline int dr_connstr_attr_is_secret(const dr_connstr_attr *a)
{
    return dr_connstr_key_is(a, "PWD") || dr_connstr_key_is(a, "Password") ||
           ((dr_connstr_key_is(a, "pqopt") || dr_connstr_key_is(a, "D5")) &&
            dr_connstr_value_has(a, "password"));
}

/** Does @p connstr set the key @p name (any case, blanks around it)? */
static inline int dr_connstr_has(const char *connstr, const char *name)
{
    dr_connstr_attr a;
    for (const char *p = connstr; dr_connstr_next(&p, &a);)
        if (dr_connstr_key_is(&a, name))
            return 1;
    return 0;
}

/** Does @p connstr hold a password (see dr_connstr_attr_is_secret)? */
static inline int dr_connstr_has_secret(const char *connstr)
{
    dr_connstr_attr a;
    for (const char *p = connstr; dr_connstr_next(&p, &a);)
        if (dr_connstr_attr_is_secret(&a))
            return 1;
    return 0;
}

/**
 * Overwrite @p n bytes at @p p with zeros in a way the compiler cannot drop as a dead
 * store (the stores go through a volatile pointer), for passwords and connection strings.
 */
static inline void dr_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (p && n--)
        *v++ = 0;
}

/**
 * Rewrite ":name" placeholders of @p sql into ODBC "?" markers. @p names lists the
 * known names; @p order receives, for each "?" in order, the index into @p names
 * (at most @p max_order). "::" casts and text inside quotes are left alone.
 * @return number of markers, or -1 for an unknown name or too many markers.
 */
int dr_sql_named_to_markers(const char *sql, const char *const *names, size_t nnames, char *out,
                            size_t out_size, size_t *order, size_t max_order);



/** A named parameter for the *_named functions: ":name" in the SQL text. */
typedef struct dr_param {
    const char *name;
    const char *value; /**< NULL binds SQL NULL */
} dr_param;

/** dr_db_exec with ":name" placeholders bound from @p params (each may be used many times). */
dr_status dr_db_exec_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                           long *rows, dr_error *err);

/** dr_db_query with ":name" placeholders bound from @p params. */
dr_status dr_db_query_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                            size_t batch, dr_cursor **out, dr_error *err);
/**
 * dr_db_query_named for a result of a few rows (one per tenant of a batch, a short list):
 * the driver reads it whole when the statement runs, without a server-side cursor, which
 * saves two round trips. Queries whose rows can be many use dr_db_query_named.
 */
dr_status dr_db_query_small_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                                  dr_cursor **out, dr_error *err);
/**
 * Run a query expected to give at most one row and copy its first @p ncols values into
 * @p dst (each of @p sizes[i] bytes; SQL NULL becomes ""). *@p found says whether there
 * was a row. For the many small lookups (a version, a zone, a run's header).
 */
dr_status dr_db_fetch_row_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                                char *const *dst, const size_t *sizes, size_t ncols, int *found,
                                dr_error *err);

#endif
