/* odbc.c: the one module that talks ODBC (see odbc.h): connecting, statements with bound
   text parameters, results streamed through row arrays, diagnostics made messages. */
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
/* psqlODBC's connection attribute for UseDeclareFetch (SQL_ATTR_PGOPT_USE_DECLAREFETCH in its
   pgapifunc.h, 13.x): the driver reads it when it executes a statement, so it may change from
   one statement to the next. */
#define DR_PSQLODBC_USE_DECLAREFETCH 65539
/* The least column size a text parameter is declared with. psqlODBC takes a VARCHAR
   parameter of column size 5 for a boolean shown as text (BoolsAsChar, its default, whose
   width is 5) and then asks the server for the statement's parameter types before running
   it: two more round trips and the statement parsed twice (execute.c, HowToPrepareBeforeExec,
   13.x). The size only declares a maximum; the value's own length is bound with it. */
#define DR_PARAM_MIN_SIZE 8
#define DR_STR2(x) #x
#define DR_STR(x) DR_STR2(x)

struct dr_db {
    SQLHENV env;
    SQLHDBC dbc;
    SQLHSTMT active; /* statement currently executing, for dr_db_cancel (under lock) */
    pthread_mutex_t lock; /* a cancel from the signal thread never meets a freed statement */
    int connected;   /* SQLDriverConnect succeeded: a lost connection is now temporary */
    /* Results through a server-side cursor (UseDeclareFetch) for the queries that stream, and
       read whole for those of a few rows: cursor_switch says whether the driver takes the
       attribute, cursor_wanted is the connection's own setting, cursor_now the current one. */
    int cursor_switch, cursor_wanted, cursor_now;
};

/*
 * With UseDeclareFetch on, psqlODBC runs every SELECT through a cursor: it first asks the
 * server to parse the statement (a round trip), then declares the cursor and fetches, and
 * closes the cursor afterwards (another). For the statements that return no rows or a few
 * (a lookup, a setting, the storing statement's one row per tenant) that is two round trips
 * and a cursor for nothing, ten times in a run: they are run with the attribute off, read
 * whole at once; the queries whose rows stream (facts, views, lists) keep the cursor.
 * A connection string that turns UseDeclareFetch off keeps it off everywhere; a driver
 * without the attribute runs everything its own way.
 */
static void result_mode(dr_db *db, int stream)
{
    int want = stream && db->cursor_wanted;
    if (!db->cursor_switch || want == db->cursor_now)
        return;
    if (SQL_SUCCEEDED(SQLSetConnectAttr(db->dbc, DR_PSQLODBC_USE_DECLAREFETCH, (SQLPOINTER)(SQLULEN)want, 0)))
        db->cursor_now = want;
    else
        db->cursor_switch = 0;
}

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

/* A server error about a statement inside a function (the report's) comes with that
   statement's text: "LINE n: ..." and a caret line after the message, then "QUERY: ..." and
   its "CONTEXT: ...", hundreds of characters that hide what matters (DETAIL, HINT and the
   advice appended after them). Cut @p m at "\nQUERY:" and take the LINE lines out. */
static void drop_internal_query(char *m)
{
    char *q = strstr(m, "\nQUERY:");
    if (q == NULL)
        return;
    *q = '\0';
    char *line = strstr(m, "\nLINE ");
    if (line == NULL)
        return;
    char *after = strchr(line + 1, '\n');      /* the end of the LINE line */
    if (after != NULL && after[1] == ' ')     /* the caret line: blanks and a '^' */
        after = strchr(after + 1, '\n');
    if (after == NULL)
        *line = '\0';
    else
        memmove(line, after, strlen(after) + 1);
}

/* Collect all diagnostic records of a handle into one message and a status. */
static dr_status diag(SQLSMALLINT type, SQLHANDLE h, dr_error *err, const char *what)
{
    char text[1024] = "";
    char first_state[6] = "HY000";
    size_t used = 0;
    for (SQLSMALLINT i = 1; i <= 5; i++) {
        SQLCHAR state[6], msg[4096];
        SQLINTEGER native = 0;
        SQLSMALLINT len = 0;
        SQLRETURN rc = SQLGetDiagRec(type, h, i, state, &native, msg, sizeof msg, &len);
        if (!SQL_SUCCEEDED(rc))
            break;
        /* a message longer than the buffer: psqlODBC hands out its rest as the next records,
           pieces of this one, so there is no other record to read after it */
        int cut = len >= (SQLSMALLINT)sizeof msg;
        if (i == 1)
            memcpy(first_state, state, sizeof first_state);
        /* psqlODBC reports a server error as "ERROR: ..." ; keep it on one line */
        char *m = (char *)strip_odbc_prefix((const char *)msg);
        drop_internal_query(m);
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
        if (cut)
            break;
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
/*
 * Which bound of the session (sql/session_timeouts.sql) ended a statement or the session,
 * and what to do about it; NULL for anything else. By SQLSTATE and the server's words:
 * 57014 is also a cancel, and a cancel of ours (a signal) is reported as an interruption
 * by the runner; a session the server ended for idling in a transaction may come back as
 * 25P03 or, once the connection is gone, as a lost connection with the server's message.
 */
static const char *timeout_advice(const char *state, const char *msg)
{
    if (strstr(msg, "idle-in-transaction timeout") != NULL || strcmp(state, "25P03") == 0)
        return "the transaction stayed idle longer than idle_in_transaction_session_timeout "
               "(default " DR_DEFAULT_IDLE_TIMEOUT ") while the files were written, and the server "
               "ended the session; nothing was saved: try again, or raise "
               "idle_in_transaction_session_timeout in [connection] of the configuration (0: no limit)";
    if (strcmp(state, "55P03") == 0)
        return "another session holds a lock the statement needs, for longer than lock_timeout "
               "(default " DR_DEFAULT_LOCK_TIMEOUT "); nothing was saved: try again when it is released, "
               "or raise lock_timeout in [connection] of the configuration (0: no limit)";
    if (strcmp(state, "57014") == 0 && strstr(msg, "user request") == NULL)
        return "the statement ran longer than statement_timeout (default " DR_DEFAULT_STATEMENT_TIMEOUT
               "), or another session cancelled it; nothing was saved: try again, or raise "
               "statement_timeout in [connection] of the configuration (0: no limit)";
    return NULL;
}

/* Append " - @p advice" to err->msg, cutting the diagnostic before it when both do not fit:
   the advice is what the user acts on. */
static void append_advice(dr_error *err, const char *advice)
{
    size_t n = strlen(err->msg), need = strlen(advice) + 3, cap = sizeof err->msg;
    if (need + 4 >= cap)
        return;
    if (n + need >= cap) {
        n = cap - need - 4;
        while (n > 0 && ((unsigned char)err->msg[n] & 0xC0) == 0x80)
            n--; /* not inside a UTF-8 character */
        memcpy(err->msg + n, "...", 3);
        n += 3;
    }
    snprintf(err->msg + n, cap - n, " - %s", advice);
}

static dr_status conn_diag(const dr_db *db, SQLSMALLINT type, SQLHANDLE h, dr_error *err,
                           const char *what)
{
    int first_error = err && err->status == DR_OK;
    dr_status st = diag(type, h, err, what);
    const char *advice = first_error ? timeout_advice(err->sqlstate, err->msg) : NULL;
    if (advice != NULL) {
        err->status = st = DR_ETEMPFAIL;
        append_advice(err, advice);
        return st;
    }
    if (st != DR_EUNAVAILABLE || !db->connected)
        return st;
    if (first_error) {
        err->status = DR_ETEMPFAIL;
        append_advice(err, "the connection to the database was lost mid-transaction; try again");
    }
    return DR_ETEMPFAIL;
}

/* Append @p n bytes of @p s to out[*o], leaving room for the NUL. */
static void redact_put(char *out, size_t out_size, size_t *o, const char *s, size_t n)
{
    while (n-- && *o + 1 < out_size)
        out[(*o)++] = *s++;
}

void dr_connstr_redact(const char *connstr, char *out, size_t out_size)
{
    size_t o = 0;
    dr_connstr_attr a;
    if (out_size == 0)
        return;
    /* the pieces as the driver reads them (odbc.h): a secret's key and blanks are kept,
       its whole value (braces, "}}" and all) becomes "***" */
    for (const char *p = connstr ? connstr : ""; dr_connstr_next(&p, &a);) {
        if (dr_connstr_attr_is_secret(&a)) {
            redact_put(out, out_size, &o, a.begin, (size_t)(a.value - a.begin));
            redact_put(out, out_size, &o, "***", 3);
        } else {
            redact_put(out, out_size, &o, a.begin, (size_t)(a.end - a.begin));
        }
        if (*a.end == ';')
            redact_put(out, out_size, &o, ";", 1);
    }
    out[o] = '\0';
}

/* TCP keepalives the tool asks psqlODBC for (libpq's keepalives_idle and
   keepalives_interval): a server that died or a network that dropped the connection while
   a statement runs is noticed after about KeepaliveTime + 9 probes x KeepaliveInterval
   (Linux's default probe count), 150 s, instead of the kernel's two hours. */
#define DR_KEEPALIVE_TIME 60
#define DR_KEEPALIVE_INTERVAL 10

/*
 * The connection string handed to the driver: the user's, then what the tool adds unless
 * the user set it (any spelling psqlODBC takes: the long name or its abbreviation):
 * - UseDeclareFetch=1;Fetch=2000: psqlODBC buffers a whole result in the client unless
 *   UseDeclareFetch is on; then it reads through a server-side cursor, Fetch rows at a
 *   time, and memory stays flat whatever the row count. (Our data-changing statements
 *   start with INSERT, not WITH, as that mode requires: psqlodbc issue #102.)
 * - CommLog=0;Debug=0: a data source (odbc.ini) with CommLog or Debug on makes psqlODBC
 *   write every statement, and the password, into world-readable /tmp/psqlodbc_*.log and
 *   /tmp/mylog_*.log files. (The driver-wide switches of odbcinst.ini are read when the
 *   driver is loaded, before any connection string: see docs/configuration.md.)
 * - KeepaliveTime, KeepaliveInterval (above), unless libpq options (pqopt) set them:
 *   psqlODBC refuses a pqopt that conflicts with an attribute.
 * - Protocol=7.4-0: no rollback of the driver's own on an error. By default psqlODBC wraps
 *   every statement of a transaction in a savepoint of its own (SAVEPOINT before, RELEASE
 *   after: one more round trip per statement, a dozen in a run) so that a failed statement
 *   leaves the transaction usable. The tool never goes on after a failed statement without
 *   rolling back itself: to a savepoint of its own where it recovers (the comparison
 *   period that overflows, run_view.c), else the whole transaction. A failed statement now
 *   aborts the transaction, as in libpq, until that rollback.
 * "Set" the way psqlODBC reads it (driver_sets): a key with blanks around it sets nothing.
 * The caller wipes and frees the result.
 */
/* Does @p connstr set @p name the way psqlODBC reads keys: the whole text from the ';'
   to the '=', in any case but with no blank around it (" CommLog=1" sets nothing)? */
static int driver_sets(const char *connstr, const char *name)
{
    dr_connstr_attr a;
    size_t n = strlen(name);
    for (const char *p = connstr; dr_connstr_next(&p, &a);)
        if (a.key && (size_t)(a.value - 1 - a.begin) == n && strncasecmp(a.begin, name, n) == 0)
            return 1;
    return 0;
}

static char *connect_string(const char *connstr)
{
    static const char fetch[] = "UseDeclareFetch=1;", fetch_rows[] = "Fetch=" DR_STR(DR_DEFAULT_FETCH) ";",
                      commlog[] = "CommLog=0;", debug[] = "Debug=0;",
                      ka_time[] = "KeepaliveTime=" DR_STR(DR_KEEPALIVE_TIME) ";",
                      ka_interval[] = "KeepaliveInterval=" DR_STR(DR_KEEPALIVE_INTERVAL) ";",
                      protocol[] = "Protocol=7.4-0;";
    int pq_idle = 0, pq_interval = 0;
    dr_connstr_attr a;
    for (const char *p = connstr; dr_connstr_next(&p, &a);) {
        if (dr_connstr_key_is(&a, "pqopt") || dr_connstr_key_is(&a, "D5")) {
            pq_idle |= dr_connstr_value_has(&a, "keepalives_idle");
            pq_interval |= dr_connstr_value_has(&a, "keepalives_interval");
        }
    }
    const struct { const char *text; int add; } extra[] = {
        {fetch, !driver_sets(connstr, "UseDeclareFetch") && !driver_sets(connstr, "B6")},
        {fetch_rows, !driver_sets(connstr, "UseDeclareFetch") && !driver_sets(connstr, "B6") &&
                         !driver_sets(connstr, "Fetch") && !driver_sets(connstr, "A7")},
        {commlog, !driver_sets(connstr, "CommLog") && !driver_sets(connstr, "B3")},
        {debug, !driver_sets(connstr, "Debug") && !driver_sets(connstr, "B2")},
        {ka_time, !pq_idle && !driver_sets(connstr, "KeepaliveTime") && !driver_sets(connstr, "D1")},
        {ka_interval, !pq_interval && !driver_sets(connstr, "KeepaliveInterval") &&
                          !driver_sets(connstr, "D2")},
        {protocol, !driver_sets(connstr, "Protocol") && !driver_sets(connstr, "A1")},
    };
    size_t n = strlen(connstr), cap = n + 2;
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        cap += strlen(extra[i].text);
    char *full = malloc(cap);
    if (full == NULL)
        return NULL;
    memcpy(full, connstr, n + 1);
    if (n > 0 && connstr[n - 1] != ';')
        strcat(full, ";");
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (extra[i].add)
            strcat(full, extra[i].text);
    return full;
}

/*
 * psqlODBC sends queries of its own as soon as it is connected, before we can send
 * anything, one of them unqualified ("select oid, typbasetype from pg_type where typname =
 * 'lo'"): with a search_path of the role or the database such as "public, pg_catalog", a
 * public.pg_type planted by another role answers it, running its code with our rights.
 * So the pinned search_path (sql/session_search_path.sql) also goes into the startup
 * packet, as libpq options in psqlODBC's pqopt attribute; PGOPTIONS comes first in them,
 * since libpq reads PGOPTIONS only when no options are given. Left out (and the pin after
 * connecting does the job alone) when the connection string names a data source, whose
 * own pqopt the attribute would replace, or sets pqopt itself.
 * Takes @p full (wiped and freed) and returns the string to connect with, or NULL.
 */
static char *with_startup_search_path(const char *connstr, char *full)
{
    static const char head[] = "pqopt={options='", tail[] = "-c search_path=pg_catalog,pg_temp'};";
    if (dr_connstr_has(connstr, "DSN") || dr_connstr_has(connstr, "FILEDSN") ||
        dr_connstr_has(connstr, "pqopt") || dr_connstr_has(connstr, "D5"))
        return full;
    const char *env = getenv("PGOPTIONS");
    size_t n = strlen(full), envlen = env ? strlen(env) : 0;
    /* each byte of PGOPTIONS at most doubled (a conninfo \' or \\, an ODBC }}), and a blank */
    char *out = malloc(n + sizeof head + 2 * envlen + 1 + sizeof tail + 1);
    if (out != NULL) {
        size_t o = n;
        memcpy(out, full, n);
        if (n > 0 && full[n - 1] != ';')
            out[o++] = ';';
        memcpy(out + o, head, sizeof head - 1);
        o += sizeof head - 1;
        for (size_t i = 0; i < envlen; i++) {
            if (env[i] == '\'' || env[i] == '\\')
                out[o++] = '\\';
            else if (env[i] == '}')
                out[o++] = '}';
            out[o++] = env[i];
        }
        if (envlen > 0)
            out[o++] = ' ';
        memcpy(out + o, tail, sizeof tail);
    }
    dr_wipe(full, n);
    free(full);
    return out;
}

static dr_status session_timeouts(dr_db *db, const dr_db_timeouts *t, dr_error *err);

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
    char *full = connect_string(connstr);
    if (full != NULL)
        full = with_startup_search_path(connstr, full);
    if (full == NULL) {
        st = dr_fail(err, DR_ENOMEM, "out of memory connecting to the database");
        goto cleanup;
    }
    /* no output connection string: it would be one more copy of the password */
    SQLRETURN rc = SQLDriverConnect(db->dbc, NULL, (SQLCHAR *)full, SQL_NTS, NULL, 0, NULL,
                                    SQL_DRIVER_NOPROMPT);
    dr_wipe(full, strlen(full));
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
    /* the attribute's number is psqlODBC's own (driver-specific numbers overlap between
       drivers): read and switch it only with that driver (psqlodbcw.so, psqlodbca.so) */
    SQLCHAR driver[64] = "";
    SQLINTEGER declare_fetch = 0;
    if (SQL_SUCCEEDED(SQLGetInfo(db->dbc, SQL_DRIVER_NAME, driver, sizeof driver, NULL)) &&
        strncmp((const char *)driver, "psqlodbc", 8) == 0 &&
        SQL_SUCCEEDED(SQLGetConnectAttr(db->dbc, DR_PSQLODBC_USE_DECLAREFETCH, &declare_fetch,
                                        sizeof declare_fetch, NULL))) {
        db->cursor_switch = 1;
        db->cursor_wanted = db->cursor_now = declare_fetch != 0;
    }
    /* The search_path first, before any other statement of ours (sql/session_search_path.sql:
       pg_catalog, pg_temp), whatever the role or database set, and in the same statement
       constants only: the session's zone, which must not leak into any value, and its name;
       then the built-in bounds on the session's waits where nobody set one
       (sql/session_timeouts.sql). In autocommit, each its own transaction: two round trips,
       no BEGIN or COMMIT of their own. Then the tool's transactions: autocommit off. */
    st = dr_db_set_autocommit(db, 1, err);
    if (st == DR_OK)
        st = dr_db_exec(db, dr_sql_session_search_path, NULL, 0, NULL, err);
    if (st == DR_OK)
        st = session_timeouts(db, NULL, err);
    if (st == DR_OK)
        st = dr_db_set_autocommit(db, 0, err);
cleanup:
    if (st != DR_OK) {
        dr_db_close(db);
        return st;
    }
    *out = db;
    return DR_OK;
}

/* Run sql/session_timeouts.sql: @p t's configured values (NULL: none), else (defaults) the
   built-in ones where the session has none of its own. */
static dr_status session_timeouts(dr_db *db, const dr_db_timeouts *t, dr_error *err)
{
    int defaults = t == NULL;
    const dr_param p[] = {
        {"statement", t && t->statement[0] ? t->statement : NULL},
        {"lock", t && t->lock[0] ? t->lock : NULL},
        {"idle", t && t->idle[0] ? t->idle : NULL},
        {"statement_default", defaults ? DR_DEFAULT_STATEMENT_TIMEOUT : NULL},
        {"lock_default", defaults ? DR_DEFAULT_LOCK_TIMEOUT : NULL},
        {"idle_default", defaults ? DR_DEFAULT_IDLE_TIMEOUT : NULL},
    };
    dr_status st = dr_db_exec_named(db, dr_sql_session_timeouts, p, sizeof p / sizeof p[0], NULL, err);
    if (st != DR_OK)
        dr_error_prefix(err, "cannot set the session's timeouts: ");
    return st;
}

dr_status dr_db_apply_timeouts(dr_db *db, const dr_db_timeouts *t, dr_error *err)
{
    if (t == NULL || (!t->statement[0] && !t->lock[0] && !t->idle[0]))
        return DR_OK;
    dr_status st = session_timeouts(db, t, err);
    if (st == DR_OK)
        st = dr_db_commit(db, err);
    if (st != DR_OK)
        dr_db_rollback(db);
    return st;
}

dr_status dr_db_set_autocommit(dr_db *db, int on, dr_error *err)
{
    SQLULEN mode = on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF;
    if (!SQL_SUCCEEDED(SQLSetConnectAttr(db->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)mode, 0)))
        return conn_diag(db, SQL_HANDLE_DBC, db->dbc, err,
                         on ? "cannot turn autocommit on" : "cannot turn autocommit off");
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

/* Allocate a statement, bind the text parameters and execute; its rows, if any, through a
   server-side cursor when @p stream (result_mode). */
static dr_status execute(dr_db *db, const char *sql, const char *const *params, size_t nparams,
                         int stream, SQLLEN *inds, SQLHSTMT *out, dr_error *err)
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
                                        SQL_VARCHAR, len < DR_PARAM_MIN_SIZE ? DR_PARAM_MIN_SIZE : len, 0,
                                        (SQLPOINTER)v, (SQLLEN)len, &inds[i]);
        if (!SQL_SUCCEEDED(rc)) {
            st = diag(SQL_HANDLE_STMT, stmt, err, "cannot bind a parameter");
            goto cleanup;
        }
    }
    result_mode(db, stream);
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
/* Most columns a one-row lookup (dr_db_fetch_row_named) returns. */
#define DR_MAX_LOOKUP_COLS 32

dr_status dr_db_exec(dr_db *db, const char *sql, const char *const *params, size_t nparams,
                     long *rows, dr_error *err)
{
    SQLLEN inds[DR_MAX_PARAMS];
    SQLHSTMT stmt;
    if (nparams > DR_MAX_PARAMS)
        return dr_fail(err, DR_EINTERNAL, "too many parameters (%zu)", nparams);
    dr_status st = execute(db, sql, params, nparams, 0, inds, &stmt, err);
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

static dr_status open_query(dr_db *db, const char *sql, const char *const *params, size_t nparams,
                            size_t batch, int stream, dr_cursor **out, dr_error *err)
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
    st = execute(db, sql, params, nparams, stream, inds, &c->stmt, err);
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

dr_status dr_db_query(dr_db *db, const char *sql, const char *const *params, size_t nparams,
                      size_t batch, dr_cursor **out, dr_error *err)
{
    return open_query(db, sql, params, nparams, batch, 1, out, err);
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

static dr_status query_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                             size_t batch, int stream, dr_cursor **out, dr_error *err)
{
    named_sql ns = {0};
    dr_status st = named_prepare(sql, params, nparams, &ns, err);
    if (st == DR_OK)
        st = open_query(db, ns.sql, ns.values, ns.n, batch, stream, out, err);
    free(ns.sql);
    return st;
}

dr_status dr_db_query_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                            size_t batch, dr_cursor **out, dr_error *err)
{
    return query_named(db, sql, params, nparams, batch, 1, out, err);
}

dr_status dr_db_query_small_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                                  dr_cursor **out, dr_error *err)
{
    return query_named(db, sql, params, nparams, 0, 0, out, err);
}

dr_status dr_db_fetch_row_named(dr_db *db, const char *sql, const dr_param *params, size_t nparams,
                                char *const *dst, const size_t *sizes, size_t ncols, int *found,
                                dr_error *err)
{
    dr_cursor *c = NULL;
    const char *v[DR_MAX_LOOKUP_COLS];
    size_t l[DR_MAX_LOOKUP_COLS];
    *found = 0;
    dr_status st = query_named(db, sql, params, nparams, 1, 0, &c, err);
    if (st == DR_OK && (dr_cursor_ncols(c) < ncols || dr_cursor_ncols(c) > DR_MAX_LOOKUP_COLS))
        st = dr_fail(err, DR_EINTERNAL, "a lookup returned %zu columns, expected %zu", dr_cursor_ncols(c), ncols);
    if (st == DR_OK)
        st = dr_cursor_next(c, found, v, l, err);
    for (size_t i = 0; st == DR_OK && *found && i < ncols; i++)
        snprintf(dst[i], sizes[i], "%s", v[i] ? v[i] : "");
    dr_cursor_close(c);
    return st;
}
