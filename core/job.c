/* `job NAME`: the [job NAME] settings as a run request, then one run per tenant with the
   one output plan of the process; failures of one tenant do not stop the others. The
   tenants are claimed one by one through PostgreSQL (the run's advisory lock, tried), so
   several processes of the same job, and the N worker processes of `--jobs N`, share
   them without a coordinator; a summary of the outcomes ends the job (--dry-run only
   shows what it would do). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS (on top of _POSIX_C_SOURCE from the build) */
#include "job.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "odbc.h"
#include "report.h"
#include "run_store.h"
#include "schema.h"

/* A bad value in a [job] is a configuration error (78) that names file, line, job and key
   (the key's line, else the job's first [job NAME] line). */
static dr_status value_error(const dr_config *cfg, const dr_config_job *job, const char *key, dr_error *err)
{
    char prefix[1024], shown[256], where[512], section[600];
    dr_printable_copy(job->name, shown, sizeof shown);
    dr_printable_copy(cfg->path ? cfg->path : "", where, sizeof where);
    snprintf(section, sizeof section, "job %s", job->name);
    int line = dr_config_line_of(cfg, section, key);
    if (line == 0)
        line = dr_config_line_of(cfg, section, NULL);
    if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d: [job %s] key '%s': ", where, line, shown, key);
    else
        snprintf(prefix, sizeof prefix, "%s: [job %s] key '%s': ", where, shown, key);
    dr_error_prefix(err, prefix);
    err->status = DR_ECONFIG;
    err->usage_hint = 0;
    return DR_ECONFIG;
}

/* The problems of one job: the first ends the request, unless @p each takes every one. */
typedef struct job_problems {
    dr_config_problem_fn each;
    void *ctx;
    size_t count;
} job_problems;

/* A problem found (value_error made @p err): 1 to go on with the next key, 0 to stop. */
static int next_key(job_problems *jp, dr_error *err)
{
    jp->count++;
    if (jp->each == NULL)
        return 0;
    jp->each(jp->ctx, err);
    dr_error_clear(err);
    return 1;
}

static dr_status job_request(const dr_config *cfg, const dr_config_job *job, dr_run_request *req,
                             dr_strstore *store, int *all_tenants, char tenant[DR_UUID_LEN + 1], job_problems *jp,
                             dr_error *err)
{
    const dr_settings *s = &job->s;
    static const char *const required[] = {"tenant", "principals", "period"};
    const char *const values[] = {s->tenant, s->principals, s->period};
    for (size_t i = 0; i < 3; i++)
        if (values[i] == NULL) {
            dr_fail(err, DR_ECONFIG, "needs a value");
            value_error(cfg, job, required[i], err);
            if (!next_key(jp, err))
                return DR_ECONFIG;
        }
    if (s->principals && strcmp(s->principals, "all") == 0) {
        req->all_principals = 1;
    } else if (s->principals) {
        char *b = dr_strstore_dup(store, s->principals);
        const char *items[DR_MAX_PRINCIPALS];
        size_t n = 0;
        if (b == NULL)
            return dr_fail(err, DR_ENOMEM, "out of memory");
        if (dr_split_list(b, items, DR_MAX_PRINCIPALS, &n) < 0 || n == 0) {
            dr_fail(err, DR_ECONFIG, "expected all or a comma list of USER:UUID / GROUP:UUID (at most %d)",
                    DR_MAX_PRINCIPALS);
            value_error(cfg, job, "principals", err);
            if (!next_key(jp, err))
                return DR_ECONFIG;
            n = 0;
        }
        for (size_t i = 0; i < n; i++)
            if (dr_principal_parse(items[i], &req->principals[req->nprincipals++], err) != DR_OK) {
                value_error(cfg, job, "principals", err);
                if (!next_key(jp, err))
                    return DR_ECONFIG;
                break;
            }
    }
    req->period_text = s->period;
    if (s->period && dr_period_parse(s->period, &req->period, err) != DR_OK) {
        value_error(cfg, job, "period", err);
        if (!next_key(jp, err))
            return DR_ECONFIG;
    }
    req->tz = dr_config_tz(cfg, s, NULL);
    dr_config_view(cfg, s, NULL, &req->view);
    if (dr_tz_check(req->tz, err) != DR_OK) {
        value_error(cfg, job, "tz", err);
        if (!next_key(jp, err))
            return DR_ECONFIG;
    }
    req->persist = 1;
    *all_tenants = s->tenant && strcmp(s->tenant, "all") == 0;
    if (s->tenant && !*all_tenants && dr_uuid_parse(s->tenant, "tenant", tenant, err) != DR_OK) {
        value_error(cfg, job, "tenant", err);
        if (!next_key(jp, err))
            return DR_ECONFIG;
    }
    return jp->count ? DR_ECONFIG : DR_OK;
}

dr_status dr_job_request(const dr_config *cfg, const dr_config_job *job, dr_run_request *req,
                         dr_strstore *store, int *all_tenants, char tenant[DR_UUID_LEN + 1], dr_error *err)
{
    job_problems jp = {0};
    return job_request(cfg, job, req, store, all_tenants, tenant, &jp, err);
}

dr_status dr_job_check(const dr_config *cfg, const dr_config_job *job, dr_run_request *req, dr_strstore *store,
                       dr_config_problem_fn each, void *ctx, size_t *problems, dr_error *err)
{
    job_problems jp = {each, ctx, 0};
    int all = 0;
    char tenant[DR_UUID_LEN + 1] = "";
    dr_status st = job_request(cfg, job, req, store, &all, tenant, &jp, err);
    *problems = jp.count;
    if (st == DR_ECONFIG && jp.count) /* each one was reported */
        st = DR_OK;
    if (st == DR_OK && !all)
        memcpy(req->tenant, tenant, sizeof req->tenant);
    return st;
}

/* The tenants with deals, on a connection of its own. */
static dr_status list_tenants(dr_runner *r, char (**ids)[DR_UUID_LEN + 1], size_t *n, dr_error *err)
{
    dr_db *db = NULL;
    dr_status st = dr_db_connect(r->connstr, &db, err);
    if (st == DR_OK)
        st = dr_db_apply_timeouts(db, r->timeouts, err);
    if (st == DR_OK)
        st = dr_store_list_tenants(db, ids, n, err);
    dr_db_close(db);
    return st;
}

/* ---- outcomes and the summary ----------------------------------------------------- */

enum { OC_DONE, OC_SKIPPED, OC_EXPORTED, OC_LEFT, OC_FAILED };

/* The most tenants a job computes together, in one statement and one transaction. */
#define DR_JOB_BATCH_MAX 100

/* What the job knows of its tenants, in one process (the parent for --jobs N). */
typedef struct tally {
    const dr_log *log;
    const char *shown; /* the job's name, printable */
    char (*tenants)[DR_UUID_LEN + 1];
    size_t n, reported, count[OC_FAILED + 1];
    signed char *state;    /* per tenant: -1 not reported yet, else OC_* */
    unsigned char *exit;   /* per tenant: exit code of a failure */
    char **lines;          /* per tenant (--jobs N): its result lines, held to print in tenant order */
    size_t next_print;
    dr_error first;        /* the failure of the first failed tenant in tenant order */
    size_t first_index;
    int have_first, progress;
    double t0, last_progress;
} tally;

static void progress_line(tally *t, int last)
{
    double now = dr_log_now_ms();
    if (!t->progress || (!last && now - t->last_progress < 1000.0))
        return;
    t->last_progress = now;
    double secs = (now - t->t0) / 1000.0;
    dr_log_msg(t->log, DR_LOG_INFO, "job %s: %zu of %zu tenants (%.1f/s), %zu failed", t->shown, t->reported, t->n,
               secs > 0 ? (double)t->reported / secs : 0.0, t->count[OC_FAILED]);
}

/* Print the held result lines of the tenants reported so far, in tenant order. */
static void flush_lines(tally *t, int all)
{
    while (t->lines && t->next_print < t->n && (all || t->state[t->next_print] >= 0)) {
        char *text = t->lines[t->next_print];
        for (char *line = text, *nl; line && (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
            *nl = '\0';
            dr_log_result(t->log, line);
        }
        free(text);
        t->lines[t->next_print++] = NULL;
    }
}

static void tally_add(tally *t, size_t i, int oc, int exit_code, const dr_error *err)
{
    if (i >= t->n || t->state[i] >= 0)
        return;
    t->state[i] = (signed char)oc;
    t->exit[i] = (unsigned char)exit_code;
    t->count[oc]++;
    t->reported++;
    if (oc == OC_FAILED && (!t->have_first || i < t->first_index)) {
        t->first = *err;
        t->first_index = i;
        t->have_first = 1;
    }
    flush_lines(t, 0);
    progress_line(t, t->reported == t->n);
}

static void summary(tally *t)
{
    double secs = (dr_log_now_ms() - t->t0) / 1000.0;
    size_t notrun = t->n - t->reported;
    char extra[96] = "";
    if (notrun)
        snprintf(extra, sizeof extra, ", %zu not run", notrun);
    dr_log_msg(t->log, DR_LOG_INFO, "job %s: %zu tenants in %.1f s: %zu done, %zu skipped (saved already; %zu of them "
               "exported again), %zu left to other processes, %zu failed%s", t->shown, t->n, secs, t->count[OC_DONE],
               t->count[OC_SKIPPED] + t->count[OC_EXPORTED], t->count[OC_EXPORTED], t->count[OC_LEFT],
               t->count[OC_FAILED], extra);
    for (size_t i = 0; i < t->n; i++)
        if (t->state[i] == OC_FAILED)
            dr_log_msg(t->log, DR_LOG_ERROR, "job %s: failed: tenant %s (exit %d)", t->shown, t->tenants[i],
                       t->exit[i]);
}

/* ---- the claim loop of one worker --------------------------------------------------- */

typedef struct worker {
    dr_runner *r;
    dr_run_request *req;
    char (*tenants)[DR_UUID_LEN + 1];
    size_t n;
    const char *shown;
    atomic_size_t *next; /* the next tenant to claim, shared by the workers of this process */
    size_t batch;        /* tenants taken at a time, computed together (1: one by one) */
    void (*report)(void *ctx, size_t i, int oc, int exit_code, const dr_error *err);
    void *ctx;
} worker;

/* The message lines of a run that failed: the error, then which tenant and its exit code. */
static void failure_lines(const dr_log *log, const worker *w, size_t i, dr_status st, const dr_error *err)
{
    dr_log_msg(log, DR_LOG_ERROR, "error: %s", err->msg[0] ? err->msg : dr_strerror(st));
    if (st == DR_EDELIVERY) /* the run is saved; its message says how to send it again */
        dr_log_msg(log, DR_LOG_ERROR, "job %s: a delivery for tenant %s failed (exit %d)", w->shown, w->tenants[i],
                   dr_status_exit_code(st, err->signal));
    else
        dr_log_msg(log, DR_LOG_ERROR, "job %s: the run for tenant %s failed (exit %d)", w->shown, w->tenants[i],
                   dr_status_exit_code(st, err->signal));
}

/* One tenant: the run, tried (@p wait 0) or waited for, and what came of it; -1 when the
   lock was held by another session and the run was only tried, -2 when a signal cut it
   short (then nothing of it was saved unless it had committed, and it counts as not run). */
static int run_tenant(worker *w, size_t i, int wait, dr_error *err)
{
    char scope[256];
    dr_log log = *w->r->log;
    const dr_log *outer = w->r->log;
    dr_run_outcome oc = DR_RUN_DONE;
    snprintf(scope, sizeof scope, "job %s: tenant %zu of %zu (%s)", w->shown, i + 1, w->n, w->tenants[i]);
    log.scope = scope;
    w->r->log = &log;
    memcpy(w->req->tenant, w->tenants[i], sizeof w->req->tenant);
    w->req->claim_try = !wait;
    dr_error_clear(err);
    dr_status st = dr_run_execute_outcome(w->r, w->req, &oc, err);
    w->r->log = outer;
    if (st != DR_OK && dr_interrupt_signal(w->r->intr))
        return -2;
    if (oc == DR_RUN_BUSY && st == DR_ETEMPFAIL) {
        if (!wait) {
            dr_log_msg(&log, DR_LOG_DEBUG, "claimed by another session: tried again at the end");
            return -1;
        }
        dr_log_msg(&log, DR_LOG_INFO, "another process holds the claim of this tenant and period for longer than "
                   "--lock-timeout: left to it");
        return OC_LEFT;
    }
    if (st != DR_OK) {
        failure_lines(outer, w, i, st, err);
        return OC_FAILED;
    }
    return oc == DR_RUN_SKIPPED ? OC_SKIPPED : oc == DR_RUN_EXPORTED ? OC_EXPORTED : OC_DONE;
}

/* A tenant of a batch after the batch's commit: its outcome, right after its result lines. */
typedef struct batch_ctx {
    worker *w;
    const size_t *idx;   /* the batch's j-th tenant is tenant idx[j] of the job */
    const dr_log *outer; /* the job's log, without the batch's scope */
} batch_ctx;

static void batch_published(void *p, size_t j, dr_run_outcome oc, dr_status st, const dr_error *err)
{
    const batch_ctx *b = p;
    size_t i = b->idx[j];
    if (st != DR_OK)
        failure_lines(b->outer, b->w, i, st, err);
    int outcome = st != DR_OK ? OC_FAILED : oc == DR_RUN_SKIPPED ? OC_SKIPPED : OC_DONE;
    b->w->report(b->w->ctx, i, outcome, st == DR_OK ? 0 : dr_status_exit_code(st, err->signal), err);
}

/* The tenants idx[0..m) of the job computed together (dr_run_execute_batch); state[j] says
   what became of each: the ones left go on one by one, the busy ones later. */
static void run_batch(worker *w, const size_t *idx, size_t m, char (*ids)[DR_UUID_LEN + 1],
                      dr_batch_state *state)
{
    char scope[256];
    dr_log log = *w->r->log;
    const dr_log *outer = w->r->log;
    dr_error err = {0};
    batch_ctx b = {w, idx, outer};
    for (size_t j = 0; j < m; j++)
        memcpy(ids[j], w->tenants[idx[j]], sizeof ids[j]);
    if (idx[m - 1] - idx[0] == m - 1)
        snprintf(scope, sizeof scope, "job %s: tenants %zu to %zu of %zu", w->shown, idx[0] + 1, idx[m - 1] + 1,
                 w->n);
    else
        snprintf(scope, sizeof scope, "job %s: %zu tenants claimed elsewhere before, of %zu", w->shown, m, w->n);
    log.scope = scope;
    w->r->log = &log;
    dr_status st = dr_run_execute_batch(w->r, w->req, ids, m, state, batch_published, &b, &err);
    w->r->log = outer;
    if (st != DR_OK && !dr_interrupt_signal(w->r->intr))
        dr_log_msg(&log, DR_LOG_INFO, "computed together they failed (%s): each one runs on its own",
                   err.msg[0] ? err.msg : dr_strerror(st));
}

/* Tenants idx[0..m): as a batch when there are several, then one by one those the batch
   left (@p wait: waiting for a claim; else a busy tenant goes to later[]). 1: a signal. */
static int run_group(worker *w, const size_t *idx, size_t m, int wait, char (*ids)[DR_UUID_LEN + 1],
                     dr_batch_state *state, size_t *later, size_t *nlater)
{
    dr_error err;
    int batched = m > 1 && ids && state;
    if (batched)
        run_batch(w, idx, m, ids, state);
    for (size_t j = 0; j < m; j++) {
        if (batched && state[j] == DR_BATCH_DONE)
            continue;
        if (dr_interrupt_signal(w->r->intr))
            return 1;
        if (batched && state[j] == DR_BATCH_BUSY && !wait && later) {
            later[(*nlater)++] = idx[j];
            continue;
        }
        int oc = run_tenant(w, idx[j], wait || later == NULL, &err);
        if (oc == -2)
            return 1;
        if (oc < 0 && later)
            later[(*nlater)++] = idx[j];
        else if (oc >= 0)
            w->report(w->ctx, idx[j], oc, oc == OC_FAILED ? dr_status_exit_code(err.status, err.signal) : 0, &err);
    }
    return 0;
}

/* Claim tenants until none is left, w->batch at a time, computed together: the tenants
   another session holds are tried again at the end, together, and then the ones still held
   are waited for one by one (up to --lock-timeout); a signal stops the loop. */
static void work(worker *w)
{
    size_t cap = w->batch ? w->batch : 1;
    size_t *later = malloc((w->n ? w->n : 1) * sizeof *later), nlater = 0;
    size_t *idx = malloc(cap * sizeof *idx);
    char (*ids)[DR_UUID_LEN + 1] = malloc(cap * sizeof *ids);
    dr_batch_state *state = malloc(cap * sizeof *state);
    int stop = idx == NULL;
    while (!stop) {
        size_t i = atomic_fetch_add(w->next, w->batch);
        if (i >= w->n || dr_interrupt_signal(w->r->intr))
            break;
        size_t m = w->n - i < w->batch ? w->n - i : w->batch;
        for (size_t j = 0; j < m; j++)
            idx[j] = i + j;
        stop = run_group(w, idx, m, 0, ids, state, later, &nlater);
    }
    /* the held ones once more, a batch at a time (saved meanwhile: skipped together) */
    for (size_t k = 0; !stop && later && k < nlater; k += cap) {
        size_t m = nlater - k < cap ? nlater - k : cap;
        stop = run_group(w, later + k, m, 1, ids, state, NULL, NULL);
    }
    free(idx);
    free(ids);
    free(state);
    free(later);
}

/* ---- --jobs N: forked workers, outcomes through a pipe each ------------------------- */

/* One message of a worker: a tenant's outcome, then its result lines and error text. */
typedef struct msg_head {
    uint32_t index;
    int32_t oc, exit_code, status, signal;
    uint32_t lines_len, msg_len;
} msg_head;

typedef struct child_state {
    int fd;
    dr_log_hold hold; /* the result lines of the tenant being run, sent with its outcome */
    int broken;       /* the pipe to the parent failed */
} child_state;

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void report_to_parent(void *ctx, size_t i, int oc, int exit_code, const dr_error *err)
{
    child_state *c = ctx;
    const char *msg = oc == OC_FAILED ? err->msg : "";
    msg_head h = {(uint32_t)i, oc, exit_code, oc == OC_FAILED ? (int32_t)err->status : 0,
                  oc == OC_FAILED ? err->signal : 0, (uint32_t)c->hold.len, (uint32_t)strlen(msg)};
    if (c->hold.lost)
        c->broken = 1;
    if (c->broken || write_all(c->fd, &h, sizeof h) != 0 ||
        write_all(c->fd, c->hold.lines ? c->hold.lines : "", c->hold.len) != 0 || write_all(c->fd, msg, h.msg_len) != 0)
        c->broken = 1;
    c->hold.len = 0;
}

/* --jobs 1, in this process: each tenant's result lines held as a worker's are, and put
   in tenant order (a batch reports the tenants it settles before the ones it leaves). */
typedef struct here_state {
    dr_log_hold hold;
    tally *t;
} here_state;

static void report_here(void *ctx, size_t i, int oc, int exit_code, const dr_error *err)
{
    here_state *h = ctx;
    tally *t = h->t;
    char *text = NULL;
    if (i < t->n && t->state[i] < 0 && t->lines[i] == NULL && !h->hold.lost &&
        (text = malloc(h->hold.len + 1)) != NULL) {
        memcpy(text, h->hold.lines ? h->hold.lines : "", h->hold.len);
        text[h->hold.len] = '\0';
        t->lines[i] = text;
    } else if (i < t->n && t->state[i] < 0) { /* out of memory: printed now, out of order */
        dr_log_hold_send(&h->hold);
    }
    h->hold.len = 0;
    h->hold.lost = 0;
    tally_add(t, i, oc, exit_code, err);
}

/* The body of a worker process: its own signal watcher (the parent forwards its
   signals), its log sending result lines to the parent, the claim loop; never returns. */
static void child_main(worker *w, int fd, pid_t parent)
{
    dr_interrupt intr;
    dr_runner r = *w->r;
    child_state c = {.fd = fd, .hold = {.outer = w->r->log}};
    dr_log log = dr_log_holding(&c.hold);
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* the parent gone: stop like on a first signal */
    if (getppid() != parent)
        _exit(143);
    setpgid(0, 0); /* a terminal's Ctrl-C reaches the parent only, which forwards it once */
    dr_interrupt_init(&intr);
    dr_interrupt_start(&intr);
    r.intr = &intr;
    r.log = &log;
    r.zone = (dr_zone){0};
    w->r = &r;
    w->report = report_to_parent;
    w->ctx = &c;
    work(w);
    dr_runner_close(&r);
    int sig = dr_interrupt_signal(&intr);
    dr_log_hold_free(&c.hold);
    close(fd);
    _exit(sig ? 128 + sig : c.broken ? 74 : 0);
}

typedef struct children {
    pid_t pid[DR_MAX_JOBS];
    int fd[DR_MAX_JOBS];
    size_t n;
} children;

/* A second signal to the parent (interrupt.c, on its signal thread): the workers get one
   more too, so they stop at once as well (kill is async-signal-safe). */
static void stop_children(void *ctx)
{
    const children *k = ctx;
    for (size_t i = 0; i < k->n; i++)
        if (k->pid[i] > 0)
            kill(k->pid[i], SIGTERM);
}

/* Read one message of worker @p fd into the tally; 0 at the end of its pipe. */
static int read_message(tally *t, int fd)
{
    msg_head h;
    if (read_all(fd, &h, sizeof h) != 0)
        return 0;
    char *lines = malloc((size_t)h.lines_len + 1);
    dr_error err = {0};
    int ok = lines != NULL && read_all(fd, lines, h.lines_len) == 0;
    size_t keep = h.msg_len < sizeof err.msg ? h.msg_len : sizeof err.msg - 1;
    ok = ok && read_all(fd, err.msg, keep) == 0;
    for (size_t rest = h.msg_len - keep; ok && rest; rest--) {
        char skip;
        ok = read_all(fd, &skip, 1) == 0;
    }
    if (!ok || h.index >= t->n || h.oc < 0 || h.oc > OC_FAILED) {
        free(lines);
        return 0;
    }
    lines[h.lines_len] = '\0';
    err.status = (dr_status)h.status;
    err.signal = h.signal;
    if (t->state[h.index] < 0 && t->lines[h.index] == NULL)
        t->lines[h.index] = lines;
    else
        free(lines);
    tally_add(t, h.index, h.oc, h.exit_code, &err);
    return 1;
}

static dr_status run_children(worker *w, tally *t, size_t njobs, dr_error *err)
{
    children k = {0};
    int forwarded = 0;
    dr_status st = DR_OK;
    if ((t->lines = calloc(t->n, sizeof *t->lines)) == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    fflush(NULL); /* nothing buffered twice */
    for (size_t j = 0; j < njobs; j++) {
        int p[2];
        if (pipe(p) != 0) {
            st = dr_fail(err, DR_EINTERNAL, "cannot create a pipe for worker %zu: %s", j + 1, strerror(errno));
            break;
        }
        pid_t parent = getpid(), pid = fork();
        if (pid == 0) {
            close(p[0]);
            for (size_t i = 0; i < k.n; i++)
                close(k.fd[i]);
            child_main(w, p[1], parent);
        }
        close(p[1]);
        if (pid < 0) {
            close(p[0]);
            st = dr_fail(err, DR_EINTERNAL, "cannot start worker process %zu: %s", j + 1, strerror(errno));
            break;
        }
        k.pid[k.n] = pid;
        k.fd[k.n++] = p[0];
    }
    dr_interrupt_set_cleanup(w->r->intr, stop_children, &k);
    if (st != DR_OK) /* the workers started go on; the job still reports what they did */
        dr_log_msg(t->log, DR_LOG_ERROR, "error: %s", err->msg);
    for (size_t open = k.n; open > 0;) {
        struct pollfd pf[DR_MAX_JOBS];
        size_t idx[DR_MAX_JOBS], np = 0;
        for (size_t i = 0; i < k.n; i++)
            if (k.fd[i] >= 0) {
                pf[np] = (struct pollfd){.fd = k.fd[i], .events = POLLIN};
                idx[np++] = i;
            }
        int sig = dr_interrupt_signal(w->r->intr);
        if (sig && !forwarded) {
            forwarded = 1;
            for (size_t i = 0; i < k.n; i++)
                kill(k.pid[i], sig);
        }
        int rc = poll(pf, np, 200);
        for (size_t q = 0; rc > 0 && q < np; q++) {
            if (!(pf[q].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!read_message(t, pf[q].fd)) {
                close(k.fd[idx[q]]);
                k.fd[idx[q]] = -1;
                open--;
            }
        }
    }
    for (size_t i = 0; i < k.n; i++) {
        int status = 0;
        while (waitpid(k.pid[i], &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFSIGNALED(status) && !dr_interrupt_signal(w->r->intr))
            dr_log_msg(t->log, DR_LOG_ERROR, "job %s: worker process %d was killed by signal %d; the tenant it was "
                       "running is counted as not run", t->shown, (int)k.pid[i], WTERMSIG(status));
    }
    dr_interrupt_set_cleanup(w->r->intr, NULL, NULL);
    flush_lines(t, 1);
    return st;
}

/* ---- --dry-run ------------------------------------------------------------------------ */

/* What the job would compute and write, reading only: the period once (its bounds do not
   depend on the tenant), then each tenant's files through the name template. */
static dr_status dry_run(dr_runner *r, const char *shown, dr_run_request *req, char (*tenants)[DR_UUID_LEN + 1],
                         size_t n, dr_error *err)
{
    dr_db *db = NULL;
    dr_run_meta m = {0};
    dr_period_request preq = {req->has_range, &req->period, &req->from, &req->to, req->tz};
    dr_zone zone = {.name = req->tz};
    char line[8192];
    snprintf(m.tz, sizeof m.tz, "%s", req->tz);
    dr_status st = dr_db_connect(r->connstr, &db, err);
    if (st == DR_OK)
        st = dr_db_apply_timeouts(db, r->timeouts, err);
    if (st == DR_OK)
        st = dr_schema_check(db, err);
    if (st == DR_OK)
        st = dr_zone_apply(db, &zone, err);
    if (st == DR_OK)
        st = dr_period_resolve(db, &preq, &m, err);
    if (st != DR_OK)
        goto cleanup;
    snprintf(line, sizeof line, "job %s: dry run, nothing is computed or written", shown);
    dr_log_result(r->log, line);
    snprintf(line, sizeof line, "period %s: %s .. %s (%s, end excluded)", m.period_label, m.start, m.end, m.tz);
    dr_log_result(r->log, line);
    snprintf(line, sizeof line, "formats %s; principals %s; %zu tenant%s", dr_output_plan_formats(r->plan),
             req->all_principals ? "all" : "as listed", n, n == 1 ? "" : "s");
    dr_log_result(r->log, line);
    if (!req->all_principals && (st = dr_run_principals_text(&m, req, err)) != DR_OK)
        goto cleanup;
    for (size_t i = 0; i < n && st == DR_OK; i++) {
        char existing[64] = "", run_id[] = "{run_id}";
        int found = 0;
        snprintf(m.tenant, sizeof m.tenant, "%s", tenants[i]);
        if (req->skip_existing)
            st = dr_store_find_existing(db, &m, !req->all_principals, req->period_text, existing, sizeof existing,
                                        &found, err);
        dr_name_vars v = {DR_REPORT_NAME, m.tenant, m.period_label, m.from_c, m.to_c, run_id, m.generated_c, NULL};
        for (size_t f = 0; st == DR_OK && f < dr_output_plan_count(r->plan); f++) {
            char path[4352];
            int exists = 0;
            if ((st = dr_output_plan_file(r->plan, f, &v, path, sizeof path, &exists, err)) != DR_OK)
                break;
            snprintf(line, sizeof line, "tenant %s: %s %s%s%s", m.tenant, path,
                     found ? "skip: saved already as run " : exists ? "compute (replaces the file there)"
                                                               : "compute",
                     found ? existing : "", found && !exists ? " (file missing: exported again)" : "");
            dr_log_result(r->log, line);
        }
    }
cleanup:
    dr_run_meta_free(&m);
    dr_db_rollback(db);
    dr_db_close(db);
    return st;
}

/* ---- the job ---------------------------------------------------------------------------- */

dr_status dr_job_execute(dr_runner *r, const char *job_name, dr_run_request *req, int all_tenants,
                         const dr_job_options *opt, dr_error *err)
{
    char (*tenants)[DR_UUID_LEN + 1] = NULL;
    size_t ntenants = 0;
    char scope[256], shown[128];
    atomic_size_t *next = MAP_FAILED;
    tally t = {.log = r->log, .shown = shown, .t0 = dr_log_now_ms(), .progress = opt->progress};
    dr_status st = DR_OK;
    dr_printable_copy(job_name, shown, sizeof shown);
    req->skip_existing = opt->skip_existing;
    if (all_tenants) {
        if ((st = list_tenants(r, &tenants, &ntenants, err)) != DR_OK)
            goto cleanup;
    } else {
        if ((tenants = malloc(sizeof *tenants)) == NULL) {
            st = dr_fail(err, DR_ENOMEM, "out of memory");
            goto cleanup;
        }
        memcpy(tenants[0], req->tenant, sizeof tenants[0]);
        ntenants = 1;
    }
    if (opt->dry_run) {
        st = dry_run(r, shown, req, tenants, ntenants, err);
        goto cleanup;
    }
    t.tenants = tenants;
    t.n = ntenants;
    t.state = malloc(ntenants ? ntenants : 1);
    t.exit = calloc(ntenants ? ntenants : 1, 1);
    next = mmap(NULL, sizeof *next, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (t.state == NULL || t.exit == NULL || next == MAP_FAILED) {
        st = dr_fail(err, DR_ENOMEM, "out of memory");
        goto cleanup;
    }
    memset(t.state, -1, ntenants);
    atomic_init(next, 0);
    worker w = {.r = r, .req = req, .tenants = tenants, .n = ntenants, .shown = shown, .next = next,
                .report = report_here, .ctx = &t};
    size_t njobs = opt->jobs < 1 ? 1 : (size_t)opt->jobs;
    if (njobs > ntenants)
        njobs = ntenants ? ntenants : 1;
    /* a batch per transaction: about four per worker, at most DR_JOB_BATCH_MAX tenants */
    w.batch = ntenants / (njobs * 4);
    w.batch = w.batch < 1 ? 1 : w.batch > DR_JOB_BATCH_MAX ? DR_JOB_BATCH_MAX : w.batch;
    r->keep_connection = 1; /* one connection per worker, run after run */
    if (njobs == 1) { /* in this process */
        here_state h = {.hold = {.outer = r->log}, .t = &t};
        dr_log log = dr_log_holding(&h.hold);
        const dr_log *outer = r->log;
        if ((t.lines = calloc(t.n ? t.n : 1, sizeof *t.lines)) != NULL) {
            w.ctx = &h;
            r->log = &log;
            work(&w);
            r->log = outer;
            flush_lines(&t, 1);
        } else {
            st = dr_fail(err, DR_ENOMEM, "out of memory");
        }
        dr_log_hold_free(&h.hold);
    } else {
        st = run_children(&w, &t, njobs, err);
    }
    dr_runner_close(r);
    r->keep_connection = 0;
    summary(&t);
    if (dr_interrupt_signal(r->intr) && t.reported < t.n) { /* later tenants never ran */
        st = dr_interrupt_check(r->intr, err);
        snprintf(scope, sizeof scope, "job %s: stopped after %zu of %zu tenants (%zu failed): ", shown, t.reported,
                 t.n, t.count[OC_FAILED]);
        dr_error_prefix(err, scope);
    } else if (t.have_first) {
        char prefix[256];
        size_t nfailed = t.count[OC_FAILED], ndelivery = 0;
        for (size_t i = 0; i < t.n; i++) /* saved runs whose delivery failed */
            ndelivery += t.state[i] == OC_FAILED && t.exit[i] == dr_status_exit_code(DR_EDELIVERY, 0);
        if (ndelivery == nfailed) /* every run saved: only deliveries failed */
            snprintf(prefix, sizeof prefix, "job %s: the deliveries of %zu of %zu tenants failed (their runs are "
                     "saved); the first: ", shown, nfailed, t.n);
        else if (ndelivery)
            snprintf(prefix, sizeof prefix, "job %s: %zu of %zu tenant runs failed (%zu of them saved, with a "
                     "failed delivery); the first: ", shown, nfailed, t.n, ndelivery);
        else
            snprintf(prefix, sizeof prefix, "job %s: %zu of %zu tenant runs failed; the first: ", shown, nfailed,
                     t.n);
        *err = t.first;
        dr_error_prefix(err, prefix);
        st = t.first.status;
    } else if (st == DR_OK && t.reported < t.n) {
        st = dr_fail(err, DR_EINTERNAL, "job %s: %zu of %zu tenants were not run (a worker process ended "
                     "unexpectedly): run the job again", shown, t.n - t.reported, t.n);
    }
cleanup:
    if (next != MAP_FAILED)
        munmap(next, sizeof *next);
    if (t.lines)
        for (size_t i = 0; i < t.n; i++)
            free(t.lines[i]);
    free(t.lines);
    free(t.state);
    free(t.exit);
    free(tenants);
    return st;
}
