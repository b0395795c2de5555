/* `job NAME`: the [job NAME] settings as a run request, then one run per tenant with the
   one output plan of the process; failures of one tenant do not stop the others. */
#include "job.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odbc.h"
#include "run_store.h"

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

dr_status dr_job_execute(dr_runner *r, const char *job_name, dr_run_request *req, int all_tenants,
                         dr_error *err)
{
    char (*tenants)[DR_UUID_LEN + 1] = NULL;
    size_t ntenants = 0, nfailed = 0, ndelivery = 0, done = SIZE_MAX;
    dr_error first = {0};
    char scope[256], shown[128];
    dr_log log = *r->log;
    const dr_log *outer = r->log;
    dr_status st = DR_OK;
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
    done = ntenants;
    dr_printable_copy(job_name, shown, sizeof shown);
    r->log = &log;
    /* One run per tenant, each its own transaction; a failed tenant does not stop the
       others, and the first failure is the job's. */
    for (size_t i = 0; i < ntenants; i++) {
        dr_error run_err = {0};
        snprintf(scope, sizeof scope, "job %s: tenant %zu of %zu (%s)", shown, i + 1, ntenants, tenants[i]);
        log.scope = scope;
        memcpy(req->tenant, tenants[i], sizeof req->tenant);
        dr_status run_st = dr_run_execute(r, req, &run_err);
        if (run_st != DR_OK) {
            log.scope = NULL;
            dr_log_msg(&log, DR_LOG_ERROR, "error: %s", run_err.msg[0] ? run_err.msg : dr_strerror(run_st));
            if (run_st == DR_EDELIVERY) /* the run is saved; its message says how to send it again */
                dr_log_msg(&log, DR_LOG_ERROR, "job %s: a delivery for tenant %s failed (exit %d)", shown,
                           tenants[i], dr_status_exit_code(run_st, run_err.signal));
            else
                dr_log_msg(&log, DR_LOG_ERROR, "job %s: the run for tenant %s failed (exit %d)", shown, tenants[i],
                           dr_status_exit_code(run_st, run_err.signal));
            ndelivery += run_st == DR_EDELIVERY;
            if (nfailed++ == 0)
                first = run_err;
        }
        if (dr_interrupt_signal(r->intr)) {
            done = i + 1;
            break;
        }
    }
    r->log = outer;
    if (done < ntenants && nfailed == 0) { /* later tenants never ran: not a success */
        st = dr_interrupt_check(r->intr, err);
        snprintf(scope, sizeof scope, "job %s: stopped after %zu of %zu tenants: ", shown, done, ntenants);
        dr_error_prefix(err, scope);
    } else if (nfailed) {
        char prefix[256];
        if (ndelivery == nfailed) /* every run saved: only deliveries failed */
            snprintf(prefix, sizeof prefix, "job %s: the deliveries of %zu of %zu tenants failed (their runs are "
                     "saved); the first: ", shown, nfailed, ntenants);
        else if (ndelivery)
            snprintf(prefix, sizeof prefix, "job %s: %zu of %zu tenant runs failed (%zu of them saved, with a "
                     "failed delivery); the first: ", shown, nfailed, ntenants, ndelivery);
        else
            snprintf(prefix, sizeof prefix, "job %s: %zu of %zu tenant runs failed; the first: ", shown, nfailed,
                     ntenants);
        *err = first;
        dr_error_prefix(err, prefix);
        st = first.status;
    }
cleanup:
    free(tenants);
    return st;
}
