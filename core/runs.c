/* The saved runs for operators: `runs list`, `runs show`, `runs prune` (docs/cli.md,
   docs/storage.md "Pruning"). Every statement is a sql/runs_*.sql file; lines go to the
   log's result callback only after the command's work succeeded (a failure prints none). */
#include "runs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "delivery.h"
#include "odbc.h"
#include "period_db.h"
#include "run_store.h"
#include "schema.h"
#include "sql_embedded.h"

/* Runs deleted per statement of a prune (one transaction for all of them). */
#define PRUNE_BATCH 500

/* ---- shared ------------------------------------------------------------------------ */

/* The lines of a command's result, sent only once all of its work has succeeded. */
typedef struct lines {
    dr_strstore store;
} lines;

static dr_status add_line(lines *out, dr_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static dr_status add_line(lines *out, dr_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    char *kept = dr_strstore_dup(&out->store, text);
    free(text);
    return kept ? DR_OK : dr_fail(err, DR_ENOMEM, "out of memory");
}

static void send_lines(const dr_log *log, const lines *out)
{
    for (size_t i = 0; i < out->store.n; i++)
        dr_log_result(log, out->store.bufs[i]);
}

/* @p v (may be NULL: "-") for a line: control bytes, a tab included, as \xNN (dr_printable_copy),
   so a field never splits a TSV line. @p buf holds 4 bytes per byte of @p v. */
static const char *field(const char *v, char *buf, size_t size)
{
    dr_printable_copy(v ? v : "-", buf, size);
    return buf;
}

/* Connect, bound the session's waits, let a first signal cancel, check the schema. */
static dr_status connect_checked(dr_runner *r, dr_db **db, dr_error *err)
{
    dr_status st = dr_db_connect(r->connstr, db, err);
    if (st == DR_OK)
        st = dr_db_apply_timeouts(*db, r->timeouts, err);
    if (st == DR_OK) {
        dr_interrupt_watch(r->intr, *db);
        st = dr_schema_check(*db, err);
    }
    return st;
}

static void disconnect(dr_runner *r, dr_db *db)
{
    dr_interrupt_watch(r->intr, NULL);
    if (db)
        dr_db_rollback(db); /* list and show only read; a prune has committed or is undone */
    dr_db_close(db);
}

/* A signal that cut the command short is what happened, whatever failed on the way. */
static dr_status signal_wins(const dr_runner *r, dr_status st, dr_error *err)
{
    if (st == DR_OK || st == DR_EINTERRUPTED || !dr_interrupt_signal(r->intr))
        return st;
    dr_error_clear(err);
    return dr_interrupt_check(r->intr, err);
}

/* One callback per row of a query with exactly @p want columns. */
typedef dr_status (*row_fn)(void *ctx, const char *const *v, dr_error *err);

static dr_status each_row(dr_db *db, const char *sql, const dr_param *p, size_t np, size_t want, row_fn fn,
                          void *ctx, dr_error *err)
{
    enum { MAXCOLS = 16 };
    dr_cursor *c = NULL;
    const char *v[MAXCOLS];
    size_t l[MAXCOLS];
    dr_status st = dr_db_query_named(db, sql, p, np, 0, &c, err);
    if (st == DR_OK && (dr_cursor_ncols(c) != want || want > MAXCOLS))
        st = dr_fail(err, DR_EINTERNAL, "a query of the runs returned %zu columns, expected %zu",
                     dr_cursor_ncols(c), want);
    while (st == DR_OK) {
        int has = 0;
        if ((st = dr_cursor_next(c, &has, v, l, err)) != DR_OK || !has)
            break;
        st = fn(ctx, v, err);
    }
    dr_cursor_close(c);
    return st;
}

/* A dr_ts_arg as the text PostgreSQL casts to timestamptz; no offset means UTC. */
static void ts_text(const dr_ts_arg *t, char *out, size_t size)
{
    snprintf(out, size, "%s%s", t->local, t->offset[0] ? t->offset : "+00:00");
}

/* ---- runs list --------------------------------------------------------------------- */

static dr_status list_row(void *ctx, const char *const *v, dr_error *err)
{
    enum { N = 10 };
    char f[N][512];
    for (size_t i = 0; i < N; i++)
        field(v[i], f[i], sizeof f[i]);
    return add_line(ctx, err, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", f[0], f[1], f[2], f[3], f[4], f[5], f[6],
                    f[7], f[8], f[9]);
}

dr_status dr_runs_list(dr_runner *r, const dr_runs_list_request *req, dr_error *err)
{
    dr_db *db = NULL;
    lines out = {0};
    char since[48], limit[24];
    ts_text(&req->since, since, sizeof since);
    snprintf(limit, sizeof limit, "%ld", req->limit);
    dr_param p[] = {{"tenant", req->tenant[0] ? req->tenant : NULL},
                    {"since", req->has_since ? since : NULL},
                    {"limit", limit}};
    double t0 = dr_log_now_ms();
    dr_status st = DR_OK;
    if (req->header)
        st = add_line(&out, err, "%s", DR_RUNS_LIST_HEADER);
    if (st == DR_OK)
        st = connect_checked(r, &db, err);
    dr_log_phase(r->log, "connect", &t0);
    if (st == DR_OK)
        st = each_row(db, dr_sql_runs_list, p, sizeof p / sizeof p[0], 10, list_row, &out, err);
    dr_log_phase(r->log, "read", &t0);
    st = signal_wins(r, st, err);
    disconnect(r, db);
    if (st == DR_OK)
        send_lines(r->log, &out);
    dr_strstore_free(&out.store);
    return st;
}

/* ---- runs show --------------------------------------------------------------------- */

/* What the sections of `runs show` share. */
typedef struct show_ctx {
    dr_db *db;
    const char *run_id;
    lines out;
    size_t rank; /* of the ranked principals */
    const char *totals_label;
} show_ctx;

/* The label column of `runs show`: "label:" padded, so the values line up. */
#define LABEL "%-16s"

static dr_status header_row(void *ctx, const char *const *v, dr_error *err)
{
    show_ctx *s = ctx;
    char f[16][512], q[DR_QUOTE_SIZE];
    if (v[10] && *v[10]) /* a comparison run: part of its run */
        return dr_fail(err, DR_EDATA, "run %s is the comparison period of run %s, not a run of its own: expected "
                       "a run id that 'dynoreport runs list' shows (dynoreport runs show %s)",
                       dr_quote(s->run_id, strlen(s->run_id), q, sizeof q), v[10], v[10]);
    for (size_t i = 0; i < 16; i++)
        field(v[i], f[i], sizeof f[i]);
    size_t plen = v[9] ? strlen(v[9]) : 1;
    char *params = malloc(plen * 4 + 2);
    if (params == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    field(v[9], params, plen * 4 + 2);
    int has_view = v[11] != NULL;
    dr_status st = add_line(&s->out, err, LABEL "%s", "run:", f[0]);
    if (st == DR_OK)
        st = add_line(&s->out, err, LABEL "%s%s%s%s", "tenant:", f[1], has_view ? " (" : "",
                      has_view ? f[11] : "", has_view ? ")" : " (no name stored)");
    if (st == DR_OK)
        st = add_line(&s->out, err, LABEL "%s", "report:", f[2]);
    if (st == DR_OK)
        st = add_line(&s->out, err, LABEL "%s%s%s%s [%s, %s)", "period:", f[3], has_view ? " (" : "",
                      has_view ? f[12] : "", has_view ? ")" : "", f[4], f[5]);
    if (st == DR_OK)
        st = add_line(&s->out, err, LABEL "%s", "time zone:", f[6]);
    if (st == DR_OK)
        st = add_line(&s->out, err, LABEL "%s", "generated at:", f[7]);
    if (st == DR_OK)
        st = add_line(&s->out, err, LABEL "%s", "tool version:", f[8]);
    if (st == DR_OK)
        st = add_line(&s->out, err, LABEL "%s", "parameters:", params);
    if (st == DR_OK && has_view)
        st = add_line(&s->out, err, LABEL "%s%s%s%s", "compare:", f[13], v[14] && *v[14] ? " (" : "",
                      v[14] && *v[14] ? f[14] : "", v[14] && *v[14] ? ")" : "");
    if (st == DR_OK && has_view)
        st = add_line(&s->out, err, LABEL "%s", "currency:", v[15] && *v[15] ? f[15] : "-");
    free(params);
    return st;
}

static dr_status show_header(show_ctx *s, dr_error *err)
{
    dr_param p[] = {{"run_id", s->run_id}};
    size_t before = s->out.store.n;
    dr_status st = each_row(s->db, dr_sql_runs_show_header, p, 1, 16, header_row, s, err);
    if (st == DR_OK && s->out.store.n == before)
        st = dr_fail(err, DR_EDATA, "no run '%s' in the database: expected the id a 'dynoreport run' printed",
                     s->run_id);
    return st;
}

static dr_status comparison_row(void *ctx, const char *const *v, dr_error *err)
{
    show_ctx *s = ctx;
    char f[5][512];
    for (size_t i = 0; i < 5; i++)
        field(v[i], f[i], sizeof f[i]);
    return add_line(&s->out, err, LABEL "%s %s [%s, %s), %s rows", "comparison run:", f[0], f[1], f[2], f[3], f[4]);
}

static dr_status show_comparison(show_ctx *s, dr_error *err)
{
    dr_param p[] = {{"run_id", s->run_id}};
    size_t before = s->out.store.n;
    dr_status st = each_row(s->db, dr_sql_runs_show_comparison, p, 1, 5, comparison_row, s, err);
    if (st == DR_OK && s->out.store.n == before)
        st = add_line(&s->out, err, LABEL "%s", "comparison run:", "none");
    return st;
}

static dr_status counts_row(void *ctx, const char *const *v, dr_error *err)
{
    show_ctx *s = ctx;
    char f[6][64];
    for (size_t i = 0; i < 6; i++)
        field(v[i], f[i], sizeof f[i]);
    return add_line(&s->out, err, LABEL "%s (%s users, %s groups); %s names, %s total rows, %s view row",
                    "rows:", f[0], f[1], f[2], f[3], f[4], f[5]);
}

static dr_status show_counts(show_ctx *s, dr_error *err)
{
    dr_param p[] = {{"run_id", s->run_id}};
    return each_row(s->db, dr_sql_runs_show_counts, p, 1, 6, counts_row, s, err);
}

static dr_status totals_row(void *ctx, const char *const *v, dr_error *err)
{
    show_ctx *s = ctx;
    char f[9][64];
    for (size_t i = 0; i < 9; i++)
        field(v[i], f[i], sizeof f[i]);
    dr_status st = add_line(&s->out, err, LABEL "%s %s: created %s, won %s, lost %s, amount won %s, average deal %s, "
                            "average days to close %s, win rate %s", s->totals_label, f[0], f[1], f[2], f[3], f[4],
                            f[5], f[6], f[7], f[8]);
    s->totals_label = "";
    return st;
}

static dr_status show_totals(show_ctx *s, dr_error *err)
{
    dr_param p[] = {{"run_id", s->run_id}};
    s->totals_label = "totals:";
    dr_status st = each_row(s->db, dr_sql_runs_show_totals, p, 1, 9, totals_row, s, err);
    if (st == DR_OK && *s->totals_label) /* none stored */
        st = add_line(&s->out, err, LABEL "%s", "totals:", "none");
    return st;
}

static dr_status top_row(void *ctx, const char *const *v, dr_error *err)
{
    show_ctx *s = ctx;
    char f[7][512];
    for (size_t i = 0; i < 7; i++)
        field(v[i], f[i], sizeof f[i]);
    return add_line(&s->out, err, "  %2zu. %s:%s  %s  amount won %s, won %s, created %s, win rate %s", ++s->rank,
                    f[0], f[1], v[2] && *v[2] ? f[2] : "(no name)", f[3], f[4], f[5], f[6]);
}

static dr_status show_top(show_ctx *s, dr_error *err)
{
    char top[16];
    snprintf(top, sizeof top, "%d", DR_RUNS_SHOW_TOP);
    dr_param p[] = {{"run_id", s->run_id}, {"top", top}};
    dr_status st = add_line(&s->out, err, "top %d by amount won:", DR_RUNS_SHOW_TOP);
    if (st == DR_OK)
        st = each_row(s->db, dr_sql_runs_show_top, p, 2, 7, top_row, s, err);
    if (st == DR_OK && s->rank == 0)
        st = add_line(&s->out, err, "  (no rows)");
    return st;
}

/* The run's deliveries, as delivery.c prints them (one block per delivery), line by line. */
static dr_status show_deliveries(show_ctx *s, dr_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    dr_status st = dr_delivery_print(s->db, s->run_id, mem, err);
    if (fclose(mem) != 0 && st == DR_OK)
        st = dr_fail(err, DR_ENOMEM, "out of memory");
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; st == DR_OK && line;
         line = strtok_r(NULL, "\n", &save))
        st = add_line(&s->out, err, "%s", line);
    free(text);
    return st;
}

/*
 * The sections of `runs show`, in order. Each appends its lines to s->out and may read
 * the database (the run's zone is the transaction's, so timestamps come out in it). A new
 * section is one more function here.
 */
typedef dr_status (*show_section)(show_ctx *s, dr_error *err);
static const show_section show_sections[] = {
    show_header, show_comparison, show_counts, show_totals, show_top, show_deliveries,
};

dr_status dr_runs_show(dr_runner *r, const char *run_id, dr_error *err)
{
    show_ctx s = {.run_id = run_id};
    char tz[128] = "";
    int found = 0;
    dr_zone zone = {.name = tz};
    double t0 = dr_log_now_ms();
    dr_status st = connect_checked(r, &s.db, err);
    dr_log_phase(r->log, "connect", &t0);
    /* the run's zone first, so its timestamps are shown as the run wrote them (as export) */
    if (st == DR_OK)
        st = dr_store_run_zone(s.db, run_id, tz, sizeof tz, &found, err);
    if (st == DR_OK && !found)
        st = dr_fail(err, DR_EDATA, "no run '%s' in the database: expected the id a 'dynoreport run' printed",
                     run_id);
    if (st == DR_OK)
        st = dr_zone_apply(s.db, &zone, err);
    for (size_t i = 0; st == DR_OK && i < sizeof show_sections / sizeof show_sections[0]; i++)
        st = show_sections[i](&s, err);
    dr_log_phase(r->log, "read", &t0);
    st = signal_wins(r, st, err);
    disconnect(r, s.db);
    if (st == DR_OK)
        send_lines(r->log, &s.out);
    dr_strstore_free(&s.out.store);
    return st;
}

/* ---- runs prune -------------------------------------------------------------------- */

dr_status dr_runs_age_parse(const char *text, dr_runs_prune_request *req, dr_error *err)
{
    static const struct { const char *word; const char *unit; } units[] = {
        {"d", "days"}, {"day", "days"}, {"days", "days"},
        {"w", "weeks"}, {"week", "weeks"}, {"weeks", "weeks"},
        {"month", "months"}, {"months", "months"},
        {"y", "years"}, {"year", "years"}, {"years", "years"},
    };
    const char *p = text;
    long n = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 7; p++, digits++)
        n = n * 10 + (*p - '0');
    /* a date or timestamp: YYYY-MM-DD... */
    if (digits == 4 && *p == '-') {
        dr_error sub = {0};
        if (dr_ts_arg_parse(text, "--older-than", &req->before, &sub) == DR_OK) {
            req->age[0] = '\0';
            return DR_OK;
        }
        return dr_fail_usage(err, "invalid --older-than %s: expected an age such as 90days, 2weeks, 13months or "
                             "1year, or a date YYYY-MM-DD[THH:MM[:SS]][+HH:MM] (UTC without an offset)", text);
    }
    for (size_t i = 0; digits > 0 && n >= 1 && n <= DR_RUNS_AGE_MAX && i < sizeof units / sizeof units[0]; i++)
        if (strcmp(p, units[i].word) == 0) {
            snprintf(req->age, sizeof req->age, "%ld %s", n, units[i].unit);
            return DR_OK;
        }
    return dr_fail_usage(err, "invalid --older-than %s: expected an age N UNIT without a blank (N from 1 to "
                         "100000; UNIT days, weeks, months or years, or d, w, y), such as 90days, 2weeks, "
                         "13months or 1year, or a date YYYY-MM-DD[THH:MM[:SS]][+HH:MM] (UTC without an offset)",
                         text);
}

/* The runs a prune chose: their lines, their ids, what goes with them. */
typedef struct prune_ctx {
    lines out;
    char **ids;
    size_t n, cap;
    long long facts, comparisons;
} prune_ctx;

static dr_status prune_row(void *ctx, const char *const *v, dr_error *err)
{
    prune_ctx *pc = ctx;
    char f[7][512];
    for (size_t i = 0; i < 7; i++)
        field(v[i], f[i], sizeof f[i]);
    if (v[0] == NULL || strlen(v[0]) != DR_UUID_LEN)
        return dr_fail(err, DR_EINTERNAL, "the prune query returned a run id that is not a UUID");
    if (pc->n == pc->cap) {
        size_t cap = pc->cap ? pc->cap * 2 : 64;
        char **grown = realloc(pc->ids, cap * sizeof *grown);
        if (grown == NULL)
            return dr_fail(err, DR_ENOMEM, "out of memory");
        pc->ids = grown;
        pc->cap = cap;
    }
    /* the line's first field is the id: the delete batches point into the lines */
    dr_status st = add_line(&pc->out, err, "%s\t%s\t%s\t%s\t%s", f[0], f[1], f[3], f[4], f[5]);
    if (st != DR_OK)
        return st;
    pc->ids[pc->n++] = pc->out.store.bufs[pc->out.store.n - 1];
    pc->facts += strtoll(v[5] ? v[5] : "0", NULL, 10);
    pc->comparisons += strtoll(v[6] ? v[6] : "0", NULL, 10);
    return DR_OK;
}

/* Delete the chosen runs by id, PRUNE_BATCH per statement, each still limited to the cut. */
static dr_status prune_delete(dr_runner *r, dr_db *db, const prune_ctx *pc, const char *cut, dr_error *err)
{
    char *ids = malloc(PRUNE_BATCH * (DR_UUID_LEN + 1) + 1);
    dr_status st = ids ? DR_OK : dr_fail(err, DR_ENOMEM, "out of memory");
    for (size_t i = 0; st == DR_OK && i < pc->n; i += PRUNE_BATCH) {
        size_t used = 0, batch = pc->n - i < PRUNE_BATCH ? pc->n - i : PRUNE_BATCH;
        for (size_t j = 0; j < batch; j++) {
            if (j)
                ids[used++] = ',';
            memcpy(ids + used, pc->ids[i + j], DR_UUID_LEN);
            used += DR_UUID_LEN;
        }
        ids[used] = '\0';
        dr_param p[] = {{"ids", ids}, {"cut", cut}};
        long rows = 0;
        if ((st = dr_db_exec_named(db, dr_sql_runs_prune_delete, p, 2, &rows, err)) == DR_OK &&
            rows != (long)batch)
            st = dr_fail(err, DR_ETEMPFAIL, "the runs changed while they were pruned (%ld of %zu runs of a batch "
                         "were still there to delete; another prune at the same time?): nothing was deleted, run "
                         "the command again", rows, batch);
        if (st == DR_OK)
            st = dr_interrupt_check(r->intr, err);
    }
    free(ids);
    return st;
}

dr_status dr_runs_prune(dr_runner *r, const dr_runs_prune_request *req, dr_error *err)
{
    dr_db *db = NULL;
    prune_ctx pc = {0};
    char before[48], cut[64] = "", future[4] = "", keep[24];
    char *const cut_dst[2] = {cut, future};
    const size_t cut_size[2] = {sizeof cut, sizeof future};
    int found = 0;
    ts_text(&req->before, before, sizeof before);
    snprintf(keep, sizeof keep, "%ld", req->keep_last);
    dr_param pcut[] = {{"age", req->age[0] ? req->age : NULL}, {"before", req->age[0] ? NULL : before}};
    double t0 = dr_log_now_ms();
    dr_status st = connect_checked(r, &db, err);
    dr_log_phase(r->log, "connect", &t0);
    if (st == DR_OK)
        st = dr_db_fetch_row_named(db, dr_sql_runs_prune_cut, pcut, 2, cut_dst, cut_size, 2, &found, err);
    if (st == DR_OK && (!found || !*cut))
        st = dr_fail(err, DR_EINTERNAL, "the cut of the prune could not be computed");
    if (st == DR_OK && strcmp(future, "1") == 0)
        st = dr_fail(err, DR_EUSAGE, "--older-than gives the cut %s, which is after now: expected an age, or a "
                     "date in the past (every run would go)", cut);
    dr_param psel[] = {{"tenant", req->tenant[0] ? req->tenant : NULL}, {"keep", keep}, {"cut", cut}};
    if (st == DR_OK)
        st = each_row(db, dr_sql_runs_prune_select, psel, 3, 7, prune_row, &pc, err);
    dr_log_phase(r->log, "choose", &t0);
    if (st == DR_OK && !req->dry_run && pc.n > 0) {
        st = prune_delete(r, db, &pc, cut, err);
        dr_log_phase(r->log, "delete", &t0);
    }
    if (st == DR_OK && !req->dry_run && pc.n > 0) {
        st = dr_db_commit(db, err);
        dr_log_phase(r->log, "commit", &t0);
    }
    st = signal_wins(r, st, err);
    disconnect(r, db); /* rolls back a dry run and a failed prune */
    if (st == DR_OK) {
        char kept[128] = "";
        if (req->keep_last > 0)
            snprintf(kept, sizeof kept, ", keeping the newest %ld of each tenant and report type", req->keep_last);
        send_lines(r->log, &pc.out);
        if (pc.n == 0)
            dr_log_msg(r->log, DR_LOG_INFO, "runs prune: no run generated before %s to remove%s%s", cut, kept,
                       req->dry_run ? " (--dry-run)" : "");
        else
            dr_log_msg(r->log, DR_LOG_INFO, "runs prune: %s %zu run%s (with %lld comparison run%s and %lld fact "
                       "rows) generated before %s%s%s", req->dry_run ? "would remove" : "removed", pc.n,
                       pc.n == 1 ? "" : "s", pc.comparisons, pc.comparisons == 1 ? "" : "s", pc.facts, cut, kept,
                       req->dry_run ? " (--dry-run: nothing was deleted)" : "");
    }
    free(pc.ids);
    dr_strstore_free(&pc.out.store);
    return st;
}
