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

enum { NCOLS = DR_REPORT_NCOLS + DR_VIEW_NCOLUMNS };

/* The read-back of one or more runs, one statement, fed to their files run after run. */
typedef struct row_source {
    dr_cursor *cur;
    int with_view; /* a format asked for the report view: its columns and rows too */
    size_t want;   /* columns */
    int pending;   /* text/lens hold a row fetched but not fed: the next run's first */
    const char *text[NCOLS];
    size_t lens[NCOLS];
} row_source;

static dr_status rows_open(row_source *src, const dr_runner *r, dr_db *db, const char *const *run_ids, size_t n,
                           dr_error *err)
{
    *src = (row_source){.with_view = dr_output_plan_wants_view(r->plan)};
    src->want = src->with_view ? NCOLS : DR_REPORT_NCOLS;
    dr_status st = src->with_view ? dr_view_read_rows(db, run_ids, n, &src->cur, err)
                                  : dr_store_read_runs(db, NULL, run_ids, n, &src->cur, err);
    if (st == DR_OK && dr_cursor_ncols(src->cur) != src->want)
        st = dr_fail(err, DR_EINTERNAL, "the report query returned %zu columns, expected %zu",
                     dr_cursor_ncols(src->cur), src->want);
    return st;
}

/* Every row was fed to its run: nothing pending, nothing left. */
static dr_status rows_end(row_source *src, dr_error *err)
{
    int has = src->pending;
    dr_status st = has ? DR_OK : dr_cursor_next(src->cur, &has, src->text, src->lens, err);
    if (st == DR_OK && has)
        st = dr_fail(err, DR_EINTERNAL, "the read-back returned a row of run %s out of order",
                     src->text[0] ? src->text[0] : "NULL");
    return st;
}

static void rows_close(row_source *src)
{
    dr_cursor_close(src->cur);
    src->cur = NULL;
}

/* Hand each row of the run from @p src to every format: the fact rows, and when a format
   asked for the report view, the view's columns and its gone and total rows too. Stops at
   the first row of another run (the next one's, left pending). */
static dr_status feed(run_ctx *ctx, row_source *src, long *nrows, dr_error *err)
{
    double t_read = 0, t_write = 0, t;
    dr_value values[NCOLS];
    dr_status st = DR_OK;
    *nrows = 0;
    for (;;) {
        int has = src->pending;
        if ((st = dr_interrupt_check(ctx->r->intr, err)) != DR_OK)
            break;
        t = dr_log_now_ms();
        if (!has)
            st = dr_cursor_next(src->cur, &has, src->text, src->lens, err);
        t_read += dr_log_now_ms() - t;
        src->pending = st == DR_OK && has;
        if (!src->pending || src->text[0] == NULL || strcmp(src->text[0], ctx->meta.run_id) != 0)
            break;
        src->pending = 0;
        for (size_t c = 0; c < src->want && st == DR_OK; c++)
            st = dr_value_from_text(&dr_report_all_columns[c], src->text[c], src->lens[c], &values[c], err);
        const char *kind = src->text[DR_REPORT_NCOLS];
        int is_fact = !src->with_view || (kind && strcmp(kind, DR_ROW_PRINCIPAL) == 0);
        t = dr_log_now_ms();
        if (st == DR_OK)
            st = dr_output_row(ctx->files, values, is_fact, err);
        t_write += dr_log_now_ms() - t;
        if (st != DR_OK)
            break;
        *nrows += is_fact;
    }
    dr_log_msg(ctx->r->log, DR_LOG_DEBUG, "read back: %.1f ms (%ld rows, from %s; the plugins took %.1f ms "
               "of the write)", t_read, *nrows, src->with_view ? "the report view" : "the fact rows", t_write);
    return st;
}

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

/* The run's files: staged (in @p stage's directory, a batch's; NULL: one of its own), fed
   from @p src (NULL: a read-back of this run alone), finished
   (synced, or left to the batch's one sync). With @p own_cleanup, a second signal
   meanwhile removes them (a batch sets one cleanup for all its runs). */
static dr_status stage_files(run_ctx *ctx, const dr_output_files *stage, row_source *src, int own_cleanup, int sync,
                             dr_error *err)
{
    dr_name_vars v = {DR_REPORT_NAME, ctx->meta.tenant, ctx->meta.period_label, ctx->meta.from_c,
                      ctx->meta.to_c, ctx->meta.run_id, ctx->meta.generated_c, NULL};
    row_source own = {0};
    const char *id = ctx->meta.run_id;
    dr_view_to_report_view(&ctx->view, &ctx->rview);
    dr_status st = dr_output_begin(ctx->r->plan, stage, &v, &ctx->info, &ctx->rview, &ctx->files, err);
    if (ctx->files && own_cleanup)
        dr_interrupt_set_cleanup(ctx->r->intr, remove_staged, ctx->files);
    if (st == DR_OK && src == NULL && (st = rows_open(&own, ctx->r, ctx->db, &id, 1, err)) == DR_OK)
        src = &own;
    if (st == DR_OK)
        st = feed(ctx, src, &ctx->nrows, err);
    if (st == DR_OK && src == &own)
        st = rows_end(&own, err);
    rows_close(&own);
    if (st == DR_OK)
        st = dr_output_finish(ctx->files, sync, err);
    if (st == DR_OK)
        st = dr_interrupt_check(ctx->r->intr, err);
    dr_log_phase(ctx->r->log, "write", &ctx->t0);
    return st;
}

/* After the commit (or the --no-persist rollback): the run id, the files in place (the
   directory synced, or left to the batch's one sync). */
static dr_status publish_files(run_ctx *ctx, const char *done, int sync_dir, dr_error *err)
{
    const dr_log *log = ctx->r->log;
    ctx->published = 1;
    dr_log_result(log, ctx->meta.run_id);
    dr_log_msg(log, DR_LOG_INFO, "run %s: %ld rows %s", ctx->meta.run_id, ctx->nrows, done);
    dr_status st = dr_output_publish(ctx->files, ctx->meta.run_id, sync_dir, log, err);
    dr_log_phase(log, "publish", &ctx->t0);
    return st;
}

/* After the commit (or the --no-persist rollback): the run id, the files in place, the
   deliveries. */
static dr_status publish(run_ctx *ctx, const char *done, dr_error *err)
{
    dr_status st = publish_files(ctx, done, 1, err);
    if (st == DR_OK && ctx->r->deliveries) /* never with --no-persist (refused by the CLI) */
        st = deliver(ctx, err);
    return st;
}

static dr_status write_and_publish(run_ctx *ctx, int commit, const char *done, dr_error *err)
{
    dr_status st = stage_files(ctx, NULL, NULL, 1, 1, err);
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

/* --skip-existing found saved run @p m (its header read): its files looked for; when every
   one is in place, the run's id and the files' paths are the result lines and *@p missing
   is 0 (nothing to do), else *@p missing says how many are not. @p tenant (NULL: none)
   names the tenant in the message, for a batch's many. */
static dr_status saved_in_place(const dr_runner *r, const dr_run_meta *m, const char *tenant, size_t *missing,
                                dr_error *err)
{
    char paths[DR_MAX_FORMATS][4352], who[64] = "";
    size_t n = dr_output_plan_count(r->plan);
    dr_name_vars v = {DR_REPORT_NAME, m->tenant, m->period_label, m->from_c, m->to_c, m->run_id,
                      m->generated_c, NULL};
    dr_status st = DR_OK;
    *missing = 0;
    for (size_t i = 0; st == DR_OK && i < n && i < DR_MAX_FORMATS; i++) {
        int exists = 0;
        st = dr_output_plan_file(r->plan, i, &v, paths[i], sizeof paths[i], &exists, err);
        *missing += st == DR_OK && !exists;
    }
    if (st != DR_OK || *missing)
        return st;
    dr_log_result(r->log, m->run_id);
    for (size_t i = 0; i < n && i < DR_MAX_FORMATS; i++)
        dr_log_result(r->log, paths[i]);
    if (tenant)
        snprintf(who, sizeof who, "tenant %s: ", tenant);
    dr_log_msg(r->log, DR_LOG_INFO, "%srun %s is saved already with the same options and its files are in place "
               "(--skip-existing): nothing computed", who, m->run_id);
    return DR_OK;
}

/* --skip-existing found saved run @p id: its files' paths as results when every file is
   in place, else export it again (all formats) while this transaction keeps the lock. */
static dr_status reuse_existing(run_ctx *ctx, const char *id, dr_run_outcome *outcome, dr_error *err)
{
    dr_runner *r = ctx->r;
    dr_run_meta saved = {0};
    size_t n = dr_output_plan_count(r->plan), missing = 0;
    dr_status st = dr_store_read_run(ctx->db, id, &saved, err);
    if (st == DR_OK)
        st = saved_in_place(r, &saved, NULL, &missing, err);
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
    return DR_OK;
}

dr_status dr_run_execute(dr_runner *r, const dr_run_request *req, dr_error *err)
{
    dr_run_outcome outcome;
    return dr_run_execute_outcome(r, req, &outcome, err);
}

/* What a run and a batch start with, on @p ctx for @p tenant: the zone checked, the
   principals as text, the connection (checked), the zone applied, the period's bounds
   with a run id, and its comparison period with a run id and both periods in words. */
static dr_status start_period(run_ctx *ctx, const dr_run_request *req, const char *tenant, dr_error *err)
{
    dr_runner *r = ctx->r;
    dr_period_request preq = {req->has_range, &req->period, &req->from, &req->to, req->tz};
    const char *compare = req->view.compare ? req->view.compare : "previous";
    snprintf(ctx->meta.tenant, sizeof ctx->meta.tenant, "%s", tenant);
    snprintf(ctx->meta.tz, sizeof ctx->meta.tz, "%s", req->tz);
    if (r->zone.name == NULL || strcmp(r->zone.name, req->tz) != 0)
        r->zone = (dr_zone){.name = req->tz};
    dr_status st = dr_tz_check(req->tz, err);
    if (st == DR_OK)
        st = dr_run_principals_text(&ctx->meta, req, err);
    if (st == DR_OK)
        st = connect_checked(ctx, err);
    if (st == DR_OK)
        st = dr_zone_apply(ctx->db, &r->zone, err);
    if (st == DR_OK)
        st = dr_period_resolve(ctx->db, &preq, &ctx->meta, err);
    if (st == DR_OK)
        st = dr_view_resolve(ctx->db, &preq, &ctx->meta, compare, &ctx->view, err);
    if (st == DR_OK && strcmp(ctx->view.compare, "none") == 0 && strcmp(compare, "none") != 0)
        dr_log_msg(r->log, DR_LOG_INFO, "no comparison period: the period before %s cannot be represented",
                   ctx->meta.start);
    return st;
}

dr_status dr_run_execute_outcome(dr_runner *r, const dr_run_request *req, dr_run_outcome *outcome,
                                 dr_error *err)
{
    run_ctx ctx = {.r = r, .t0 = dr_log_now_ms()};
    char existing[64] = "";
    int found = 0;
    *outcome = DR_RUN_DONE;
    int explicit = !req->all_principals;
    dr_status st = start_period(&ctx, req, req->tenant, err);
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

/* A batch: one run_ctx per tenant on one connection (ctx[0]'s), and the runs it takes. */
typedef struct batch {
    run_ctx *ctx;
    size_t n;
    const dr_run_meta **metas; /* of the k runs taken, in tenant order */
    const dr_view_meta **views;
    const char **compare_ids;
    size_t *which; /* metas[j] is ctx[which[j]] */
    size_t k;
    int compare; /* the period has a comparison period */
    dr_batch_state *state;  /* per tenant, the caller's */
    dr_run_meta *saved;     /* per tenant: --skip-existing found this saved run (run_id ""
                               when not), its files in place */
    dr_output_files *stage; /* the staging directory of all the batch's files */
} batch;

static void remove_staged_batch(void *p)
{
    const batch *b = p;
    for (size_t i = 0; i < b->n; i++)
        if (b->ctx[i].files)
            dr_output_files_remove_staged(b->ctx[i].files);
    dr_output_files_remove_staged(b->stage); /* NULL-safe; last: the directory, once empty */
}

/* Every tenant's run as ctx[0]'s, with run ids of its own (made here: no round trip). */
static dr_status batch_clone(batch *b, char (*tenants)[DR_UUID_LEN + 1], dr_error *err)
{
    run_ctx *c0 = &b->ctx[0];
    dr_status st = DR_OK;
    for (size_t i = 0; i < b->n && st == DR_OK; i++) {
        run_ctx *c = &b->ctx[i];
        if (i) {
            *c = (run_ctx){.r = c0->r, .db = c0->db, .kept = 1, .t0 = c0->t0, .meta = c0->meta, .view = c0->view};
            snprintf(c->meta.tenant, sizeof c->meta.tenant, "%s", tenants[i]);
            if ((c->meta.principals = strdup(c0->meta.principals)) == NULL) /* the same for every tenant */
                st = dr_fail(err, DR_ENOMEM, "out of memory");
        }
        if (st == DR_OK)
            st = dr_uuid_random(c->meta.run_id, err);
        if (st == DR_OK && b->compare)
            st = dr_uuid_random(c->view.compare_run_id, err);
    }
    return st;
}

/* --skip-existing found saved runs b->saved[i].run_id for the tenants of @p idx[0..n):
   their headers, with one statement (batch_skipped looks for their files). */
static dr_status batch_saved(batch *b, const size_t *idx, size_t n, dr_error *err)
{
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    dr_run_meta **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    char (*copy)[64] = calloc(n ? n : 1, sizeof *copy); /* the headers are read into where the ids are */
    dr_status st = ids && ptrs && copy ? DR_OK : dr_fail(err, DR_ENOMEM, "out of memory");
    for (size_t j = 0; st == DR_OK && j < n; j++) {
        memcpy(copy[j], b->saved[idx[j]].run_id, sizeof copy[j]);
        ids[j] = copy[j];
        ptrs[j] = &b->saved[idx[j]];
    }
    if (st == DR_OK && n)
        st = dr_store_read_headers(b->ctx[0].db, ids, n, ptrs, err);
    free(ids);
    free(ptrs);
    free(copy);
    return st;
}

/* The claims of all tenants (tried, one statement), then --skip-existing's lookup of the
   ones taken (one statement, after the claims): the runs to make here go to b->metas; a
   tenant another session holds is DR_BATCH_BUSY, one saved already goes to b->saved
   (batch_skipped settles it). */
static dr_status batch_select(batch *b, const dr_run_request *req, dr_error *err)
{
    const dr_run_meta **all = calloc(b->n, sizeof *all);
    int *taken = calloc(b->n, sizeof *taken);
    char (*existing)[64] = calloc(b->n, sizeof *existing);
    size_t *saved = calloc(b->n, sizeof *saved), nt = 0, ns = 0;
    dr_status st = all && taken && existing && saved ? DR_OK : dr_fail(err, DR_ENOMEM, "out of memory");
    for (size_t i = 0; st == DR_OK && i < b->n; i++)
        all[i] = &b->ctx[i].meta;
    if (st == DR_OK)
        st = dr_store_try_locks(b->ctx[0].db, all, b->n, taken, err);
    for (size_t i = 0; st == DR_OK && i < b->n; i++)
        if (taken[i])
            all[nt++] = &b->ctx[i].meta; /* all[0..nt): the taken ones, in order */
    if (st == DR_OK && nt && req->skip_existing)
        st = dr_store_find_existing_runs(b->ctx[0].db, all, nt, !req->all_principals, req->period_text, existing,
                                         err);
    for (size_t i = 0, t = 0; st == DR_OK && i < b->n; i++) {
        if (!taken[i]) {
            b->state[i] = DR_BATCH_BUSY;
            continue;
        }
        if (existing[t][0] != '\0') {
            memcpy(b->saved[i].run_id, existing[t++], sizeof existing[0]);
            saved[ns++] = i;
            continue;
        }
        t++;
        run_ctx *c = &b->ctx[i];
        dr_view_prepare(&c->meta, &req->view, &c->view);
        info_from_meta(c);
        b->which[b->k] = i;
        b->compare_ids[b->k] = c->view.compare_run_id;
        b->views[b->k] = &c->view;
        b->metas[b->k++] = &c->meta;
    }
    if (st == DR_OK && ns)
        st = batch_saved(b, saved, ns, err);
    free(all);
    free(taken);
    free(existing);
    free(saved);
    return st;
}

/* The tenants found saved: with their files in place, their result lines (the saved run's
   id and files) and @p published told they were skipped; with files missing, left to a
   run of their own (DR_BATCH_ALONE), which exports them again. */
static void batch_skipped(batch *b, dr_run_published published, void *pctx)
{
    for (size_t i = 0; i < b->n; i++) {
        const dr_run_meta *m = &b->saved[i];
        size_t missing = 0;
        dr_error e = {0};
        if (m->run_id[0] == '\0')
            continue;
        dr_status st = saved_in_place(b->ctx[0].r, m, m->tenant, &missing, &e);
        if (st == DR_OK && missing)
            continue;
        b->state[i] = DR_BATCH_DONE;
        if (published)
            published(pctx, i, DR_RUN_SKIPPED, st, &e);
    }
}

/* The runs taken: their headers, the comparison runs' headers, their facts and totals, the
   names and view rows: one statement each (the names queries, when configured, per tenant). */
static dr_status batch_store(batch *b, const dr_run_request *req, long *rows, long *compare_rows, dr_error *err)
{
    dr_db *db = b->ctx[0].db;
    int explicit = !req->all_principals;
    const dr_view_meta *v0 = b->views[0];
    dr_status st = dr_store_insert_runs(db, b->metas, b->k, explicit, req->period_text,
                                        dr_output_plan_formats(b->ctx[0].r->plan), err);
    if (st == DR_OK && b->compare)
        st = dr_view_insert_comparison_runs(db, b->metas, b->views, b->k, err);
    if (st == DR_OK)
        st = dr_store_compute_runs(db, b->metas, b->compare ? b->compare_ids : NULL, b->k,
                                   b->compare ? v0->compare_start : NULL, b->compare ? v0->compare_end : NULL,
                                   explicit, rows, compare_rows, err);
    for (size_t j = 0; st == DR_OK && j < b->k; j++)
        st = dr_view_fetch_names(db, b->metas[j], &req->view, &b->ctx[b->which[j]].view, err);
    if (st == DR_OK)
        st = dr_view_insert_views(db, b->metas, b->views, b->k, err);
    return st;
}

/* Every run's files staged from one read-back of all of them, then synced together: one
   syncfs where it works, else each run's files. */
static dr_status batch_stage(batch *b, dr_error *err)
{
    row_source src = {0};
    const char **ids = calloc(b->k ? b->k : 1, sizeof *ids);
    int synced = 0;
    dr_status st = ids ? DR_OK : dr_fail(err, DR_ENOMEM, "out of memory");
    for (size_t j = 0; st == DR_OK && j < b->k; j++)
        ids[j] = b->metas[j]->run_id;
    if (st == DR_OK && b->k)
        st = dr_output_stage_open(b->ctx[0].r->plan, &b->stage, err);
    if (st == DR_OK && b->k)
        st = rows_open(&src, b->ctx[0].r, b->ctx[0].db, ids, b->k, err);
    for (size_t j = 0; st == DR_OK && j < b->k; j++) {
        run_ctx *c = &b->ctx[b->which[j]];
        c->t0 = dr_log_now_ms();
        st = stage_files(c, b->stage, &src, 0, 0, err);
    }
    if (st == DR_OK && b->k)
        st = rows_end(&src, err);
    rows_close(&src);
    free(ids);
    double t0 = dr_log_now_ms();
    if (st == DR_OK && b->k)
        st = dr_output_plan_syncfs(b->ctx[0].r->plan, &synced, err);
    for (size_t j = 0; st == DR_OK && !synced && j < b->k; j++)
        st = dr_output_files_sync(b->ctx[b->which[j]].files, err);
    if (st == DR_OK && b->k)
        dr_log_msg(b->ctx[0].r->log, DR_LOG_DEBUG, "sync: %.1f ms (%zu runs' files, %s)", dr_log_now_ms() - t0,
                   b->k, synced ? "one syncfs" : "each file's fsync");
    return st;
}

/* After the commit: every run's files in place, the directory synced once, then for each
   run its result lines, its deliveries and @p published. */
static void batch_publish(batch *b, dr_run_published published, void *pctx)
{
    dr_runner *r = b->ctx[0].r;
    const dr_log *outer = r->log;
    dr_status *pst = calloc(b->k ? b->k : 1, sizeof *pst);
    dr_error *perr = calloc(b->k ? b->k : 1, sizeof *perr);
    dr_log_hold *held = calloc(b->k ? b->k : 1, sizeof *held); /* each run's result lines */
    dr_error dir_err = {0};
    if (pst == NULL || perr == NULL || held == NULL) { /* cannot even say how each went: say it for each */
        dr_error e = {0};
        dr_fail(&e, DR_ENOMEM, "out of memory after the commit: the runs are saved; rebuild their files with "
                "'dynoreport export --run-id RUN_ID'");
        for (size_t j = 0; j < b->k; j++)
            if (published)
                published(pctx, b->which[j], DR_RUN_DONE, DR_ENOMEM, &e);
        goto cleanup;
    }
    for (size_t j = 0; j < b->k; j++) {
        run_ctx *c = &b->ctx[b->which[j]];
        held[j].outer = outer;
        dr_log log = dr_log_holding(&held[j]);
        r->log = &log;
        c->t0 = dr_log_now_ms();
        pst[j] = publish_files(c, "written", 0, &perr[j]);
        r->log = outer;
    }
    dr_status dst = dr_output_plan_sync_dir(r->plan, NULL, &dir_err);
    for (size_t j = 0; j < b->k; j++) {
        run_ctx *c = &b->ctx[b->which[j]];
        dr_log_hold_send(&held[j]);
        if (pst[j] == DR_OK && dst != DR_OK) {
            pst[j] = dst;
            perr[j] = dir_err;
        }
        if (pst[j] == DR_OK && r->deliveries)
            pst[j] = deliver(c, &perr[j]);
        if (published)
            published(pctx, b->which[j], DR_RUN_DONE, pst[j], &perr[j]);
    }
cleanup:
    for (size_t j = 0; held && j < b->k; j++)
        dr_log_hold_free(&held[j]);
    free(pst);
    free(perr);
    free(held);
}

static void batch_free(batch *b, dr_status st)
{
    for (size_t i = b->n; b->ctx && i-- > 1;)
        if (b->ctx[i].r)
            ctx_free(&b->ctx[i], 1);
    if (b->ctx && b->ctx[0].r)
        ctx_free(&b->ctx[0], st == DR_OK);
    dr_output_files_free(b->stage); /* after every run's files: the directory and what is left */
    free(b->ctx);
    free(b->metas);
    free(b->views);
    free(b->compare_ids);
    free(b->which);
    free(b->saved);
}

dr_status dr_run_execute_batch(dr_runner *r, const dr_run_request *req, char (*tenants)[DR_UUID_LEN + 1],
                               size_t n, dr_batch_state *state, dr_run_published published, void *pctx,
                               dr_error *err)
{
    size_t m = n ? n : 1;
    batch b = {.ctx = calloc(m, sizeof *b.ctx), .n = n, .metas = calloc(m, sizeof *b.metas),
               .views = calloc(m, sizeof *b.views), .compare_ids = calloc(m, sizeof *b.compare_ids),
               .which = calloc(m, sizeof *b.which), .state = state, .saved = calloc(m, sizeof *b.saved)};
    long rows = 0, compare_rows = 0;
    for (size_t i = 0; i < n; i++)
        state[i] = DR_BATCH_ALONE;
    dr_status st = b.ctx && b.metas && b.views && b.compare_ids && b.which && b.saved
                       ? DR_OK : dr_fail(err, DR_ENOMEM, "out of memory");
    if (st != DR_OK || n == 0)
        goto cleanup;
    b.ctx[0] = (run_ctx){.r = r, .t0 = dr_log_now_ms()};
    st = start_period(&b.ctx[0], req, tenants[0], err);
    b.compare = st == DR_OK && strcmp(b.ctx[0].view.compare, "none") != 0;
    if (st == DR_OK)
        st = batch_clone(&b, tenants, err);
    if (st == DR_OK)
        st = batch_select(&b, req, err);
    if (st == DR_OK && b.k)
        st = batch_store(&b, req, &rows, &compare_rows, err);
    if (st == DR_OK)
        st = dr_interrupt_check(r->intr, err);
    dr_log_msg(r->log, DR_LOG_DEBUG, "batch: %zu of %zu tenants computed with one statement (%ld fact rows, %ld of "
               "the comparison period)", b.k, n, rows, compare_rows);
    if (st == DR_OK)
        dr_log_phase(r->log, "compute", &b.ctx[0].t0);
    dr_interrupt_set_cleanup(r->intr, remove_staged_batch, &b);
    if (st == DR_OK)
        st = batch_stage(&b, err);
    b.ctx[0].t0 = dr_log_now_ms();
    if (st == DR_OK && b.k)
        st = dr_db_commit(b.ctx[0].db, err);
    else if (b.ctx[0].db)
        dr_db_rollback(b.ctx[0].db); /* a failure, or only the claims of tenants skipped or left to others */
    int committed = st == DR_OK && b.k;
    if (committed) {
        dr_log_phase(r->log, "commit", &b.ctx[0].t0);
        for (size_t j = 0; j < b.k; j++)
            state[b.which[j]] = DR_BATCH_DONE;
        batch_publish(&b, published, pctx);
    } else {
        st = interrupted_wins(&b.ctx[0], st, err); /* after the commit the runs are saved: done */
    }
    if (st == DR_OK)
        batch_skipped(&b, published, pctx);
    dr_interrupt_set_cleanup(r->intr, NULL, NULL);
cleanup:
    if (st != DR_OK)
        for (size_t i = 0; i < n; i++)
            state[i] = DR_BATCH_ALONE;
    batch_free(&b, st);
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
