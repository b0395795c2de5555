/* The orchestration of `run` and `export`: connect, compute in one transaction, feed
   the output plan from one read of the fact rows, commit, publish. */
#include "runner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "odbc.h"
#include "report.h"
#include "run_store.h"
#include "run_view.h"
#include "schema.h"

#ifndef DR_VERSION
#define DR_VERSION "0"
#endif

/* The state of one run or export. */
typedef struct run_ctx {
    dr_runner *r;
    dr_db *db;
    dr_run_meta meta;
    dr_run_info info;
    dr_view_meta view;    /* names, comparison, titles (stored with the run) */
    dr_report_view rview; /* the same for the plugins (ABI 1.2) */
    dr_output_files *files;
    long nrows;    /* fact rows written */
    int published; /* past the commit (or the --no-persist rollback): files go in place */
    int kept;      /* db is the runner's kept connection (r->db): not closed with the run */
    double t0;     /* start of the current phase (ms) */
} run_ctx;

/* A signal that cut a run short is what happened, whatever failed on the way (a
   cancelled statement says "canceling statement due to user request"): say so. */
static dr_status interrupted_wins(const run_ctx *ctx, dr_status st, dr_error *err)
{
    if (st == DR_OK || st == DR_EINTERRUPTED || ctx->published || !dr_interrupt_signal(ctx->r->intr))
        return st;
    dr_error_clear(err);
    return dr_interrupt_check(ctx->r->intr, err);
}

static dr_status connect_checked(run_ctx *ctx, dr_error *err)
{
    if (ctx->r->keep_connection && ctx->r->db) { /* connected and checked by an earlier run */
        ctx->db = ctx->r->db;
        ctx->kept = 1;
        dr_interrupt_watch(ctx->r->intr, ctx->db);
        dr_log_phase(ctx->r->log, "connect", &ctx->t0);
        return DR_OK;
    }
    dr_status st = dr_db_connect(ctx->r->connstr, &ctx->db, err);
    if (st == DR_OK)
        st = dr_db_apply_timeouts(ctx->db, ctx->r->timeouts, err);
    if (st != DR_OK)
        return st;
    dr_interrupt_watch(ctx->r->intr, ctx->db);
    st = dr_schema_check(ctx->db, err);
    if (st == DR_OK && ctx->r->keep_connection) {
        ctx->r->db = ctx->db;
        ctx->kept = 1;
    }
    dr_log_phase(ctx->r->log, "connect", &ctx->t0);
    return st;
}

void dr_runner_close(dr_runner *r)
{
    if (r == NULL)
        return;
    dr_db_close(r->db);
    r->db = NULL;
}

/* For a second Ctrl-C: runs on the signal thread, removes the staged files by handle. */
static void remove_staged(void *files)
{
    dr_output_files_remove_staged(files);
}

/* @p keep: the run ended cleanly enough (its transaction committed or rolled back) for the
   runner's kept connection to serve the next run; after a failure it is closed, so a
   lost or cancelled session never carries over. */
static void ctx_free(run_ctx *ctx, int keep)
{
    dr_interrupt_set_cleanup(ctx->r->intr, NULL, NULL);
    dr_output_files_free(ctx->files);
    ctx->files = NULL;
    dr_interrupt_watch(ctx->r->intr, NULL);
    if (!ctx->kept || !keep) {
        dr_db_close(ctx->db);
        if (ctx->kept)
            ctx->r->db = NULL;
    }
    ctx->db = NULL;
    dr_run_meta_free(&ctx->meta);
}

static void info_from_meta(run_ctx *ctx)
{
    dr_run_meta *m = &ctx->meta;
    ctx->info = (dr_run_info){
        .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_run_info), .report = DR_REPORT_NAME,
        .run_id = m->run_id, .tenant_id = m->tenant, .period_label = m->period_label,
        .period_start = m->start, .period_end = m->end, .time_zone = m->tz,
        .generated_at = m->generated, .principals = m->principals ? m->principals : "all",
        .tool_version = DR_VERSION};
}

dr_status dr_run_principals_text(dr_run_meta *m, const dr_run_request *req, dr_error *err)
{
    size_t n = req->all_principals ? 4 : req->nprincipals * (DR_UUID_LEN + 8) + 1;
    char *t = malloc(n);
    if (t == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    if (req->all_principals) {
        strcpy(t, "all");
    } else {
        size_t used = 0;
        t[0] = '\0';
        for (size_t i = 0; i < req->nprincipals; i++)
            used += (size_t)snprintf(t + used, n - used, "%s%s:%s", i ? "," : "",
                                     dr_principal_type_name(req->principals[i].type), req->principals[i].id);
    }
    m->principals = t;
    return DR_OK;
}

/* Read the run's rows once and hand each row to every format: the fact rows, and when a
   format asked for the report view, the view's columns and its gone and total rows too. */
static dr_status feed(run_ctx *ctx, long *nrows, dr_error *err)
{
    enum { NCOLS = DR_REPORT_NCOLS + DR_VIEW_NCOLUMNS };
    dr_cursor *cur = NULL;
    double t_read = 0, t_write = 0, t;
    int with_view = dr_output_plan_wants_view(ctx->r->plan);
    size_t want = with_view ? NCOLS : DR_REPORT_NCOLS;
    *nrows = 0;
    dr_status st = with_view ? dr_view_read_rows(ctx->db, ctx->meta.run_id, &cur, err)
                             : dr_store_read_facts(ctx->db, ctx->meta.run_id, &cur, err);
    if (st != DR_OK)
        return st;
    size_t ncols = dr_cursor_ncols(cur);
    if (ncols != want) {
        dr_cursor_close(cur);
        return dr_fail(err, DR_EINTERNAL, "the report query returned %zu columns, expected %zu", ncols, want);
    }
    const char *text[NCOLS];
    size_t lens[NCOLS];
    dr_value values[NCOLS];
    for (;;) {
        int has = 0;
        if ((st = dr_interrupt_check(ctx->r->intr, err)) != DR_OK)
            break;
        t = dr_log_now_ms();
        st = dr_cursor_next(cur, &has, text, lens, err);
        t_read += dr_log_now_ms() - t;
        if (st != DR_OK || !has)
            break;
        for (size_t c = 0; c < want && st == DR_OK; c++)
            st = dr_value_from_text(&dr_report_all_columns[c], text[c], lens[c], &values[c], err);
        int is_fact = !with_view || (text[DR_REPORT_NCOLS] && strcmp(text[DR_REPORT_NCOLS], DR_ROW_PRINCIPAL) == 0);
        t = dr_log_now_ms();
        if (st == DR_OK)
            st = dr_output_row(ctx->files, values, is_fact, err);
        t_write += dr_log_now_ms() - t;
        if (st != DR_OK)
            break;
        *nrows += is_fact;
    }
    dr_cursor_close(cur);
    dr_log_msg(ctx->r->log, DR_LOG_DEBUG, "read back: %.1f ms (%ld rows; the plugins took %.1f ms of the "
               "write)", t_read, *nrows, t_write);
    return st;
}

/* Everything after the fact rows exist: feed, finish, commit or roll back, publish. */
/* After the publish: every destination of the runner, with the files in place. */
static dr_status deliver(run_ctx *ctx, dr_error *err)
{
    dr_delivery_file files[DR_MAX_FORMATS];
    size_t n = dr_output_files_count(ctx->files);
    struct stat sb;
    for (size_t i = 0; i < n && i < DR_MAX_FORMATS; i++) {
        dr_output_file_at(ctx->files, i, &files[i].name, &files[i].path, &files[i].format);
        files[i].content_type = dr_delivery_content_type(files[i].format);
        files[i].size = stat(files[i].path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    }
    dr_delivery_run run = {.info = &ctx->info, .tenant_name = ctx->rview.tenant_name,
                           .period_title = ctx->rview.period_title, .from_c = ctx->meta.from_c,
                           .to_c = ctx->meta.to_c, .generated_c = ctx->meta.generated_c, .files = files,
                           .nfiles = n};
    dr_status st = dr_delivery_execute(ctx->r->deliveries, ctx->db, &run, err);
    dr_log_phase(ctx->r->log, "deliver", &ctx->t0);
    return st;
}

/* The run's files: staged, fed from one read-back, finished (synced). With @p own_cleanup,
   a second signal meanwhile removes them (a batch sets one cleanup for all its runs). */
static dr_status stage_files(run_ctx *ctx, int own_cleanup, dr_error *err)
{
    dr_name_vars v = {DR_REPORT_NAME, ctx->meta.tenant, ctx->meta.period_label, ctx->meta.from_c,
                      ctx->meta.to_c, ctx->meta.run_id, ctx->meta.generated_c, NULL};
    dr_view_to_report_view(&ctx->view, &ctx->rview);
    dr_status st = dr_output_begin(ctx->r->plan, &v, &ctx->info, &ctx->rview, &ctx->files, err);
    if (ctx->files && own_cleanup)
        dr_interrupt_set_cleanup(ctx->r->intr, remove_staged, ctx->files);
    if (st == DR_OK)
        st = feed(ctx, &ctx->nrows, err);
    if (st == DR_OK)
        st = dr_output_finish(ctx->files, err);
    if (st == DR_OK)
        st = dr_interrupt_check(ctx->r->intr, err);
    dr_log_phase(ctx->r->log, "write", &ctx->t0);
    return st;
}

/* After the commit (or the --no-persist rollback): the run id, the files in place, the
   deliveries. */
static dr_status publish(run_ctx *ctx, const char *done, dr_error *err)
{
    const dr_log *log = ctx->r->log;
    ctx->published = 1;
    dr_log_result(log, ctx->meta.run_id);
    dr_log_msg(log, DR_LOG_INFO, "run %s: %ld rows %s", ctx->meta.run_id, ctx->nrows, done);
    dr_status st = dr_output_publish(ctx->files, ctx->meta.run_id, log, err);
    dr_log_phase(log, "publish", &ctx->t0);
    if (st == DR_OK && ctx->r->deliveries) /* never with --no-persist (refused by the CLI) */
        st = deliver(ctx, err);
    return st;
}

static dr_status write_and_publish(run_ctx *ctx, int commit, const char *done, dr_error *err)
{
    dr_status st = stage_files(ctx, 1, err);
    if (st != DR_OK)
        return st;
    if (commit)
        st = dr_db_commit(ctx->db, err);
    else
        dr_db_rollback(ctx->db);
    if (st != DR_OK)
        return st;
    dr_log_phase(ctx->r->log, commit ? "commit" : "rollback", &ctx->t0);
    return publish(ctx, done, err);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The lock of the run's (report, tenant, period), tried and polled (10 ms, doubling to
   200 ms) up to r->lock_timeout_ms, or tried once for a claim. A poll of its own instead
   of pg_advisory_xact_lock under a lock_timeout: the wait is bounded by the tool whatever
   the session's lock_timeout and statement_timeout say, a signal is seen between polls,
   and the transaction never idles longer than one pause. */
static dr_status claim(run_ctx *ctx, const dr_run_request *req, dr_run_outcome *outcome, dr_error *err)
{
    dr_runner *r = ctx->r;
    long waited = 0, pause = 10, limit = req->claim_try ? 0 : r->lock_timeout_ms;
    double start = dr_log_now_ms();
    for (;;) {
        int taken = 0;
        dr_status st = dr_store_try_lock(ctx->db, &ctx->meta, &taken, err);
        if (st != DR_OK || taken)
            return st;
        waited = (long)(dr_log_now_ms() - start);
        if (waited >= limit) {
            *outcome = DR_RUN_BUSY;
            if (req->claim_try)
                return dr_fail(err, DR_ETEMPFAIL, "tenant %s, period %s: claimed by another session", ctx->meta.tenant,
                               ctx->meta.period_label);
            return dr_fail(err, DR_ETEMPFAIL, "another run of report %s for tenant %s and period %s (%s .. %s) is in "
                           "progress and held its lock for longer than --lock-timeout (%ld ms); nothing was saved: "
                           "try again later, or raise --lock-timeout", DR_REPORT_NAME, ctx->meta.tenant,
                           ctx->meta.period_label, ctx->meta.start, ctx->meta.end, limit);
        }
        if (pause == 10)
            dr_log_msg(r->log, DR_LOG_INFO, "waiting for another run of tenant %s, period %s, to end (up to %ld ms)",
                       ctx->meta.tenant, ctx->meta.period_label, limit);
        sleep_ms(pause < limit - waited ? pause : limit - waited);
        if ((st = dr_interrupt_check(r->intr, err)) != DR_OK)
            return st;
        pause = pause * 2 > 200 ? 200 : pause * 2;
    }
}

/* --skip-existing found saved run @p id: its files' paths as results when every file is
   in place, else export it again (all formats) while this transaction keeps the lock. */
static dr_status reuse_existing(run_ctx *ctx, const char *id, dr_run_outcome *outcome, dr_error *err)
{
    dr_runner *r = ctx->r;
    dr_run_meta saved = {0};
    char paths[DR_MAX_FORMATS][4352];
    size_t n = dr_output_plan_count(r->plan), missing = 0;
    dr_status st = dr_store_read_run(ctx->db, id, &saved, err);
    dr_name_vars v = {DR_REPORT_NAME, saved.tenant, saved.period_label, saved.from_c, saved.to_c, saved.run_id,
                      saved.generated_c, NULL};
    for (size_t i = 0; st == DR_OK && i < n && i < DR_MAX_FORMATS; i++) {
        int exists = 0;
        st = dr_output_plan_file(r->plan, i, &v, paths[i], sizeof paths[i], &exists, err);
        missing += st == DR_OK && !exists;
    }
    dr_run_meta_free(&saved);
    if (st != DR_OK)
        return st;
    if (missing) {
        dr_log_msg(r->log, DR_LOG_INFO, "run %s is saved already with the same options (--skip-existing); %zu of "
                   "its %zu files missing: exporting it again", id, missing, n);
        *outcome = DR_RUN_EXPORTED;
        int keep = r->keep_connection;
        dr_db *kept = r->db;
        r->keep_connection = 0; /* its own connection: this one holds the lock meanwhile */
        r->db = NULL;
        st = dr_run_export(r, id, err);
        r->keep_connection = keep;
        r->db = kept;
        return st;
    }
    *outcome = DR_RUN_SKIPPED;
    dr_log_result(r->log, id);
    for (size_t i = 0; i < n && i < DR_MAX_FORMATS; i++)
        dr_log_result(r->log, paths[i]);
    dr_log_msg(r->log, DR_LOG_INFO, "run %s is saved already with the same options and its files are in place "
               "(--skip-existing): nothing computed", id);
    return DR_OK;
}

dr_status dr_run_execute(dr_runner *r, const dr_run_request *req, dr_error *err)
{
    dr_run_outcome outcome;
    return dr_run_execute_outcome(r, req, &outcome, err);
}

dr_status dr_run_execute_outcome(dr_runner *r, const dr_run_request *req, dr_run_outcome *outcome,
                                 dr_error *err)
{
    run_ctx ctx = {.r = r, .t0 = dr_log_now_ms()};
    char existing[64] = "";
    int found = 0;
    *outcome = DR_RUN_DONE;
    int explicit = !req->all_principals;
    dr_period_request preq = {req->has_range, &req->period, &req->from, &req->to, req->tz};
    snprintf(ctx.meta.tenant, sizeof ctx.meta.tenant, "%s", req->tenant);
    snprintf(ctx.meta.tz, sizeof ctx.meta.tz, "%s", req->tz);
    if (r->zone.name == NULL || strcmp(r->zone.name, req->tz) != 0)
        r->zone = (dr_zone){.name = req->tz};
    dr_status st = dr_tz_check(req->tz, err);
    if (st == DR_OK)
        st = dr_run_principals_text(&ctx.meta, req, err);
    if (st == DR_OK)
        st = connect_checked(&ctx, err);
    if (st == DR_OK)
        st = dr_zone_apply(ctx.db, &r->zone, err);
    if (st == DR_OK)
        st = dr_period_resolve(ctx.db, &preq, &ctx.meta, err);
    if (st == DR_OK)
        st = claim(&ctx, req, outcome, err);
    if (st == DR_OK && req->skip_existing)
        st = dr_store_find_existing(ctx.db, &ctx.meta, explicit, req->period_text, existing, sizeof existing,
                                    &found, err);
    if (st == DR_OK && found) {
        st = reuse_existing(&ctx, existing, outcome, err);
        goto done;
    }
    if (st == DR_OK)
        st = dr_view_resolve(ctx.db, &preq, &ctx.meta, req->view.compare ? req->view.compare : "previous",
                             &ctx.view, err);
    if (st == DR_OK && strcmp(ctx.view.compare, "none") == 0 && req->view.compare &&
        strcmp(req->view.compare, "none") != 0)
        dr_log_msg(r->log, DR_LOG_INFO, "no comparison period: the period before %s cannot be represented",
                   ctx.meta.start);
    if (st == DR_OK)
        info_from_meta(&ctx);
    if (st == DR_OK)
        st = dr_store_insert_run(ctx.db, &ctx.meta, explicit, req->period_text, dr_output_plan_formats(r->plan),
                                 err);
    if (st == DR_OK)
        st = dr_view_store(ctx.db, &ctx.meta, explicit, &req->view, &ctx.view, err);
    if (st == DR_OK && ctx.view.dropped[0])
        dr_log_msg(r->log, DR_LOG_WARN, "warning: the report is made without its comparison period: %s",
                   ctx.view.dropped);
    if (st == DR_OK)
        st = dr_interrupt_check(r->intr, err);
    if (st == DR_OK) {
        dr_log_phase(r->log, "compute", &ctx.t0);
        st = write_and_publish(&ctx, req->persist, req->persist ? "written"
                               : "written (--no-persist: nothing saved in the database)", err);
    }
done:
    st = interrupted_wins(&ctx, st, err);
    if (ctx.db && (st != DR_OK || found))
        dr_db_rollback(ctx.db); /* a failure, or the lock of a reused run */
    ctx_free(&ctx, st == DR_OK || (*outcome == DR_RUN_BUSY && st == DR_ETEMPFAIL));
    return st;
}

/* ---- a batch of a job's tenants ------------------------------------------------------ */

/* The staged files of a batch's runs, for a second signal. */
typedef struct batch_staged {
    run_ctx *ctx;
    size_t n;
} batch_staged;

static void remove_staged_batch(void *p)
{
    const batch_staged *b = p;
    for (size_t i = 0; i < b->n; i++)
        if (b->ctx[i].files)
            dr_output_files_remove_staged(b->ctx[i].files);
}

/* Tenant @p i of a batch up to its run header: bounds and run id, the claim (tried), the
   --skip-existing check, the comparison period, the headers. *@p take 0: leave it to a
   run of its own (claimed by another session, or saved already). */
static dr_status batch_prepare(run_ctx *c, const dr_run_request *req, const char *tenant, int *take,
                               dr_error *err)
{
    dr_period_request preq = {req->has_range, &req->period, &req->from, &req->to, req->tz};
    int explicit = !req->all_principals, taken = 0, found = 0;
    char existing[64] = "";
    *take = 0;
    snprintf(c->meta.tenant, sizeof c->meta.tenant, "%s", tenant);
    snprintf(c->meta.tz, sizeof c->meta.tz, "%s", req->tz);
    dr_status st = dr_run_principals_text(&c->meta, req, err);
    if (st == DR_OK)
        st = dr_period_resolve(c->db, &preq, &c->meta, err);
    if (st == DR_OK)
        st = dr_store_try_lock(c->db, &c->meta, &taken, err);
    if (st == DR_OK && taken && req->skip_existing)
        st = dr_store_find_existing(c->db, &c->meta, explicit, req->period_text, existing, sizeof existing, &found,
                                    err);
    if (st != DR_OK || !taken || found)
        return st;
    st = dr_view_resolve(c->db, &preq, &c->meta, req->view.compare ? req->view.compare : "previous", &c->view, err);
    if (st == DR_OK) {
        info_from_meta(c);
        dr_view_prepare(&c->meta, &req->view, &c->view);
        st = dr_store_insert_run(c->db, &c->meta, explicit, req->period_text, dr_output_plan_formats(c->r->plan),
                                 err);
    }
    if (st == DR_OK && strcmp(c->view.compare, "none") != 0)
        st = dr_view_insert_comparison_run(c->db, &c->meta, &c->view, err);
    *take = st == DR_OK;
    return st;
}

dr_status dr_run_execute_batch(dr_runner *r, const dr_run_request *req, char (*tenants)[DR_UUID_LEN + 1],
                               size_t n, int *done,
                               void (*published)(void *ctx, size_t i, dr_status st, const dr_error *err),
                               void *pctx, dr_error *err)
{
    run_ctx *ctx = calloc(n ? n : 1, sizeof *ctx);
    const dr_run_meta **metas = calloc(n ? n : 1, sizeof *metas);
    const char **compare_ids = calloc(n ? n : 1, sizeof *compare_ids);
    batch_staged staged = {ctx, n};
    size_t k = 0, first = 0;
    long rows = 0, compare_rows = 0;
    int compare = 0, committed = 0;
    double t0 = dr_log_now_ms();
    dr_status st = ctx && metas && compare_ids ? DR_OK : dr_fail(err, DR_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        done[i] = 0;
    if (r->zone.name == NULL || strcmp(r->zone.name, req->tz) != 0)
        r->zone = (dr_zone){.name = req->tz};
    if (st == DR_OK)
        st = dr_tz_check(req->tz, err);
    if (st == DR_OK) {
        ctx[0] = (run_ctx){.r = r, .t0 = t0};
        st = connect_checked(&ctx[0], err);
    }
    if (st == DR_OK)
        st = dr_zone_apply(ctx[0].db, &r->zone, err);
    for (size_t i = 0; st == DR_OK && i < n; i++) {
        if (i) /* the batch's one connection, closed with ctx[0] */
            ctx[i] = (run_ctx){.r = r, .db = ctx[0].db, .kept = 1, .t0 = t0};
        int take = 0;
        st = batch_prepare(&ctx[i], req, tenants[i], &take, err);
        if (st != DR_OK || !take)
            continue;
        int with = strcmp(ctx[i].view.compare, "none") != 0;
        if (k && with != compare) /* the same period for all: cannot happen, but say so if it does */
            st = dr_fail(err, DR_EINTERNAL, "the tenants of a batch have different comparison periods");
        compare = with;
        if (k == 0)
            first = i;
        metas[k] = &ctx[i].meta;
        compare_ids[k++] = ctx[i].view.compare_run_id;
        done[i] = 1;
    }
    if (st == DR_OK && k)
        st = dr_store_compute_runs(ctx[0].db, metas, compare ? compare_ids : NULL, k,
                                   compare ? ctx[first].view.compare_start : NULL,
                                   compare ? ctx[first].view.compare_end : NULL,
                                   !req->all_principals, &rows, &compare_rows, err);
    for (size_t i = 0; st == DR_OK && i < n; i++)
        if (done[i])
            st = dr_view_store_names(ctx[i].db, &ctx[i].meta, &req->view, &ctx[i].view, err);
    if (st == DR_OK)
        st = dr_interrupt_check(r->intr, err);
    dr_log_msg(r->log, DR_LOG_DEBUG, "batch: %zu of %zu tenants computed with one statement (%ld fact rows, %ld of "
               "the comparison period)", k, n, rows, compare_rows);
    if (st == DR_OK)
        dr_log_phase(r->log, "compute", &ctx[0].t0);
    dr_interrupt_set_cleanup(r->intr, remove_staged_batch, &staged);
    for (size_t i = 0; st == DR_OK && i < n; i++)
        if (done[i]) {
            ctx[i].t0 = dr_log_now_ms();
            st = stage_files(&ctx[i], 0, err);
        }
    if (ctx && ctx[0].r)
        ctx[0].t0 = dr_log_now_ms();
    if (st == DR_OK && k)
        st = dr_db_commit(ctx[0].db, err);
    else if (ctx && ctx[0].db)
        dr_db_rollback(ctx[0].db); /* a failure, or only the claims of tenants left to runs of their own */
    committed = st == DR_OK && k;
    if (committed) {
        dr_log_phase(r->log, "commit", &ctx[0].t0);
        for (size_t i = 0; i < n; i++)
            if (done[i]) {
                dr_error e = {0};
                ctx[i].t0 = dr_log_now_ms();
                dr_status pst = publish(&ctx[i], "written", &e);
                if (published)
                    published(pctx, i, pst, &e);
            }
    }
    if (st != DR_OK)
        for (size_t i = 0; i < n; i++)
            done[i] = 0;
    if (ctx && ctx[0].r)
        st = interrupted_wins(&ctx[0], st, err);
    dr_interrupt_set_cleanup(r->intr, NULL, NULL);
    for (size_t i = n; ctx && i-- > 1;)
        if (ctx[i].r)
            ctx_free(&ctx[i], 1);
    if (ctx && ctx[0].r)
        ctx_free(&ctx[0], st == DR_OK);
    free(ctx);
    free(metas);
    free(compare_ids);
    return st;
}

dr_status dr_run_export(dr_runner *r, const char *run_id, dr_error *err)
{
    run_ctx ctx = {.r = r, .t0 = dr_log_now_ms()};
    int found = 0;
    dr_zone zone = {.name = ctx.meta.tz};
    dr_status st = connect_checked(&ctx, err);
    /* The run's zone first, so its timestamps are written as the run wrote them. */
    if (st == DR_OK)
        st = dr_store_run_zone(ctx.db, run_id, ctx.meta.tz, sizeof ctx.meta.tz, &found, err);
    if (st == DR_OK && !found)
        st = dr_fail(err, DR_EDATA, "no run '%s' in the database: expected the id a 'dynoreport run' printed",
                     run_id);
    if (st == DR_OK)
        st = dr_zone_apply(ctx.db, &zone, err);
    if (st == DR_OK)
        st = dr_store_read_run(ctx.db, run_id, &ctx.meta, err);
    if (st == DR_OK)
        st = dr_view_read(ctx.db, &ctx.meta, &ctx.view, err);
    if (st == DR_OK) {
        info_from_meta(&ctx);
        dr_log_phase(r->log, "read run", &ctx.t0);
        st = write_and_publish(&ctx, 0, "exported (the saved run is unchanged)", err);
    }
    st = interrupted_wins(&ctx, st, err);
    if (st != DR_OK && ctx.db)
        dr_db_rollback(ctx.db);
    ctx_free(&ctx, st == DR_OK);
    return st;
}
