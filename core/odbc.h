/**
 * @file odbc.h
 * @brief The only module that talks ODBC: connect, run statements with bound
 *        text parameters, stream results with row arrays, turn diagnostics into
 *        one message and a status.
 *
 * Every value reaches the database as a bound parameter (SQLBindParameter).
 * All data comes back as text (SQL_C_CHAR): numerics keep every digit, and
 * timestamps are formatted in SQL (ODBC has no timestamptz, see SPEC §10).
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

/**
 * Copy @p connstr into @p out with the values of PWD / Password replaced by
 * "***", for messages.
 */
void dr_connstr_redact(const char *connstr, char *out, size_t out_size);

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
 * Run a query expected to give at most one row and copy its first @p ncols values into
 * @p dst (each of @p sizes[i] bytes; SQL NULL becomes ""). *@p found says whether there
 * was a row. For the many small lookups (a version, a zone, a run's header).
 */
dr_status dr_db_fetch_row_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                                char *const *dst, const size_t *sizes, size_t ncols, int *found,
                                dr_error *err);

#endif
