#include "odbc.h"

#include <ctype.h>
#include <pthread.h>
#include <sql.h>
#include <sqlext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql_embedded.h"

/* Widest text value we fetch in a row array; wider values are an error, not a truncation. */
#define DR_MAX_CELL 8192
#define DR_DEFAULT_BATCH 512
/* Rows psqlODBC fetches from its server-side cursor per round trip. */
#define DR_DEFAULT_FETCH 2000
#define DR_STR2(x) #x
#define DR_STR(x) DR_STR2(x)

struct dr_db {
    SQLHENV env;
    SQLHDBC dbc;
    SQLHSTMT active; /* statement currently executing, for dr_db_cancel (under lock) */
    pthread_mutex_t lock; /* a cancel from the signal thread never meets a freed statement */
    int connected;   /* SQLDriverConnect succeeded: a lost connection is now temporary */
};

/* Mark @p stmt as running (or nothing, NULL) for dr_db_cancel. */
static void set_active(dr_db *db, SQLHSTMT stmt)
{
    pthread_mutex_lock(&db->lock);
    db->active = stmt;
    pthread_mutex_unlock(&db->lock);
}

struct dr_cursor {
    dr_db *db;
    SQLHSTMT stmt;
    size_t ncols;
    size_t batch;
    SQLULEN fetched; /* rows in the current rowset */
    size_t pos;      /* next row of the rowset to hand out */
    int done;
    SQLLEN *widths;  /* buffer width per column */
    char **bufs;     /* per column: batch * width bytes */
    SQLLEN **inds;   /* per column: batch indicators */
    SQLUSMALLINT *row_status;
};

/* Map a SQLSTATE (and psqlODBC's habits) to a status. */
static dr_status status_for_sqlstate(const char *state)
{
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "28", 2) == 0 ||
        strncmp(state, "57P", 3) == 0)
        return DR_EUNAVAILABLE;     /* connection, authentication, server shutdown */
    if (strcmp(state, "IM002") == 0 || strcmp(state, "IM003") == 0)
        return DR_ECONFIG;          /* data source or driver not found */
    if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "HYT00") == 0 || strcmp(state, "25P03") == 0)
        return DR_ETEMPFAIL;        /* timeout (also idle in transaction), cancel, lock, serialization */
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
        return DR_EDATA;            /* data exception, constraint violation */
    return DR_EINTERNAL;
}

/* Drop the "[unixODBC][Driver]..." prefixes: they say nothing to a user. */
static const char *strip_odbc_prefix(const char *msg)
{
    while (*msg == '[') {
        const char *close = strchr(msg, ']');
        if (close == NULL)
            break;
        msg = close + 1;
    }
    return msg;
}

/* Collect all diagnostic records of a handle into one message and a status. */
static dr_status diag(SQLSMALLINT type, SQLHANDLE h, dr_error *err, const char *what)
{
    char text[1024] = "";
    char first_state[6] = "HY000";
    size_t used = 0;
    for (SQLSMALLINT i = 1; i <= 5; i++) {
        SQLCHAR state[6], msg[512];
        SQLINTEGER native = 0;
        SQLSMALLINT len = 0;
        SQLRETURN rc = SQLGetDiagRec(type, h, i, state, &native, msg, sizeof msg, &len);
        if (!SQL_SUCCEEDED(rc))
            break;
        if (i == 1)
            memcpy(first_state, state, sizeof first_state);
        /* psqlODBC reports a server error as "ERROR: ..." ; keep it on one line */
        char *m = (char *)strip_odbc_prefix((const char *)msg);
        char shown[640];
        for (char *p = m; *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t')
                *p = ' ';
        /* drivers echo values (a driver name, a DSN, data) into their messages */
        dr_printable_copy(m, shown, sizeof shown);
        int n = snprintf(text + used, sizeof text - used, "%s%s (SQLSTATE %s)", i > 1 ? "; " : "",
                         shown, (const char *)state);
        if (n < 0 || (size_t)n >= sizeof text - used)
            break;
        used += (size_t)n;
    }
    if (text[0] == '\0')
        snprintf(text, sizeof text, "no diagnostic available");
    int first_error = err && err->status == DR_OK;
    dr_status st = dr_fail(err, status_for_sqlstate(first_state), "%s: %s", what, text);
    if (first_error)
        memcpy(err->sqlstate, first_state, sizeof err->sqlstate);
    return st;
}

/*
 * diag() for a statement or commit on an open connection. A connection that worked and is
 * then lost (server restart, pg_terminate_backend, network drop: SQLSTATE 08xxx / 57P0x)
 * is a temporary failure of this run, not an unavailable database: the transaction died
 * with it, so nothing was saved, and trying again later is the right reaction (exit 75).
 */
static dr_status conn_diag(const dr_db *db, SQLSMALLINT type, SQLHANDLE h, dr_error *err,
                           const char *what)
{
    int first_error = err && err->status == DR_OK;
    dr_status st = diag(type, h, err, what);
    if (st != DR_EUNAVAILABLE || !db->connected)
        return st;
    if (first_error) {
        size_t n = strlen(err->msg);
        err->status = DR_ETEMPFAIL;
        snprintf(err->msg + n, sizeof err->msg - n,
                 " - the connection to the database was lost mid-transaction; try again");
    }
    return DR_ETEMPFAIL;
}

void dr_connstr_redact(const char *connstr, char *out, size_t out_size)
{
    size_t o = 0;
    const char *p = connstr ? connstr : "";
    while (*p && o + 1 < out_size) {
        const char *eq = strchr(p, '=');
        const char *semi = strchr(p, ';');
        if (eq == NULL || (semi && semi < eq)) { /* no key=value here: copy to ';' */
            size_t n = semi ? (size_t)(semi - p) + 1 : strlen(p);
            while (n-- && o + 1 < out_size)
                out[o++] = *p++;
            continue;
        }
        size_t keylen = (size_t)(eq - p);
        int secret = (keylen == 3 && strncasecmp(p, "PWD", 3) == 0) ||
                     (keylen == 8 && strncasecmp(p, "Password", 8) == 0);
        while (p <= eq && o + 1 < out_size)
            out[o++] = *p++;
        /* value: {braced} or up to ';' */
        const char *end;
        if (*p == '{') {
            end = strchr(p, '}');
            end = end ? end + 1 : p + strlen(p);
        } else {
            end = strchr(p, ';');
            if (end == NULL)
                end = p + strlen(p);
        }
        if (secret) {
            for (const char *s = "***"; *s && o + 1 < out_size; s++)
                out[o++] = *s;
            p = end;
        } else {
            while (p < end && o + 1 < out_size)
                out[o++] = *p++;
        }
        if (*p == ';' && o + 1 < out_size)
            out[o++] = *p++;
    }
    if (out_size)
        out[o < out_size ? o : out_size - 1] = '\0';
}

/* Does the connection string set KEY (case-insensitive, at the start of an attribute)? */
static int connstr_has(const char *connstr, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = connstr; p && *p;) {
        p += strspn(p, " ;");
        if (strncasecmp(p, key, n) == 0 && (p[n] == '=' || p[n] == ' '))
            return 1;
        p = strchr(p, ';');
    }
    return 0;
}

/*
 * psqlODBC buffers a whole result in the client unless UseDeclareFetch is on; then it
 * reads through a server-side cursor, Fetch rows at a time, and memory stays flat
 * whatever the row count. A user's own setting wins. (Our data-changing statements start
 * with INSERT, not WITH, as that mode requires: psqlodbc issue #102.)
 */
static char *with_cursor_fetch(const char *connstr)
{
    static const char extra[] = "UseDeclareFetch=1;Fetch=" DR_STR(DR_DEFAULT_FETCH) ";";
    size_t n = strlen(connstr);
    char *full = malloc(n + sizeof extra + 2);
    if (full == NULL)
        return NULL;
    memcpy(full, connstr, n + 1);
    if (!connstr_has(connstr, "UseDeclareFetch")) {
        if (n > 0 && connstr[n - 1] != ';')
            strcat(full, ";");
        strcat(full, extra);
    }
    return full;
}

dr_status dr_db_connect(const char *connstr, dr_db **out, dr_error *err)
{
    dr_status st = DR_OK;
    dr_db *db = calloc(1, sizeof *db);
    *out = NULL;
    if (db == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory connecting to the database");
    pthread_mutex_init(&db->lock, NULL);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &db->env))) {
        st = dr_fail(err, DR_EINTERNAL, "cannot allocate an ODBC environment (is unixODBC installed?)");
        goto cleanup;
    }
    SQLSetEnvAttr(db->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, db->env, &db->dbc))) {
        st = diag(SQL_HANDLE_ENV, db->env, err, "cannot allocate an ODBC connection");
        goto cleanup;
    }
    SQLSetConnectAttr(db->dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)(SQLULEN)15, 0);
    SQLCHAR outstr[1024];
    SQLSMALLINT outlen = 0;
    char *full = with_cursor_fetch(connstr);
    if (full == NULL) {
        st = dr_fail(err, DR_ENOMEM, "out of memory connecting to the database");
        goto cleanup;
    }
    SQLRETURN rc = SQLDriverConnect(db->dbc, NULL, (SQLCHAR *)full, SQL_NTS, outstr,
                                    sizeof outstr, &outlen, SQL_DRIVER_NOPROMPT);
    free(full);
    if (!SQL_SUCCEEDED(rc)) {
        char redacted[512], shown[640], what[700];
        dr_connstr_redact(connstr, redacted, sizeof redacted);
        dr_printable_copy(redacted, shown, sizeof shown);
        snprintf(what, sizeof what, "cannot connect to the database with '%s'", shown);
        st = diag(SQL_HANDLE_DBC, db->dbc, err, what);
        /* unixODBC reports a driver library it cannot load ("Can't open lib 'X'") as 01000:
           a configuration error like an unknown DSN (IM002); whatever else fails at connect
           time means: the database is unavailable */
        if (st == DR_EINTERNAL) {
            st = err && strcmp(err->sqlstate, "01000") == 0 ? DR_ECONFIG : DR_EUNAVAILABLE;
            if (err)
                err->status = st;
        }
        SQLFreeHandle(SQL_HANDLE_DBC, db->dbc);
        db->dbc = NULL;
        goto cleanup;
    }
    db->connected = 1;
    if (!SQL_SUCCEEDED(SQLSetConnectAttr(db->dbc, SQL_ATTR_AUTOCOMMIT,
                                         (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0))) {
        st = diag(SQL_HANDLE_DBC, db->dbc, err, "cannot turn autocommit off");
        goto cleanup;
    }
    /* Constants only: the session's zone must not leak into any value (SPEC §10). */
    st = dr_db_exec(db, dr_sql_session_time_zone, NULL, 0, NULL, err);
    if (st == DR_OK)
        st = dr_db_exec(db, dr_sql_session_application_name, NULL, 0, NULL, err);
    if (st == DR_OK)
        st = dr_db_commit(db, err);
cleanup:
    if (st != DR_OK) {
        dr_db_close(db);
        return st;
    }
    *out = db;
    return DR_OK;
}

void dr_db_close(dr_db *db)
{
    if (db == NULL)
        return;
    if (db->dbc) {
        SQLEndTran(SQL_HANDLE_DBC, db->dbc, SQL_ROLLBACK);
        SQLDisconnect(db->dbc);
        SQLFreeHandle(SQL_HANDLE_DBC, db->dbc);
    }
    if (db->env)
        SQLFreeHandle(SQL_HANDLE_ENV, db->env);
    pthread_mutex_destroy(&db->lock);
    free(db);
}

void dr_db_cancel(dr_db *db)
{
    if (db == NULL)
        return;
    /* under the lock: the running thread clears active (then frees the statement) only
       after SQLCancel has returned */
    pthread_mutex_lock(&db->lock);
    if (db->active)
        SQLCancel(db->active);
    pthread_mutex_unlock(&db->lock);
}

/* Allocate a statement, bind the text parameters and execute. */
static dr_status execute(dr_db *db, const char *sql, const char *const *params, size_t nparams,
                         SQLLEN *inds, SQLHSTMT *out, dr_error *err)
{
    SQLHSTMT stmt = NULL;
    dr_status st = DR_OK;
    *out = NULL;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, db->dbc, &stmt)))
        return conn_diag(db, SQL_HANDLE_DBC, db->dbc, err, "cannot allocate an ODBC statement");
    for (size_t i = 0; i < nparams; i++) {
        const char *v = params[i];
        SQLULEN len = v ? strlen(v) : 1;
        inds[i] = v ? SQL_NTS : SQL_NULL_DATA;
        SQLRETURN rc = SQLBindParameter(stmt, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_CHAR,
                                        SQL_VARCHAR, len ? len : 1, 0, (SQLPOINTER)v,
                                        (SQLLEN)len, &inds[i]);
        if (!SQL_SUCCEEDED(rc)) {
            st = diag(SQL_HANDLE_STMT, stmt, err, "cannot bind a parameter");
            goto cleanup;
        }
    }
    set_active(db, stmt);
    SQLRETURN rc = SQLExecDirect(stmt, (SQLCHAR *)sql, SQL_NTS);
    set_active(db, NULL);
    if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) {
        st = conn_diag(db, SQL_HANDLE_STMT, stmt, err, "the database refused a statement");
        goto cleanup;
    }
cleanup:
    if (st != DR_OK) {
        SQLFreeHandle(SQL_HANDLE_STMT, stmt);
        return st;
    }
    *out = stmt;
    return DR_OK;
}

#define DR_MAX_PARAMS 64

dr_status dr_db_exec(dr_db *db, const char *sql, const char *const *params, size_t nparams,
                     long *rows, dr_error *err)
{
    SQLLEN inds[DR_MAX_PARAMS];
    SQLHSTMT stmt;
    if (nparams > DR_MAX_PARAMS)
        return dr_fail(err, DR_EINTERNAL, "too many parameters (%zu)", nparams);
    dr_status st = execute(db, sql, params, nparams, inds, &stmt, err);
    if (st != DR_OK)
        return st;
    if (rows) {
        SQLLEN n = 0;
        SQLRowCount(stmt, &n);
        *rows = (long)n;
    }
    SQLFreeHandle(SQL_HANDLE_STMT, stmt);
    return DR_OK;
}

dr_status dr_db_commit(dr_db *db, dr_error *err)
{
    if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, db->dbc, SQL_COMMIT)))
        return conn_diag(db, SQL_HANDLE_DBC, db->dbc, err, "cannot commit");
    return DR_OK;
}

void dr_db_rollback(dr_db *db)
{
    if (db && db->dbc)
        SQLEndTran(SQL_HANDLE_DBC, db->dbc, SQL_ROLLBACK);
}

void dr_cursor_close(dr_cursor *c)
{
    if (c == NULL)
        return;
    if (c->stmt) {
        SQLCloseCursor(c->stmt);
        SQLFreeHandle(SQL_HANDLE_STMT, c->stmt);
    }
    for (size_t i = 0; i < c->ncols; i++) {
        if (c->bufs)
            free(c->bufs[i]);
        if (c->inds)
            free(c->inds[i]);
    }
    free(c->bufs);
    free(c->inds);
    free(c->widths);
    free(c->row_status);
    free(c);
}

/* Width of the text buffer for one column, from what the driver says of it. */
static SQLLEN column_width(SQLSMALLINT type, SQLULEN size)
{
    switch (type) {
    case SQL_GUID: return 40;
    case SQL_BIT: return 8;
    case SQL_SMALLINT: case SQL_INTEGER: case SQL_BIGINT: case SQL_TINYINT: return 24;
    case SQL_REAL: case SQL_FLOAT: case SQL_DOUBLE: return 40;
    default: break;
    }
    /* numeric: precision + sign + point; text: the declared size (4 bytes a character) */
    SQLULEN w = size * 4 + 4;
    if (w < 64)
        w = 64;
    if (w > DR_MAX_CELL)
        w = DR_MAX_CELL;
    return (SQLLEN)w;
}

dr_status dr_db_query(dr_db *db, const char *sql, const char *const *params, size_t nparams,
                      size_t batch, dr_cursor **out, dr_error *err)
{
    SQLLEN inds[DR_MAX_PARAMS];
    dr_status st;
    *out = NULL;
    if (nparams > DR_MAX_PARAMS)
        return dr_fail(err, DR_EINTERNAL, "too many parameters (%zu)", nparams);
    dr_cursor *c = calloc(1, sizeof *c);
    if (c == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory opening a query");
    c->db = db;
    c->batch = batch ? batch : DR_DEFAULT_BATCH;
    st = execute(db, sql, params, nparams, inds, &c->stmt, err);
    if (st != DR_OK)
        goto cleanup;
    SQLSMALLINT ncols = 0;
    SQLNumResultCols(c->stmt, &ncols);
    c->widths = calloc((size_t)ncols + 1, sizeof *c->widths);
    c->bufs = calloc((size_t)ncols + 1, sizeof *c->bufs);
    c->inds = calloc((size_t)ncols + 1, sizeof *c->inds);
    c->row_status = calloc(c->batch, sizeof *c->row_status);
    if (!c->widths || !c->bufs || !c->inds || !c->row_status) {
        st = dr_fail(err, DR_ENOMEM, "out of memory opening a query");
        goto cleanup;
    }
    c->ncols = (size_t)ncols;
    SQLSetStmtAttr(c->stmt, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER)SQL_BIND_BY_COLUMN, 0);
    SQLSetStmtAttr(c->stmt, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)(SQLULEN)c->batch, 0);
    SQLSetStmtAttr(c->stmt, SQL_ATTR_ROW_STATUS_PTR, c->row_status, 0);
    SQLSetStmtAttr(c->stmt, SQL_ATTR_ROWS_FETCHED_PTR, &c->fetched, 0);
    for (size_t i = 0; i < c->ncols; i++) {
        SQLCHAR name[128];
        SQLSMALLINT namelen, type, digits, nullable;
        SQLULEN size;
        SQLDescribeCol(c->stmt, (SQLUSMALLINT)(i + 1), name, sizeof name, &namelen, &type, &size,
                       &digits, &nullable);
        c->widths[i] = column_width(type, size);
        c->bufs[i] = malloc((size_t)c->widths[i] * c->batch);
        c->inds[i] = malloc(sizeof(SQLLEN) * c->batch);
        if (!c->bufs[i] || !c->inds[i]) {
            st = dr_fail(err, DR_ENOMEM, "out of memory for the result buffers");
            goto cleanup;
        }
        if (!SQL_SUCCEEDED(SQLBindCol(c->stmt, (SQLUSMALLINT)(i + 1), SQL_C_CHAR, c->bufs[i],
                                      c->widths[i], c->inds[i]))) {
            st = diag(SQL_HANDLE_STMT, c->stmt, err, "cannot bind a result column");
            goto cleanup;
        }
    }
cleanup:
    if (st != DR_OK) {
        dr_cursor_close(c);
        return st;
    }
    *out = c;
    return DR_OK;
}

size_t dr_cursor_ncols(const dr_cursor *c)
{
    return c->ncols;
}

dr_status dr_cursor_next(dr_cursor *c, int *has_row, const char **values, size_t *lens,
                         dr_error *err)
{
    *has_row = 0;
    while (c->pos >= c->fetched) {
        if (c->done)
            return DR_OK;
        c->pos = 0;
        c->fetched = 0;
        set_active(c->db, c->stmt);
        SQLRETURN rc = SQLFetch(c->stmt);
        set_active(c->db, NULL);
        if (rc == SQL_NO_DATA) {
            c->done = 1;
            return DR_OK;
        }
        if (!SQL_SUCCEEDED(rc))
            return conn_diag(c->db, SQL_HANDLE_STMT, c->stmt, err, "fetching rows failed");
    }
    size_t r = c->pos++;
    if (c->row_status[r] == SQL_ROW_ERROR)
        return conn_diag(c->db, SQL_HANDLE_STMT, c->stmt, err, "fetching a row failed");
    for (size_t i = 0; i < c->ncols; i++) {
        SQLLEN ind = c->inds[i][r];
        if (ind == SQL_NULL_DATA) {
            values[i] = NULL;
            lens[i] = 0;
            continue;
        }
        if (ind == SQL_NO_TOTAL || ind >= c->widths[i])
            return dr_fail(err, DR_EINTERNAL, "a value of result column %zu is wider than %ld bytes",
                           i + 1, (long)c->widths[i] - 1);
        values[i] = c->bufs[i] + (size_t)c->widths[i] * r;
        lens[i] = (size_t)ind;
    }
    *has_row = 1;
    return DR_OK;
}

int dr_sql_named_to_markers(const char *sql, const char *const *names, size_t nnames, char *out,
                            size_t out_size, size_t *order, size_t max_order)
{
    size_t o = 0, n = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == ':' && p[1] == ':') {
            if (o + 2 >= out_size)
                return -1;
            out[o++] = *p++;
        } else if (*p == ':' && (isalpha((unsigned char)p[1]) || p[1] == '_')) {
            const char *s = p + 1;
            size_t len = 0;
            while (isalnum((unsigned char)s[len]) || s[len] == '_')
                len++;
            size_t k;
            for (k = 0; k < nnames; k++)
                if (strlen(names[k]) == len && strncmp(names[k], s, len) == 0)
                    break;
            if (k == nnames || n >= max_order)
                return -1;
            order[n++] = k;
            if (o + 1 >= out_size)
                return -1;
            out[o++] = '?';
            p = s + len - 1;
            continue;
        }
        if (o + 1 >= out_size)
            return -1;
        out[o++] = *p;
    }
    out[o] = '\0';
    return (int)n;
}

/* Rewrite the placeholders and line up the values in marker order. */
typedef struct named_sql {
    char *sql;
    const char *values[DR_MAX_PARAMS];
    size_t n;
} named_sql;

static dr_status named_prepare(const char *sql, const dr_param *params, size_t nparams,
                               named_sql *ns, dr_error *err)
{
    const char *names[DR_MAX_PARAMS];
    size_t order[DR_MAX_PARAMS];
    size_t cap = strlen(sql) + 1;
    if (nparams > DR_MAX_PARAMS)
        return dr_fail(err, DR_EINTERNAL, "too many parameters (%zu)", nparams);
    for (size_t i = 0; i < nparams; i++)
        names[i] = params[i].name;
    if ((ns->sql = malloc(cap)) == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory preparing a statement");
    int n = dr_sql_named_to_markers(sql, names, nparams, ns->sql, cap, order, DR_MAX_PARAMS);
    if (n < 0) {
        free(ns->sql);
        ns->sql = NULL;
        return dr_fail(err, DR_EINTERNAL, "a statement uses an unknown :parameter");
    }
    ns->n = (size_t)n;
    for (size_t i = 0; i < ns->n; i++)
        ns->values[i] = params[order[i]].value;
    return DR_OK;
}

dr_status dr_db_exec_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                           long *rows, dr_error *err)
{
    named_sql ns = {0};
    dr_status st = named_prepare(sql, params, nparams, &ns, err);
    if (st == DR_OK)
        st = dr_db_exec(db, ns.sql, ns.values, ns.n, rows, err);
    free(ns.sql);
    return st;
}

dr_status dr_db_query_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                            size_t batch, dr_cursor **out, dr_error *err)
{
    named_sql ns = {0};
    dr_status st = named_prepare(sql, params, nparams, &ns, err);
    if (st == DR_OK)
        st = dr_db_query(db, ns.sql, ns.values, ns.n, batch, out, err);
    free(ns.sql);
    return st;
}

dr_status dr_db_fetch_row_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                                char *const *dst, const size_t *sizes, size_t ncols, int *found,
                                dr_error *err)
{
    dr_cursor *c = NULL;
    const char *v[DR_MAX_PARAMS];
    size_t l[DR_MAX_PARAMS];
    *found = 0;
    dr_status st = dr_db_query_named(db, sql, params, nparams, 1, &c, err);
    if (st == DR_OK && (dr_cursor_ncols(c) < ncols || dr_cursor_ncols(c) > DR_MAX_PARAMS))
        st = dr_fail(err, DR_EINTERNAL, "a lookup returned %zu columns, expected %zu", dr_cursor_ncols(c), ncols);
    if (st == DR_OK)
        st = dr_cursor_next(c, found, v, l, err);
    for (size_t i = 0; st == DR_OK && *found && i < ncols; i++)
        snprintf(dst[i], sizes[i], "%s", v[i] ? v[i] : "");
    dr_cursor_close(c);
    return st;
}
