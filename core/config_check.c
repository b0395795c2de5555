/* `config check`: every problem of the configuration and of what it names, each reported
   with file:line where there is one; reuses the reading (config.c), the job resolution
   (job.c), the output plan (output.c, check only) and the names queries' reading
   (run_view.c) of the real commands, so it checks what they would do. */
#include "config_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "odbc.h"
#include "period_db.h"
#include "run_store.h"
#include "run_view.h"
#include "schema.h"

/* What the check found so far. */
typedef struct check_ctx {
    dr_cli *cli;
    size_t problems;     /* of the configuration (exit 78) */
    dr_status db_status; /* the connection's failure, DR_OK when none */
    char (*tenants)[DR_UUID_LEN + 1]; /* the tenants with deals (tenant = all), read once */
    size_t ntenants;
    int tenants_read;
    size_t runs;         /* tenant runs the jobs would make */
} check_ctx;

/* The tenants a job would run for, as `job` finds them: all with deals, or its one tenant
   (a warning when that one has no deal at all: its runs would be empty). */
static dr_status check_tenants(check_ctx *c, dr_db *db, const dr_config_job *job, const char *tenant,
                               dr_error *err)
{
    if (!c->tenants_read) {
        dr_status st = dr_store_list_tenants(db, &c->tenants, &c->ntenants, err);
        if (st != DR_OK)
            return st;
        c->tenants_read = 1;
    }
    if (*tenant == '\0') { /* tenant = all */
        c->runs += c->ntenants;
        return DR_OK;
    }
    c->runs++;
    for (size_t i = 0; i < c->ntenants; i++)
        if (strcmp(c->tenants[i], tenant) == 0)
            return DR_OK;
    char shown[256];
    dr_printable_copy(job->name, shown, sizeof shown);
    dr_log_msg(&c->cli->log, DR_LOG_WARN, "warning: [job %s]: tenant %s has no deals in dyno_crm.deal: its runs "
               "will have no rows", shown, tenant);
    return DR_OK;
}

/* One problem: an error line now, counted. */
static void problem(void *ctx, const dr_error *e)
{
    check_ctx *c = ctx;
    c->problems++;
    dr_log_msg(&c->cli->log, DR_LOG_ERROR, "error: %s", e->msg[0] ? e->msg : dr_strerror(e->status));
}

/* A problem of @p section (and @p key, may be NULL), put after "FILE:LINE: [SECTION]". */
static void problem_at(check_ctx *c, const char *section, const char *key, dr_error *e)
{
    const dr_config *cfg = &c->cli->cfg;
    char prefix[1200], where[512], shown[600];
    int line = key ? dr_config_line_of(cfg, section, key) : 0;
    if (line == 0)
        line = dr_config_line_of(cfg, section, NULL);
    dr_printable_copy(cfg->path ? cfg->path : "", where, sizeof where);
    dr_printable_copy(section, shown, sizeof shown);
    if (cfg->path && line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d: [%s]%s%s%s: ", where, line, shown, key ? " key '" : "",
                 key ? key : "", key ? "'" : "");
    else if (cfg->path)
        snprintf(prefix, sizeof prefix, "%s: [%s]: ", where, shown);
    else
        snprintf(prefix, sizeof prefix, "[%s] (no configuration file): ", shown);
    dr_error_prefix(e, prefix);
    problem(c, e);
    dr_error_clear(e);
}

/* The connection string as every command resolves it; its [connection] line. */
static int check_connection(check_ctx *c)
{
    dr_error e = {0};
    const dr_config *cfg = &c->cli->cfg;
    if (dr_cli_connection(c->cli, &e) == DR_OK)
        return 1;
    problem_at(c, "connection", cfg->password_file ? "password_file" : cfg->dsn ? "dsn" : "connect", &e);
    return 0;
}

/* Connect and check the schema; NULL when the database cannot be used. */
static dr_db *check_database(check_ctx *c)
{
    dr_error e = {0};
    dr_db *db = NULL;
    dr_status st = dr_db_connect(c->cli->connstr, &db, &e);
    if (st == DR_OK)
        st = dr_db_apply_timeouts(db, &c->cli->cfg.timeouts, &e);
    if (st != DR_OK) {
        dr_error_prefix(&e, "cannot check the database: ");
        if (st == DR_ECONFIG) { /* an unknown driver or DSN: the configuration's */
            problem_at(c, "connection", c->cli->cfg.dsn ? "dsn" : "connect", &e);
        } else {
            c->db_status = st;
            dr_log_msg(&c->cli->log, DR_LOG_ERROR, "error: %s", e.msg);
        }
        dr_db_close(db);
        return NULL;
    }
    dr_interrupt_watch(&c->cli->intr, db);
    if (dr_schema_check(db, &e) != DR_OK)
        problem(c, &e);
    return db;
}

/* A zone's form, and with @p db whether the database knows it. */
static void check_zone(check_ctx *c, dr_db *db, const char *tz, const char *section, const char *key)
{
    dr_error e = {0};
    dr_zone zone = {.name = tz};
    if (dr_tz_check(tz, &e) != DR_OK || (db && dr_zone_apply(db, &zone, &e) != DR_OK))
        problem_at(c, section, key, &e);
    if (db)
        dr_db_rollback(db); /* the zone was only tried; a refused one aborts the transaction */
}

/* The output of [defaults] (job NULL) or of a job, as run / job build it, changing nothing. */
static void check_output(check_ctx *c, const dr_config_job *job)
{
    dr_output_request out = {.check_only = 1};
    dr_strstore store = {0};
    dr_output_plan *plan = NULL;
    dr_error e = {0};
    char section[600];
    snprintf(section, sizeof section, "%s%s", job ? "job " : "defaults", job ? job->name : "");
    if (dr_cli_plan(c->cli, job ? &job->s : NULL, &out, &store, &plan, &e) != DR_OK)
        problem_at(c, section, NULL, &e);
    dr_output_plan_free(plan);
    dr_strstore_free(&store);
}

static void check_names(check_ctx *c, dr_db *db)
{
    const dr_config *cfg = &c->cli->cfg;
    const char *paths[2] = {cfg->names_principals, cfg->names_tenant};
    static const char *const keys[2] = {"principals", "tenant"};
    static const size_t ncols[2] = {3, 1};
    for (size_t i = 0; i < 2; i++) {
        dr_error e = {0};
        if (paths[i] && dr_view_check_query(db, paths[i], ncols[i], &e) != DR_OK)
            problem_at(c, "names", keys[i], &e);
        if (db)
            dr_db_rollback(db); /* a failed query aborts the transaction; the next check needs it */
    }
}

static dr_status check_jobs(check_ctx *c, dr_db *db, dr_error *err)
{
    const dr_config *cfg = &c->cli->cfg;
    dr_run_request *req = calloc(1, sizeof *req);
    if (req == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->njobs; i++) {
        const dr_config_job *job = &cfg->jobs[i];
        dr_strstore store = {0};
        size_t bad = 0;
        char section[600];
        memset(req, 0, sizeof *req);
        dr_status st = dr_job_check(cfg, job, req, &store, problem, c, &bad, err);
        if (st == DR_OK && bad == 0 && db)
            st = check_tenants(c, db, job, req->tenant, err);
        /* the job's own zone, of a good form (else reported above): does the database know it?
           (a zone of [defaults] was checked once, not again for every job that inherits it) */
        if (st == DR_OK && db && job->s.tz && dr_tz_check(job->s.tz, NULL) == DR_OK) {
            snprintf(section, sizeof section, "job %s", job->name);
            check_zone(c, db, job->s.tz, section, "tz");
        }
        dr_strstore_free(&store);
        if (st != DR_OK) {
            free(req);
            return st;
        }
        check_output(c, job);
    }
    free(req);
    return DR_OK;
}

dr_status dr_config_check(dr_cli *cli, dr_error *err)
{
    check_ctx c = {.cli = cli};
    dr_db *db = NULL;
    char where[512];
    double t0 = dr_log_now_ms();
    dr_status st = dr_config_load_each(cli->config_path, &cli->cfg, problem, &c, err);
    dr_log_phase(&cli->log, "read the file", &t0);
    if (st != DR_OK)
        return st;
    dr_printable_copy(cli->cfg.path ? cli->cfg.path : DR_CONFIG_DEFAULT_PATH, where, sizeof where);
    if (cli->cfg.path == NULL)
        dr_log_msg(&cli->log, DR_LOG_INFO, "no configuration file: %s does not exist; checking the built-in "
                   "defaults and the connection from the command line or the environment", where);
    if (check_connection(&c))
        db = check_database(&c);
    dr_wipe(cli->connstr, sizeof cli->connstr); /* connected once: no longer needed */
    dr_log_phase(&cli->log, "connect", &t0);
    check_names(&c, db);
    dr_log_phase(&cli->log, "names queries", &t0);
    if (cli->cfg.defaults.tz)
        check_zone(&c, db, cli->cfg.defaults.tz, "defaults", "tz");
    check_output(&c, NULL);
    st = check_jobs(&c, db, err);
    dr_log_phase(&cli->log, "defaults and jobs", &t0);
    dr_interrupt_watch(&cli->intr, NULL);
    dr_db_close(db); /* rolls back: the check only read */
    free(c.tenants);
    if (st == DR_OK)
        st = dr_interrupt_check(&cli->intr, err);
    if (st != DR_OK)
        return st;
    if (c.problems > 0)
        return dr_fail(err, DR_ECONFIG, "config check: %zu problem%s found in %s%s", c.problems,
                       c.problems == 1 ? "" : "s", where,
                       c.db_status != DR_OK ? " (and the database could not be reached)" : "");
    if (c.db_status != DR_OK)
        return dr_fail(err, c.db_status, "config check: the database could not be reached (see above); nothing "
                       "else was found wrong in %s", where);
    char line[1024];
    snprintf(line, sizeof line, "%s: OK (%zu job%s, %zu tenant run%s; database reachable, schema up to date)",
             where, cli->cfg.njobs, cli->cfg.njobs == 1 ? "" : "s", c.runs, c.runs == 1 ? "" : "s");
    dr_log_result(&cli->log, line);
    return DR_OK;
}
