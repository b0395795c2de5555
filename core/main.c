/*
 * dynoreport: the command line. One table of commands (as git.c has); each parses its
 * own options with getopt_long, builds a request and hands it to runner.c, job.c or
 * schema.c. Every command returns a dr_status; dr_cli_finish turns it into the message
 * and the exit code.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "delivery.h"
#include "job.h"
#include "odbc.h"
#include "ops_cli.h"
#include "plugin_host.h"
#include "runner.h"
#include "schema.h"

#ifndef DR_VERSION
#define DR_VERSION "0"
#endif

typedef struct dr_command {
    const char *name;
    dr_status (*fn)(dr_cli *cli, int argc, char **argv, dr_error *err);
    const char *summary;
} dr_command;

/* ---- db init ---------------------------------------------------------------- */

static const char db_help[] =
    "Usage: dynoreport db init [--with-source-indexes]\n\n"
    "Create or upgrade the dynoreport tables (dyno_crm.report_run,\n"
    "dyno_crm.report_rep_performance_fact) from the versioned SQL files.\n"
    "Safe to run again. --with-source-indexes also creates the indexes the\n"
    "report needs on dyno_crm.deal and dyno_crm.deal_pipeline_stage_state.\n";

static dr_status cmd_db(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    static const struct option longopts[] = {{"with-source-indexes", no_argument, NULL, OPT_INDEXES},
                                             {"help", no_argument, NULL, OPT_HELP},
                                             {NULL, 0, NULL, 0}};
    int indexes = 0, c;
    if (argc < 2) {
        fputs(db_help, stderr);
        return dr_fail_usage(err, "missing db command: expected 'init'%s", NULL);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(db_help, stdout);
        return DR_OK;
    }
    if (strcmp(argv[1], "init") != 0)
        return dr_fail_usage(err, "unknown db command %s: expected 'init'", argv[1]);
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == OPT_INDEXES)
            indexes = 1;
        else if (c == 'h' || c == OPT_HELP) {
            fputs(db_help, stdout);
            return DR_OK;
        } else
            return dr_cli_option_error(c, argv, err);
    }
    dr_db *db = NULL;
    dr_status st = dr_cli_no_operands(argc, argv, err);
    if (st == DR_OK)
        st = dr_cli_connection(cli, err);
    if (st == DR_OK)
        st = dr_db_connect(cli->connstr, &db, err);
    dr_wipe(cli->connstr, sizeof cli->connstr); /* connected once: no longer needed */
    dr_schema_report rep = {0};
    if (st == DR_OK)
        st = dr_db_apply_timeouts(db, &cli->cfg.timeouts, err);
    if (st == DR_OK) {
        dr_interrupt_watch(&cli->intr, db); /* a first Ctrl-C cancels the running statement */
        st = dr_schema_init_report(db, indexes, &rep, err);
        if (st != DR_OK && dr_interrupt_signal(&cli->intr)) { /* the cancel is what happened */
            dr_error_clear(err);
            st = dr_interrupt_check(&cli->intr, err);
        }
    }
    dr_interrupt_watch(&cli->intr, NULL);
    dr_db_close(db);
    if (st == DR_OK && rep.repaired > 0)
        dr_log_msg(&cli->log, DR_LOG_WARN, "found and repaired %d object%s of the dynoreport schema: %s",
                   rep.repaired, rep.repaired == 1 ? "" : "s", rep.repaired_what);
    if (st == DR_OK && rep.invalid_dropped > 0)
        dr_log_msg(&cli->log, DR_LOG_WARN, "dropped %d INVALID source index%s an unfinished build had left, "
                   "and built %s again", rep.invalid_dropped, rep.invalid_dropped == 1 ? "" : "es",
                   rep.invalid_dropped == 1 ? "it" : "them");
    if (st == DR_OK)
        dr_log_msg(&cli->log, DR_LOG_INFO, "schema at version %d (%d migration%s applied now)%s", rep.version,
                   rep.applied, rep.applied == 1 ? "" : "s", indexes ? "; source indexes present" : "");
    return st;
}

/* ---- run ---------------------------------------------------------------------- */

static const char run_help[] =
    "Usage: dynoreport run --tenant UUID (--principal TYPE:UUID ... | --all-principals)\n"
    "                      (--period SPEC | --from TS --to TS) [--tz ZONE] [options]\n\n"
    "Compute the Representative Performance report, save it in the database and\n"
    "write it in every format asked for. Prints the run id, then each file's path.\n\n"
    "  --tenant UUID         tenant to report on\n"
    "  --principal P         USER:UUID or GROUP:UUID (repeatable, or comma-separated)\n"
    "  --all-principals      every user and group with a deal created in the period\n"
    "  --period SPEC         2026-10, 2026-Q4, 2026, 2026-10-05, 2026-W41, today, yesterday,\n"
    "                        this-/previous-week, -month, -quarter, -year\n"
    "  --from TS --to TS     explicit range [from, to): 2026-10-01 or 2026-10-01T08:00[+02:00]\n"
    "  --tz ZONE             IANA time zone of the period's midnights (default: UTC)\n"
    "  --no-persist          write the files but keep nothing in the database\n"
    "  --compare MODE        the period shown beside this one: previous (default),\n"
    "                        year-ago or none\n"
    "  --deliver NAME        after the commit, deliver the files to [delivery NAME]\n"
    "                        (repeatable, or comma-separated; default: [defaults] deliver)\n"
    "  --skip-existing       a run saved already with the same options is not computed\n"
    "                        again (its missing files are exported again)\n"
    "  --lock-timeout D      wait up to D (5s, 500ms, 2min; default 5s) for another run\n"
    "                        of the same tenant and period, then exit 75\n";

/* What `run` collects before checking it. */
typedef struct run_args {
    const char *tenant, *from, *to, *tz, *compare;
    const char *deliver[DR_MAX_DELIVERIES];
    size_t ndeliver;
    int help;
    long lock_ms; /* --lock-timeout, -1 when not given */
} run_args;

static dr_status parse_run(int argc, char **argv, dr_run_request *req, dr_output_request *out,
                           dr_strstore *store, run_args *a, dr_error *err)
{
    static const struct option longopts[] = {
        {"tenant", required_argument, NULL, OPT_TENANT},
        {"principal", required_argument, NULL, OPT_PRINCIPAL},
        {"all-principals", no_argument, NULL, OPT_ALL},
        {"period", required_argument, NULL, OPT_PERIOD},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"tz", required_argument, NULL, OPT_TZ},
        {"no-persist", no_argument, NULL, OPT_NOPERSIST},
        {"compare", required_argument, NULL, OPT_COMPARE},
        {"deliver", required_argument, NULL, OPT_DELIVER},
        {"skip-existing", no_argument, NULL, OPT_SKIP_EXISTING},
        {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
        OUTPUT_LONGOPTS,
        {NULL, 0, NULL, 0}};
    int c, handled;
    dr_status st = DR_OK;
    optind = 1;
    while (st == DR_OK && !a->help && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if ((st = dr_cli_output_option(c, optarg, out, store, &handled, err)) != DR_OK || handled)
            continue;
        switch (c) {
        case OPT_TENANT: a->tenant = optarg; break;
        case OPT_ALL: req->all_principals = 1; break;
        case OPT_PERIOD: req->period_text = optarg; break;
        case OPT_FROM: a->from = optarg; break;
        case OPT_TO: a->to = optarg; break;
        case OPT_TZ: a->tz = optarg; break;
        case OPT_COMPARE:
            if (!dr_compare_valid(optarg))
                st = dr_fail_usage(err, "invalid --compare %s: expected previous, year-ago or none", optarg);
            a->compare = optarg;
            break;
        case OPT_NOPERSIST: req->persist = 0; break;
        case OPT_DELIVER:
            if (a->ndeliver >= DR_MAX_DELIVERIES)
                st = dr_fail_usage(err, "too many --deliver options%s", NULL);
            else
                a->deliver[a->ndeliver++] = optarg;
            break;
        case OPT_SKIP_EXISTING: req->skip_existing = 1; break;
        case OPT_LOCK_TIMEOUT: st = dr_cli_lock_timeout_option(optarg, &a->lock_ms, err); break;
        case OPT_HELP: a->help = 1; break;
        case OPT_PRINCIPAL: st = dr_cli_add_principals(req, optarg, store, err); break;
        default: st = dr_cli_option_error(c, argv, err); break;
        }
    }
    if (st != DR_OK || a->help)
        return st;
    if ((st = dr_cli_no_operands(argc, argv, err)) != DR_OK)
        return st;
    if (a->tenant == NULL)
        return dr_fail_usage(err, "missing --tenant UUID%s", NULL);
    if (!req->all_principals && req->nprincipals == 0)
        return dr_fail_usage(err, "missing --principal TYPE:UUID or --all-principals%s", NULL);
    if (req->all_principals && req->nprincipals > 0)
        return dr_fail_usage(err, "--principal and --all-principals exclude each other%s", NULL);
    if (req->period_text && (a->from || a->to))
        return dr_fail_usage(err, "--period and --from/--to exclude each other%s", NULL);
    if (!req->period_text && !(a->from && a->to))
        return dr_fail_usage(err, "missing --period SPEC, or both --from TS and --to TS%s", NULL);
    if (!req->persist && a->ndeliver)
        return dr_fail_usage(err, "--deliver and --no-persist exclude each other%s: a delivery is recorded with "
                             "its saved run", NULL);
    return DR_OK;
}

/* The values of `run`'s options, checked (no database yet). */
static dr_status check_run(const dr_cli *cli, dr_run_request *req, const run_args *a, dr_error *err)
{
    dr_status st = dr_uuid_parse(a->tenant, "--tenant", req->tenant, err);
    if (st == DR_OK && req->period_text)
        st = dr_period_parse(req->period_text, &req->period, err);
    if (st == DR_OK && a->from) {
        req->has_range = 1;
        st = dr_ts_arg_parse(a->from, "--from", &req->from, err);
        if (st == DR_OK)
            st = dr_ts_arg_parse(a->to, "--to", &req->to, err);
        req->period_text = "range";
    }
    req->tz = dr_config_tz(&cli->cfg, NULL, a->tz);
    dr_config_view(&cli->cfg, NULL, a->compare, &req->view);
    if (st == DR_OK)
        st = dr_tz_check(req->tz, err);
    return st;
}

static dr_status cmd_run(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    dr_run_request *req = calloc(1, sizeof *req);
    dr_output_request out = {0};
    dr_strstore store = {0};
    dr_output_plan *plan = NULL;
    dr_delivery_plan *deliveries = NULL;
    run_args a = {.lock_ms = -1};
    dr_status st = DR_OK;
    if (req == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    req->persist = 1;
    if ((st = parse_run(argc, argv, req, &out, &store, &a, err)) != DR_OK)
        goto cleanup;
    if (a.help) {
        printf("%s%s", run_help, dr_cli_output_help);
        goto cleanup;
    }
    if ((st = check_run(cli, req, &a, err)) != DR_OK ||
        (st = dr_cli_plan(cli, NULL, &out, &store, &plan, err)) != DR_OK ||
        (req->persist && (st = dr_cli_deliveries(cli, NULL, a.deliver, a.ndeliver, out.plugin_dir, &store,
                                                 &deliveries, err)) != DR_OK) ||
        (st = dr_cli_connection(cli, err)) != DR_OK)
        goto cleanup;
    dr_runner r = dr_cli_runner(cli, plan);
    r.deliveries = deliveries;
    r.lock_timeout_ms = dr_cli_lock_timeout(cli, NULL, a.lock_ms);
    st = dr_run_execute(&r, req, err);
cleanup:
    dr_delivery_plan_free(deliveries);
    dr_output_plan_free(plan);
    dr_strstore_free(&store);
    free(req);
    return st;
}

/* ---- job ---------------------------------------------------------------------- */

static const char job_help[] =
    "Usage: dynoreport job (NAME | --all) [--jobs N] [--skip-existing] [--lock-timeout D]\n"
    "                      [--dry-run]\n\n"
    "Run the [job NAME] of the configuration file (--all: every job, in file order), for\n"
    "schedulers (cron, systemd timers). The job's keys override [defaults]. With\n"
    "tenant = all, one run per tenant that has deals; each run prints its run id, then\n"
    "its files' paths. Several processes of the same job share its tenants.\n\n"
    "  --jobs N            N worker processes, each on its own connections (default:\n"
    "                      jobs of the configuration, else online CPUs, at most 4)\n"
    "  --skip-existing     a tenant saved already with the same options is not computed\n"
    "                      again (its missing files are exported again)\n"
    "  --lock-timeout D    wait up to D (5s, 500ms, 2min; default 5s) for a tenant\n"
    "                      another process is computing\n"
    "  --dry-run           print the tenants, period, formats and files; compute and\n"
    "                      write nothing\n";

/* What `job` collects from its command line. */
typedef struct job_args {
    const char *name;
    int all, help, skip_existing, dry_run;
    long jobs;    /* 0 when not given */
    long lock_ms; /* -1 when not given */
} job_args;

static dr_status parse_job(int argc, char **argv, job_args *a, dr_error *err)
{
    static const struct option longopts[] = {
        {"all", no_argument, NULL, OPT_ALL_JOBS},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {"skip-existing", no_argument, NULL, OPT_SKIP_EXISTING},
        {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    int c;
    dr_status st = DR_OK;
    optind = 0; /* 0, not 1: glibc starts over and permutes (NAME may come first), unlike "+" of the global options */
    while (st == DR_OK && !a->help && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_ALL_JOBS: a->all = 1; break;
        case OPT_JOBS:
            if (!dr_jobs_parse(optarg, &a->jobs)) {
                char fmt[96];
                snprintf(fmt, sizeof fmt, "invalid --jobs %%s: expected a number of worker processes from 1 to %d",
                         DR_MAX_JOBS);
                st = dr_fail_usage(err, fmt, optarg);
            }
            break;
        case OPT_SKIP_EXISTING: a->skip_existing = 1; break;
        case OPT_LOCK_TIMEOUT: st = dr_cli_lock_timeout_option(optarg, &a->lock_ms, err); break;
        case OPT_DRY_RUN: a->dry_run = 1; break;
        case 'h':
        case OPT_HELP: a->help = 1; break;
        default: st = dr_cli_option_error(c, argv, err); break;
        }
    }
    if (st != DR_OK || a->help)
        return st;
    if (optind < argc)
        a->name = argv[optind++];
    if (optind < argc)
        return dr_fail_usage(err, "unexpected argument %s", argv[optind]);
    if (a->all && a->name)
        return dr_fail_usage(err, "job NAME and --all exclude each other (got %s)", a->name);
    if (!a->all && !a->name)
        return dr_fail_usage(err, "missing job NAME (or --all)%s", NULL);
    return DR_OK;
}

/* Worker processes by default: online CPUs, at most 4 (and at least 1). */
static long default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : n;
}

/* One [job]: its request, its output plan, its runs. */
static dr_status run_one_job(dr_cli *cli, const dr_config_job *job, const job_args *a, dr_error *err)
{
    dr_run_request *req = calloc(1, sizeof *req);
    dr_output_request out = {.check_only = a->dry_run};
    dr_strstore store = {0};
    dr_output_plan *plan = NULL;
    dr_delivery_plan *deliveries = NULL;
    int all_tenants = 0;
    long jobs = a->jobs;
    const char *skip = job->s.skip_existing ? job->s.skip_existing : cli->cfg.defaults.skip_existing;
    const char *jobs_key = job->s.jobs ? job->s.jobs : cli->cfg.defaults.jobs;
    dr_job_options opt = {.skip_existing = a->skip_existing || (skip && strcmp(skip, "true") == 0),
                          .dry_run = a->dry_run,
                          .progress = cli->log.verbosity >= 2 || (cli->log.verbosity >= 1 && isatty(STDERR_FILENO))};
    dr_status st = DR_OK;
    if (req == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    if (jobs == 0 && !(jobs_key && dr_jobs_parse(jobs_key, &jobs)))
        jobs = default_jobs();
    opt.jobs = (int)jobs;
    if ((st = dr_job_request(&cli->cfg, job, req, &store, &all_tenants, req->tenant, err)) != DR_OK ||
        (st = dr_cli_plan(cli, &job->s, &out, &store, &plan, err)) != DR_OK ||
        (st = dr_cli_deliveries(cli, &job->s, NULL, 0, out.plugin_dir, &store, &deliveries, err)) != DR_OK ||
        (st = dr_cli_connection(cli, err)) != DR_OK)
        goto cleanup;
    dr_runner r = dr_cli_runner(cli, plan);
    r.deliveries = deliveries;
    r.lock_timeout_ms = dr_cli_lock_timeout(cli, &job->s, a->lock_ms);
    st = dr_job_execute(&r, job->name, req, all_tenants, &opt, err);
cleanup:
    dr_delivery_plan_free(deliveries);
    dr_output_plan_free(plan);
    dr_strstore_free(&store);
    free(req);
    return st;
}

static dr_status cmd_job(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    job_args a = {.lock_ms = -1};
    dr_status st = parse_job(argc, argv, &a, err);
    if (st == DR_OK && a.help) {
        fputs(job_help, stdout);
        return DR_OK;
    }
    if (st != DR_OK) {
        if (argc < 2)
            fputs(job_help, stderr);
        return st;
    }
    if (a.all) {
        dr_status first = DR_OK;
        dr_error one;
        if (cli->cfg.njobs == 0)
            return dr_fail(err, DR_ECONFIG, "job --all: no [job NAME] section in %s",
                           cli->cfg.path ? cli->cfg.path : "the configuration (no configuration file found)");
        /* every job, in file order; a failed job does not stop the others; the first failure is the command's */
        for (size_t i = 0; i < cli->cfg.njobs && !dr_interrupt_signal(&cli->intr); i++) {
            dr_error_clear(&one);
            st = run_one_job(cli, &cli->cfg.jobs[i], &a, &one);
            if (st != DR_OK && first == DR_OK) {
                first = st;
                *err = one;
            } else if (st != DR_OK) {
                dr_log_msg(&cli->log, DR_LOG_ERROR, "error: %s", one.msg);
            }
        }
        if (first == DR_OK && dr_interrupt_signal(&cli->intr))
            first = dr_interrupt_check(&cli->intr, err);
        return first;
    }
    const dr_config_job *job = dr_config_job_find(&cli->cfg, a.name);
    if (job == NULL) {
        char q[DR_QUOTE_SIZE], where[512];
        dr_printable_copy(cli->cfg.path ? cli->cfg.path : "", where, sizeof where);
        return dr_fail(err, DR_ECONFIG, "no job %s in %s: expected a [job NAME] section",
                       dr_quote(a.name, strlen(a.name), q, sizeof q),
                       cli->cfg.path ? where : "the configuration (no configuration file found)");
    }
    return run_one_job(cli, job, &a, err);
}

/* ---- export ------------------------------------------------------------------- */

static dr_status cmd_export(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    static const struct option longopts[] = {{"run-id", required_argument, NULL, OPT_RUNID},
                                             OUTPUT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    dr_output_request out = {0};
    dr_strstore store = {0};
    dr_output_plan *plan = NULL;
    const char *run_id = NULL;
    char id[DR_UUID_LEN + 1];
    int c, handled, help = 0;
    dr_status st = DR_OK;
    optind = 1;
    while (st == DR_OK && !help && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if ((st = dr_cli_output_option(c, optarg, &out, &store, &handled, err)) != DR_OK || handled)
            continue;
        if (c == OPT_RUNID)
            run_id = optarg;
        else if (c == OPT_HELP)
            help = 1;
        else
            st = dr_cli_option_error(c, argv, err);
    }
    if (st == DR_OK && help) {
        printf("Usage: dynoreport export --run-id UUID [options]\n\n"
               "Write the files of a saved run again, without recomputing it.\n\n%s", dr_cli_output_help);
        goto cleanup;
    }
    if (st == DR_OK)
        st = dr_cli_no_operands(argc, argv, err);
    if (st == DR_OK && run_id == NULL)
        st = dr_fail_usage(err, "missing --run-id UUID%s", NULL);
    if (st != DR_OK || (st = dr_uuid_parse(run_id, "--run-id", id, err)) != DR_OK ||
        (st = dr_cli_plan(cli, NULL, &out, &store, &plan, err)) != DR_OK ||
        (st = dr_cli_connection(cli, err)) != DR_OK)
        goto cleanup;
    dr_runner r = dr_cli_runner(cli, plan);
    st = dr_run_export(&r, id, err);
cleanup:
    dr_output_plan_free(plan);
    dr_strstore_free(&store);
    return st;
}

/* ---- deliver ------------------------------------------------------------------ */

static const char deliver_help[] =
    "Usage: dynoreport deliver --run-id UUID [--to NAME ...] [options]\n\n"
    "Send a saved run again without recomputing it: its files are written again into a\n"
    "private temporary directory (the formats of --format, else [defaults] formats),\n"
    "delivered to each destination, recorded, and removed. Prints the run id.\n\n"
    "  --run-id UUID         the saved run\n"
    "  --to NAME             a [delivery NAME] of the configuration (repeatable, or\n"
    "                        comma-separated; default: [defaults] deliver)\n";

/* Remove the private directory of `deliver` and what export put in it. */
static void remove_private_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d) {
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

static dr_status cmd_deliver(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    static const struct option longopts[] = {{"run-id", required_argument, NULL, OPT_RUNID},
                                             {"to", required_argument, NULL, OPT_TO_DEST},
                                             OUTPUT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    dr_output_request out = {0};
    dr_strstore store = {0};
    dr_output_plan *plan = NULL;
    dr_delivery_plan *deliveries = NULL;
    const char *run_id = NULL, *to[DR_MAX_DELIVERIES];
    size_t nto = 0;
    char id[DR_UUID_LEN + 1], tmpdir[PATH_MAX] = "";
    int c, handled, help = 0;
    dr_status st = DR_OK;
    optind = 1;
    while (st == DR_OK && !help && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c != OPT_OUTDIR && (st = dr_cli_output_option(c, optarg, &out, &store, &handled, err)) != DR_OK)
            continue;
        if (c != OPT_OUTDIR && handled)
            continue;
        if (c == OPT_RUNID)
            run_id = optarg;
        else if (c == OPT_TO_DEST && nto >= DR_MAX_DELIVERIES)
            st = dr_fail_usage(err, "too many --to options%s", NULL);
        else if (c == OPT_TO_DEST)
            to[nto++] = optarg;
        else if (c == OPT_OUTDIR)
            st = dr_fail_usage(err, "deliver takes no --output-dir%s: the files are written into a private "
                               "temporary directory (use export to write them somewhere)", NULL);
        else if (c == OPT_HELP)
            help = 1;
        else
            st = dr_cli_option_error(c, argv, err);
    }
    if (st == DR_OK && help) {
        printf("%s\n%s", deliver_help, dr_cli_output_help);
        goto cleanup;
    }
    if (st == DR_OK)
        st = dr_cli_no_operands(argc, argv, err);
    if (st == DR_OK && run_id == NULL)
        st = dr_fail_usage(err, "missing --run-id UUID%s", NULL);
    if (st == DR_OK)
        st = dr_uuid_parse(run_id, "--run-id", id, err);
    /* a private directory for the files: mode 0700, removed at the end */
    const char *base = getenv("TMPDIR");
    if (st == DR_OK) {
        snprintf(tmpdir, sizeof tmpdir, "%s/dynoreport-deliver.XXXXXX", base && *base == '/' ? base : "/tmp");
        if (mkdtemp(tmpdir) == NULL) {
            st = dr_fail(err, DR_ECANTCREATE, "cannot create a private directory in %s: %s",
                         base && *base == '/' ? base : "/tmp", strerror(errno));
            tmpdir[0] = '\0';
        }
    }
    out.output_dir = tmpdir;
    if (st != DR_OK || (st = dr_cli_plan(cli, NULL, &out, &store, &plan, err)) != DR_OK ||
        (st = dr_cli_deliveries(cli, NULL, to, nto, out.plugin_dir, &store, &deliveries, err)) != DR_OK)
        goto cleanup;
    if (deliveries == NULL) {
        st = dr_fail_usage(err, "no destination: expected --to NAME, or 'deliver' in [defaults]%s", NULL);
        goto cleanup;
    }
    const char *into_output = dr_delivery_plan_dir_without_url(deliveries);
    if (into_output) { /* it would deliver into the private directory */
        char q[DR_QUOTE_SIZE];
        st = dr_fail(err, DR_EUSAGE, "[delivery %s] is a dir delivery into the output directory: deliver needs a "
                     "'url = file:///DIR' for it, or use 'dynoreport export --run-id'",
                     dr_quote(into_output, strlen(into_output), q, sizeof q));
        goto cleanup;
    }
    if ((st = dr_cli_connection(cli, err)) != DR_OK)
        goto cleanup;
    dr_runner r = dr_cli_runner(cli, plan);
    dr_log quiet = cli->log; /* the files' paths are private and gone at the end: not results */
    quiet.result = NULL;
    r.log = &quiet;
    r.deliveries = deliveries;
    st = dr_run_export(&r, id, err);
    if (st == DR_OK || st == DR_EDELIVERY)
        dr_log_result(&cli->log, id);
cleanup:
    dr_delivery_plan_free(deliveries);
    dr_output_plan_free(plan); /* closes the directory before it is removed */
    plan = NULL;
    if (tmpdir[0])
        remove_private_dir(tmpdir);
    dr_strstore_free(&store);
    return st;
}

/* ---- plugins ------------------------------------------------------------------ */

static void print_plugin(void *ctx, const dr_loaded_plugin *p, const dr_error *load_err)
{
    int *count = ctx;
    if (load_err) {
        printf("%-8s %-8s %-5s %s\n         error: %s\n", "?", "-", "-", p->path, load_err->msg);
        return;
    }
    printf("%-8s %-8s %-5u %s\n         %s\n", p->desc->name, p->desc->version ? p->desc->version : "-",
           (unsigned)p->desc->abi_major, p->path, p->desc->description ? p->desc->description : "");
    (*count)++;
}

/* The delivery plugins are listed after the formats, kept until then. */
typedef struct plugin_listing {
    int count;
    char deliveries[32][1200];
    size_t ndeliveries;
} plugin_listing;

static void print_plugin_entry(void *ctx, const dr_loaded_plugin *p, const dr_error *load_err)
{
    print_plugin(&((plugin_listing *)ctx)->count, p, load_err);
}

static void keep_delivery(void *ctx, const dr_loaded_delivery *d, const dr_error *load_err)
{
    plugin_listing *l = ctx;
    if (l->ndeliveries >= sizeof l->deliveries / sizeof l->deliveries[0])
        return;
    if (load_err) { /* a delivery-only file that cannot be loaded: listed like a bad format */
        printf("%-8s %-8s %-5s %s\n         error: %s\n", "?", "-", "-", d->path, load_err->msg);
        return;
    }
    snprintf(l->deliveries[l->ndeliveries++], sizeof l->deliveries[0], "%-8s %-8.8s %-5u %.1100s", d->desc->kind,
             d->desc->version ? d->desc->version : "-", (unsigned)d->desc->abi_major, d->path);
}

static dr_status cmd_plugins(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    static const struct option longopts[] = {{"plugin-dir", required_argument, NULL, OPT_PLUGINDIR},
                                             {"help", no_argument, NULL, OPT_HELP},
                                             {NULL, 0, NULL, 0}};
    const char *dir = cli->cfg.defaults.plugin_dir;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == OPT_PLUGINDIR && *optarg == '\0')
            return dr_fail_usage(err, "empty --plugin-dir%s: expected a directory", NULL);
        else if (c == OPT_PLUGINDIR)
            dir = optarg;
        else if (c == OPT_HELP) {
            printf("Usage: dynoreport plugins [--plugin-dir DIR]\n\n"
                   "List the output plugins found: name, version, ABI major, file, description;\n"
                   "then the delivery kinds: dir (built in) and the delivery plugins found.\n"
                   "This dynoreport speaks plugin ABI %d.%d.\n", DR_PLUGIN_ABI_MAJOR, DR_PLUGIN_ABI_MINOR);
            return DR_OK;
        } else
            return dr_cli_option_error(c, argv, err);
    }
    dr_status st = dr_cli_no_operands(argc, argv, err);
    if (st != DR_OK)
        return st;
    dr_plugin_path pp;
    plugin_listing listing = {0};
    dr_plugin_path_init(&pp, dir);
    printf("%-8s %-8s %-5s %s\n", "NAME", "VERSION", "ABI", "FILE");
    dr_plugin_foreach(&pp, print_plugin_entry, keep_delivery, &listing);
    printf("(host plugin ABI %d.%d)\n", DR_PLUGIN_ABI_MAJOR, DR_PLUGIN_ABI_MINOR);
    /* the delivery kinds ([delivery NAME] kind = ...): built in, then the plugins found */
    const dr_delivery *dir_kind = dr_delivery_dir_builtin();
    printf("\n%-8s %-8s %-5s %s\n%-8s %-8s %-5u %s\n", "DELIVERY", "VERSION", "ABI", "FILE", dir_kind->kind,
           dir_kind->version, (unsigned)dir_kind->abi_major, "(built in)");
    for (size_t i = 0; i < listing.ndeliveries; i++)
        printf("%s\n", listing.deliveries[i]);
    printf("(host delivery ABI %d.%d)\n", DR_DELIVERY_ABI_MAJOR, DR_DELIVERY_ABI_MINOR);
    for (size_t i = 0; i < pp.ndirs; i++)
        dr_log_msg(&cli->log, DR_LOG_DEBUG, "searched %s", pp.dirs[i]);
    dr_plugin_path_free(&pp);
    return DR_OK;
}

/* ---- main --------------------------------------------------------------------- */

static const dr_command commands[] = {
    {"db", cmd_db, "db init [--with-source-indexes]   create or upgrade the tables"},
    {"run", cmd_run, "run --tenant ... --period ...     compute, save and write a report"},
    {"export", cmd_export, "export --run-id UUID              write a saved run's files again"},
    {"job", cmd_job, "job (NAME | --all) [options]      run a [job NAME] of the configuration file"},
    {"deliver", cmd_deliver, "deliver --run-id UUID [--to NAME] send a saved run's files again"},
    {"plugins", cmd_plugins, "plugins                          list the output formats found"},
    {"runs", dr_cmd_runs, "runs list|show ID|prune ...      list, show or delete saved runs"},
    {"config", dr_cmd_config, "config check                     check the configuration file"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: dynoreport [--connect STR | --dsn NAME] [--config FILE] [-v|-q] COMMAND ...\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s\n", commands[i].summary);
    fprintf(f, "\nOptions:\n"
               "  --connect STR   ODBC connection string (or DYNOREPORT_CONNECT)\n"
               "  --dsn NAME      ODBC data source name (or DYNOREPORT_DSN)\n"
               "  --config FILE   configuration file (or DYNOREPORT_CONFIG; default %s)\n"
               "  -v, --verbose   also each phase and its duration on stderr\n"
               "  -q, --quiet     errors only\n"
               "  --help, --version\n\n"
               "Exit codes: 0 ok, 64 usage, 65 bad data, 69 database unavailable, 70 internal,\n"
               "73 cannot create output, 74 I/O error, 75 try again later, 76 delivery failed\n"
               "(the run is saved), 78 configuration,\n"
               "129/130/143 stopped by SIGHUP/SIGINT/SIGTERM.\n",
            DR_CONFIG_DEFAULT_PATH);
}

/* The global options; *@p done is set when they answered already (--help, --version). */
static dr_status parse_global(dr_cli *cli, int argc, char **argv, int *done, dr_error *err)
{
    static const struct option longopts[] = {{"connect", required_argument, NULL, 'c'},
                                             {"dsn", required_argument, NULL, 'd'},
                                             {"config", required_argument, NULL, 'C'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': cli->connect = optarg; break;
        case 'd': cli->dsn = optarg; break;
        case 'C':
            /* config.c reads "" as "not given" (right for an empty $DYNOREPORT_CONFIG); an
               explicit empty --config must not fall back to the default file silently */
            if (*optarg == '\0')
                return dr_fail_usage(err, "empty --config%s: expected a file", NULL);
            cli->config_path = optarg;
            break;
        case 'v': cli->log.verbosity = 2; break;
        case 'q': cli->log.verbosity = 0; break;
        case 'h': usage(stdout); *done = 1; return DR_OK;
        case 'V':
            printf("dynoreport %s (plugin ABI %d.%d)\n", DR_VERSION, DR_PLUGIN_ABI_MAJOR, DR_PLUGIN_ABI_MINOR);
            *done = 1;
            return DR_OK;
        default: return dr_cli_option_error(c, argv, err);
        }
    }
    if (cli->connect && cli->dsn)
        return dr_fail_usage(err, "--connect and --dsn exclude each other%s", NULL);
    if (optind >= argc) {
        usage(stderr);
        return dr_fail(err, DR_EUSAGE, "missing command: expected db, run, export, job, deliver, plugins, runs or config");
    }
    return DR_OK;
}

int main(int argc, char **argv)
{
    dr_cli_no_core_dumps(); /* before anything holds a secret */
    /* fds 0, 1 and 2 open before anything else opens a file (OpenSSH's sanitise_stdfd):
       a closed one is the next descriptor handed out, and with fd 1 closed the run id went
       into the database socket. open() gives the lowest free number: fd itself. */
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) {
            static const char msg[] = "dynoreport: error: cannot open /dev/null for a closed fd 0, 1 or 2\n";
            ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
            (void)w;
            return 70;
        }
    dr_cli cli;
    dr_error err = {0};
    const dr_command *cmd = NULL;
    int done = 0;
    dr_cli_init(&cli);
    dr_status st = parse_global(&cli, argc, argv, &done, &err);
    for (size_t i = 0; st == DR_OK && !done && i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[optind], commands[i].name) == 0)
            cmd = &commands[i];
    if (st == DR_OK && !done && cmd == NULL)
        st = dr_fail_usage(&err, "unknown command %s: expected db, run, export, job, deliver, plugins, runs or config",
                           argv[optind]);
    if (st == DR_OK && cmd)
        dr_cli_guard_connect(&cli, (char *)cli.connect); /* it points into argv */
    /* config check reads the file itself: it reports every problem of it, not the first */
    if (st == DR_OK && cmd && cmd->fn != dr_cmd_config)
        st = dr_config_load(cli.config_path, &cli.cfg, &err);
    if (st == DR_OK && cmd) {
        dr_interrupt_start(&cli.intr);
        st = cmd->fn(&cli, argc - optind, argv + optind, &err);
    }
    int rc = dr_cli_finish(&cli, cmd ? cmd->name : "", st, &err);
    dr_cli_free(&cli);
    return rc;
}
