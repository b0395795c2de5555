/*
 * dynoreport: the command line. Commands are dispatched from one table (as git.c
 * does); each parses its own options with getopt_long and hands a validated
 * request to runner.c or schema.c. Messages go to stderr, results to stdout.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "odbc.h"
#include "plugin_host.h"
#include "runner.h"
#include "schema.h"

#define DR_CONNSTR_MAX 4096

/* What every command gets: the global options and the loaded configuration. */
typedef struct dr_cli {
    const char *connect;
    const char *dsn;
    const char *config_path;
    int verbosity;
    dr_config cfg;
    dr_interrupt intr;
    char connstr[DR_CONNSTR_MAX];
} dr_cli;

typedef struct dr_command {
    const char *name;
    int (*fn)(dr_cli *cli, int argc, char **argv);
    const char *summary;
} dr_command;

/*
 * stdout is a contract for scripts (run id, then paths). Plugins and libraries must not
 * be able to break it, so the results get a private copy of fd 1, and fd 1 itself is
 * pointed at stderr for the rest of the command: a stray printf lands among the logs.
 */
static FILE *results_stream(void)
{
    fflush(stdout);
    int fd = dup(STDOUT_FILENO);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        return stdout;
    }
    dup2(STDERR_FILENO, STDOUT_FILENO);
    return f;
}

static void results_close(FILE *f)
{
    if (f != stdout)
        fclose(f);
}

static int report(const dr_error *err, dr_status st)
{
    if (st == DR_OK)
        return 0;
    fprintf(stderr, "dynoreport: error: %s\n", err && err->msg[0] ? err->msg : dr_strerror(st));
    return dr_status_exit_code(st, err ? err->signal : 0);
}

/* @p msg holds one "%s", replaced by the quoted @p value (or nothing when it is NULL). */
static int usage_error(const char *cmd, const char *msg, const char *value)
{
    char q[160];
    const char *mark = strstr(msg, "%s");
    int head = mark ? (int)(mark - msg) : (int)strlen(msg);
    fprintf(stderr, "dynoreport: error: %.*s%s%s\n", head, msg,
            value ? dr_quote(value, strlen(value), q, sizeof q) : "", mark ? mark + 2 : "");
    fprintf(stderr, "Try 'dynoreport %s--help' for more information.\n", cmd);
    return dr_status_exit_code(DR_EUSAGE, 0);
}

/* Flag, then environment, then configuration file (SPEC §5); the password file adds PWD. */
static dr_status resolve_connection(dr_cli *cli, dr_error *err)
{
    const char *connect = cli->connect, *dsn = cli->dsn;
    if (!connect && !dsn) {
        connect = getenv("DYNOREPORT_CONNECT");
        dsn = getenv("DYNOREPORT_DSN");
        if (connect && !*connect)
            connect = NULL;
        if (dsn && !*dsn)
            dsn = NULL;
    }
    if (!connect && !dsn) {
        connect = cli->cfg.connect;
        dsn = cli->cfg.dsn;
    }
    int n;
    if (connect)
        n = snprintf(cli->connstr, sizeof cli->connstr, "%s", connect);
    else if (dsn)
        n = snprintf(cli->connstr, sizeof cli->connstr, "DSN=%s;", dsn);
    else
        return dr_fail(err, DR_ECONFIG,
                       "no database connection: expected --connect 'Driver=...;Server=...;', --dsn NAME, "
                       "DYNOREPORT_CONNECT, DYNOREPORT_DSN or [connection] in the configuration file");
    if (n < 0 || (size_t)n >= sizeof cli->connstr - 1)
        return dr_fail(err, DR_EUSAGE, "the connection string is longer than %d bytes", DR_CONNSTR_MAX - 2);
    if (cli->cfg.password_file) {
        char pw[512];
        dr_status st = dr_config_read_password(cli->cfg.password_file, pw, sizeof pw, err);
        if (st != DR_OK)
            return st;
        size_t len = strlen(cli->connstr);
        if (len && cli->connstr[len - 1] != ';')
            strcat(cli->connstr, ";");
        len = strlen(cli->connstr);
        /* braces let the password hold ';' (ODBC connection string quoting) */
        n = snprintf(cli->connstr + len, sizeof cli->connstr - len, "PWD={%s};", pw);
        memset(pw, 0, sizeof pw);
        if (n < 0 || (size_t)n >= sizeof cli->connstr - len)
            return dr_fail(err, DR_ECONFIG, "the connection string with the password is too long");
    }
    return DR_OK;
}

/* ---- db init ---------------------------------------------------------------- */

static int cmd_db(dr_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {{"with-source-indexes", no_argument, NULL, 'i'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int indexes = 0, c;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("Usage: dynoreport db init [--with-source-indexes]\n\n"
               "Create or upgrade the dynoreport tables (dyno_crm.report_run,\n"
               "dyno_crm.report_rep_performance_fact) from the versioned SQL files.\n"
               "Safe to run again. --with-source-indexes also creates the indexes the\n"
               "report needs on dyno_crm.deal and dyno_crm.deal_pipeline_stage_state.\n");
        return argc < 2 ? dr_status_exit_code(DR_EUSAGE, 0) : 0;
    }
    if (strcmp(argv[1], "init") != 0)
        return usage_error("db ", "unknown db command %s: expected 'init'", argv[1]);
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'i')
            indexes = 1;
        else if (c == 'h') {
            printf("Usage: dynoreport db init [--with-source-indexes]\n");
            return 0;
        } else
            return usage_error("db init ", "invalid option%s", NULL);
    }
    if (optind < argc)
        return usage_error("db init ", "unexpected argument %s", argv[optind]);
    dr_error err = {0};
    dr_db *db = NULL;
    int applied = 0, version = 0;
    dr_status st = resolve_connection(cli, &err);
    if (st == DR_OK)
        st = dr_db_connect(cli->connstr, &db, &err);
    if (st == DR_OK)
        st = dr_schema_init(db, indexes, &applied, &version, &err);
    dr_db_close(db);
    if (st == DR_OK && cli->verbosity > 0)
        fprintf(stderr, "dynoreport: schema at version %d (%d migration%s applied now)%s\n", version,
                applied, applied == 1 ? "" : "s", indexes ? "; source indexes present" : "");
    return report(&err, st);
}

/* ---- shared output options ---------------------------------------------------- */

/* Split a comma list into @p out (pointers into @p buf, which it modifies). */
static int split_list(char *buf, const char **out, size_t max, size_t *n)
{
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (*t == '\0')
            continue;
        if (*n >= max)
            return -1;
        out[(*n)++] = t;
    }
    return 0;
}

/* Copy of option strings that need splitting; freed at exit of the command. */
typedef struct arg_store {
    char **bufs;
    size_t n, cap;
} arg_store;

/* A copy that lives until store_free; NULL when out of memory. */
static char *store_dup(arg_store *s, const char *v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **grown = realloc(s->bufs, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        s->bufs = grown;
        s->cap = cap;
    }
    char *copy = strdup(v);
    if (copy != NULL)
        s->bufs[s->n++] = copy;
    return copy;
}

static void store_free(arg_store *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->bufs[i]);
    free(s->bufs);
    s->bufs = NULL;
    s->n = s->cap = 0;
}

/* Apply one settings block (a [job] or [defaults]) under what is already set. */
static int apply_settings(dr_cli *cli, const dr_settings *s, dr_output_request *out, arg_store *store,
                          const char *cmd)
{
    if (out->nformats == 0 && s->formats) {
        char *b = store_dup(store, s->formats);
        if (b == NULL || split_list(b, out->formats, DR_MAX_FORMATS, &out->nformats) < 0)
            return usage_error(cmd, "too many formats in the configuration%s", NULL);
        if (out->nformats == 0) {
            dr_error err = {0};
            char q[DR_QUOTE_SIZE];
            return report(&err, dr_fail(&err, DR_ECONFIG, "%s: 'formats' has no format in %s: expected a "
                                        "comma list such as csv,xlsx,json", cli->cfg.path ? cli->cfg.path : "",
                                        dr_quote(s->formats, strlen(s->formats), q, sizeof q)));
        }
    }
    if (!out->output_dir && s->output_dir)
        out->output_dir = s->output_dir;
    if (!out->name_template && s->name)
        out->name_template = s->name;
    if (!out->plugin_dir && s->plugin_dir)
        out->plugin_dir = s->plugin_dir;
    /* configuration options first, so command-line options for the same key win */
    const char *cli_opts[DR_MAX_OPTS];
    size_t ncli = out->nopts;
    memcpy(cli_opts, out->opts, ncli * sizeof *cli_opts);
    out->nopts = 0;
    for (size_t i = 0; i < s->nopts && out->nopts < DR_MAX_OPTS; i++)
        out->opts[out->nopts++] = s->opts[i];
    for (size_t i = 0; i < ncli && out->nopts < DR_MAX_OPTS; i++)
        out->opts[out->nopts++] = cli_opts[i];
    out->verbosity = cli->verbosity;
    return 0;
}

/* [defaults] under the command line, then the built-in defaults: csv into ".". */
static int output_defaults(dr_cli *cli, const dr_settings *s, dr_output_request *out, arg_store *store,
                           const char *cmd)
{
    int rc = apply_settings(cli, s, out, store, cmd);
    if (rc != 0)
        return rc;
    if (out->nformats == 0)
        out->formats[out->nformats++] = "csv";
    if (!out->output_dir)
        out->output_dir = ".";
    return 0;
}

enum { OPT_TENANT = 256, OPT_PRINCIPAL, OPT_ALL, OPT_PERIOD, OPT_FROM, OPT_TO, OPT_TZ, OPT_FORMAT,
       OPT_OUTDIR, OPT_NAME, OPT_OPT, OPT_NOPERSIST, OPT_PLUGINDIR, OPT_RUNID, OPT_HELP };

/* Parse one output option; returns 1 when handled, 0 when not, or a exit code + 2. */
static int output_option(int c, const char *arg, dr_output_request *out, arg_store *store, int *rc,
                         const char *cmd)
{
    switch (c) {
    case OPT_FORMAT: {
        char *b = store_dup(store, arg);
        size_t before = out->nformats;
        if (b == NULL || split_list(b, out->formats, DR_MAX_FORMATS, &out->nformats) < 0)
            *rc = usage_error(cmd, "too many formats in --format %s (at most 8)", arg);
        else if (out->nformats == before) /* "" or ",": not the default format silently */
            *rc = usage_error(cmd, "no format in --format %s: expected a comma list such as csv,xlsx,json",
                              arg);
        return 1;
    }
    case OPT_OUTDIR: out->output_dir = arg; return 1;
    case OPT_NAME: out->name_template = arg; return 1;
    case OPT_PLUGINDIR:
        if (*arg == '\0')
            *rc = usage_error(cmd, "empty --plugin-dir%s: expected a directory", NULL);
        out->plugin_dir = arg;
        return 1;
    case OPT_OPT:
        if (out->nopts >= DR_MAX_OPTS)
            *rc = usage_error(cmd, "too many --opt (at most 64)%s", NULL);
        else
            out->opts[out->nopts++] = arg;
        return 1;
    default: return 0;
    }
}

#define OUTPUT_LONGOPTS                                                                           \
    {"format", required_argument, NULL, OPT_FORMAT},                                              \
    {"output-dir", required_argument, NULL, OPT_OUTDIR},                                          \
    {"name", required_argument, NULL, OPT_NAME},                                                  \
    {"opt", required_argument, NULL, OPT_OPT},                                                    \
    {"plugin-dir", required_argument, NULL, OPT_PLUGINDIR},                                       \
    {"help", no_argument, NULL, OPT_HELP}

static const char output_help[] =
    "  --format LIST         output formats, comma-separated (default: csv)\n"
    "  --output-dir DIR      where files go (default: current directory)\n"
    "  --name TEMPLATE       file name; tokens {report} {tenant} {period} {from} {to}\n"
    "                        {run_id} {generated} {ext} (default: {report}_{tenant}_{period}.{ext})\n"
    "  --opt PLUGIN.KEY=VAL  plugin option, e.g. csv.delimiter=; (repeatable)\n"
    "  --plugin-dir DIR      search DIR first for plugins\n";

/* ---- run ---------------------------------------------------------------------- */

static void run_usage(void)
{
    printf("Usage: dynoreport run --tenant UUID (--principal TYPE:UUID ... | --all-principals)\n"
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
           "%s", output_help);
}

static int cmd_run(dr_cli *cli, int argc, char **argv)
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
        OUTPUT_LONGOPTS,
        {NULL, 0, NULL, 0}};
    dr_run_request *req = calloc(1, sizeof *req);
    arg_store store = {0};
    dr_error err = {0};
    const char *tenant = NULL, *from = NULL, *to = NULL;
    int rc = -1, c;
    if (req == NULL)
        return report(&err, dr_fail(&err, DR_ENOMEM, "out of memory"));
    req->persist = 1;
    optind = 1;
    while (rc < 0 && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        dr_status st = DR_OK;
        if (output_option(c, optarg, &req->out, &store, &rc, "run "))
            continue;
        switch (c) {
        case OPT_TENANT: tenant = optarg; break;
        case OPT_ALL: req->all_principals = 1; break;
        case OPT_PERIOD: req->period_text = optarg; break;
        case OPT_FROM: from = optarg; break;
        case OPT_TO: to = optarg; break;
        case OPT_TZ: req->tz = optarg; break;
        case OPT_NOPERSIST: req->persist = 0; break;
        case OPT_HELP: run_usage(); rc = 0; break;
        case OPT_PRINCIPAL: {
            char *b = store_dup(&store, optarg);
            const char *items[DR_MAX_PRINCIPALS];
            size_t n = 0;
            if (b == NULL || split_list(b, items, DR_MAX_PRINCIPALS, &n) < 0) {
                rc = usage_error("run ", "too many principals in --principal %s", optarg);
                break;
            }
            if (n == 0)
                st = dr_fail(&err, DR_EUSAGE, "empty --principal: expected USER:UUID or GROUP:UUID");
            for (size_t i = 0; i < n && st == DR_OK; i++) {
                if (req->nprincipals >= DR_MAX_PRINCIPALS) {
                    st = dr_fail(&err, DR_EUSAGE, "more than %d principals: use --all-principals",
                                 DR_MAX_PRINCIPALS);
                    break;
                }
                st = dr_principal_parse(items[i], &req->principals[req->nprincipals++], &err);
            }
            break;
        }
        case ':': rc = usage_error("run ", "option %s needs a value", argv[optind - 1]); break;
        default: rc = usage_error("run ", "unknown option %s", argv[optind - 1]); break;
        }
        if (st != DR_OK)
            rc = report(&err, st);
    }
    if (rc < 0 && optind < argc)
        rc = usage_error("run ", "unexpected argument %s", argv[optind]);
    if (rc < 0 && tenant == NULL)
        rc = usage_error("run ", "missing --tenant UUID%s", NULL);
    if (rc < 0 && !req->all_principals && req->nprincipals == 0)
        rc = usage_error("run ", "missing --principal TYPE:UUID or --all-principals%s", NULL);
    if (rc < 0 && req->all_principals && req->nprincipals > 0)
        rc = usage_error("run ", "--principal and --all-principals exclude each other%s", NULL);
    if (rc < 0 && req->period_text && (from || to))
        rc = usage_error("run ", "--period and --from/--to exclude each other%s", NULL);
    if (rc < 0 && !req->period_text && !(from && to))
        rc = usage_error("run ", "missing --period SPEC, or both --from TS and --to TS%s", NULL);
    if (rc < 0) {
        dr_status st = dr_uuid_parse(tenant, "--tenant", req->tenant, &err);
        if (st == DR_OK && req->period_text)
            st = dr_period_parse(req->period_text, &req->period, &err);
        if (st == DR_OK && from) {
            req->has_range = 1;
            st = dr_ts_arg_parse(from, "--from", &req->from, &err);
            if (st == DR_OK)
                st = dr_ts_arg_parse(to, "--to", &req->to, &err);
            req->period_text = "range";
        }
        if (st == DR_OK && !req->tz)
            req->tz = cli->cfg.defaults.tz ? cli->cfg.defaults.tz : "UTC";
        if (st == DR_OK)
            st = dr_tz_check(req->tz, &err);
        if (st == DR_OK && (rc = output_defaults(cli, &cli->cfg.defaults, &req->out, &store, "run ")) == 0)
            rc = -1;
        if (rc < 0 && st == DR_OK)
            st = dr_output_check(&req->out, &err);
        if (rc < 0 && st == DR_OK)
            st = resolve_connection(cli, &err);
        if (rc < 0 && st == DR_OK) {
            FILE *results = results_stream();
            st = dr_run_execute(cli->connstr, req, &cli->intr, results, &err);
            results_close(results);
        }
        if (rc < 0)
            rc = report(&err, st);
    }
    store_free(&store);
    free(req);
    return rc;
}

/* ---- job ---------------------------------------------------------------------- */

/* A bad value in a [job] is a configuration error (78) that names file, job and key. */
static dr_status job_value_error(dr_cli *cli, const char *job, const char *key, dr_error *err)
{
    char prefix[512], shown[256];
    dr_printable_copy(job, shown, sizeof shown);
    snprintf(prefix, sizeof prefix, "%s: [job %s] key '%s': ", cli->cfg.path ? cli->cfg.path : "",
             shown, key);
    dr_error_prefix(err, prefix);
    err->status = DR_ECONFIG;
    return DR_ECONFIG;
}

/* Fill the run request of a [job NAME] (everything but the tenant). */
static dr_status job_request(dr_cli *cli, const dr_config_job *job, dr_run_request *req,
                             arg_store *store, dr_error *err)
{
    const dr_settings *s = &job->s;
    const char *missing = !s->tenant ? "tenant" : !s->principals ? "principals" : !s->period ? "period" : NULL;
    if (missing) {
        dr_fail(err, DR_ECONFIG, "needs a value");
        return job_value_error(cli, job->name, missing, err);
    }
    if (strcmp(s->principals, "all") == 0) {
        req->all_principals = 1;
    } else {
        char *b = store_dup(store, s->principals);
        const char *items[DR_MAX_PRINCIPALS];
        size_t n = 0;
        if (b == NULL || split_list(b, items, DR_MAX_PRINCIPALS, &n) < 0 || n == 0) {
            dr_fail(err, DR_ECONFIG, "expected all or a comma list of USER:UUID / GROUP:UUID (at most %d)",
                    DR_MAX_PRINCIPALS);
            return job_value_error(cli, job->name, "principals", err);
        }
        for (size_t i = 0; i < n; i++)
            if (dr_principal_parse(items[i], &req->principals[req->nprincipals++], err) != DR_OK)
                return job_value_error(cli, job->name, "principals", err);
    }
    req->period_text = s->period;
    if (dr_period_parse(s->period, &req->period, err) != DR_OK)
        return job_value_error(cli, job->name, "period", err);
    req->tz = s->tz ? s->tz : cli->cfg.defaults.tz ? cli->cfg.defaults.tz : "UTC";
    if (dr_tz_check(req->tz, err) != DR_OK)
        return job_value_error(cli, job->name, "tz", err);
    req->persist = 1;
    return DR_OK;
}

static int cmd_job(dr_cli *cli, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("Usage: dynoreport job NAME\n\n"
               "Run the [job NAME] of the configuration file, for schedulers (cron, systemd\n"
               "timers). The job's keys override [defaults]. With tenant = all, one run per\n"
               "tenant that has deals; each run prints its run id, then its files' paths.\n");
        return argc == 2 ? 0 : dr_status_exit_code(DR_EUSAGE, 0);
    }
    dr_error err = {0};
    const dr_config_job *job = dr_config_job_find(&cli->cfg, argv[1]);
    if (job == NULL) {
        char q[DR_QUOTE_SIZE], where[512];
        dr_printable_copy(cli->cfg.path ? cli->cfg.path : "", where, sizeof where);
        return report(&err, dr_fail(&err, DR_ECONFIG, "no job %s in %s: expected a [job NAME] section",
                                    dr_quote(argv[1], strlen(argv[1]), q, sizeof q),
                                    cli->cfg.path ? where : "the configuration (no configuration file found)"));
    }
    dr_run_request *req = calloc(1, sizeof *req);
    arg_store store = {0};
    char (*tenants)[DR_UUID_LEN + 1] = NULL;
    size_t ntenants = 0;
    int rc = -1, first_failure = 0;
    if (req == NULL)
        return report(&err, dr_fail(&err, DR_ENOMEM, "out of memory"));
    dr_status st = job_request(cli, job, req, &store, &err);
    if (st == DR_OK && (rc = apply_settings(cli, &job->s, &req->out, &store, "job ")) == 0 &&
        (rc = output_defaults(cli, &cli->cfg.defaults, &req->out, &store, "job ")) == 0)
        rc = -1;
    if (rc < 0 && st == DR_OK)
        st = dr_output_check(&req->out, &err);
    if (rc < 0 && st == DR_OK)
        st = resolve_connection(cli, &err);
    if (rc < 0 && st == DR_OK && strcmp(job->s.tenant, "all") == 0) {
        st = dr_list_tenants(cli->connstr, &tenants, &ntenants, &err);
    } else if (rc < 0 && st == DR_OK) {
        if ((tenants = malloc(sizeof *tenants)) == NULL)
            st = dr_fail(&err, DR_ENOMEM, "out of memory");
        else if (dr_uuid_parse(job->s.tenant, "tenant", tenants[0], &err) != DR_OK)
            st = job_value_error(cli, job->name, "tenant", &err);
        else
            ntenants = 1;
    }
    if (rc < 0 && st != DR_OK)
        rc = report(&err, st);
    /* One run per tenant, each its own transaction; a failed tenant does not stop the
       others, and the first failure's exit code is the job's. */
    FILE *results = rc < 0 ? results_stream() : NULL;
    for (size_t i = 0; rc < 0 && i < ntenants; i++) {
        dr_error run_err = {0};
        memcpy(req->tenant, tenants[i], sizeof req->tenant);
        dr_status run_st = dr_run_execute(cli->connstr, req, &cli->intr, results, &run_err);
        if (run_st != DR_OK) {
            int code = report(&run_err, run_st);
            fprintf(stderr, "dynoreport: job %s: the run for tenant %s failed (exit %d)\n", job->name,
                    tenants[i], code);
            if (first_failure == 0)
                first_failure = code;
        }
        if (cli->intr.signal)
            break;
    }
    if (results)
        results_close(results);
    if (rc < 0)
        rc = first_failure;
    free(tenants);
    store_free(&store);
    free(req);
    return rc;
}

/* ---- export ------------------------------------------------------------------- */

static int cmd_export(dr_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {{"run-id", required_argument, NULL, OPT_RUNID},
                                             OUTPUT_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    dr_output_request out = {0};
    arg_store store = {0};
    dr_error err = {0};
    const char *run_id = NULL;
    char id[DR_UUID_LEN + 1];
    int rc = -1, c;
    optind = 1;
    while (rc < 0 && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (output_option(c, optarg, &out, &store, &rc, "export "))
            continue;
        if (c == OPT_RUNID)
            run_id = optarg;
        else if (c == OPT_HELP) {
            printf("Usage: dynoreport export --run-id UUID [options]\n\n"
                   "Write the files of a saved run again, without recomputing it.\n\n%s", output_help);
            rc = 0;
        } else if (c == ':')
            rc = usage_error("export ", "option %s needs a value", argv[optind - 1]);
        else
            rc = usage_error("export ", "unknown option %s", argv[optind - 1]);
    }
    if (rc < 0 && optind < argc)
        rc = usage_error("export ", "unexpected argument %s", argv[optind]);
    if (rc < 0 && run_id == NULL)
        rc = usage_error("export ", "missing --run-id UUID%s", NULL);
    if (rc < 0) {
        dr_status st = dr_uuid_parse(run_id, "--run-id", id, &err);
        if (st == DR_OK && (rc = output_defaults(cli, &cli->cfg.defaults, &out, &store, "export ")) == 0)
            rc = -1;
        if (rc < 0 && st == DR_OK)
            st = dr_output_check(&out, &err);
        if (rc < 0 && st == DR_OK)
            st = resolve_connection(cli, &err);
        if (rc < 0 && st == DR_OK) {
            FILE *results = results_stream();
            st = dr_run_export(cli->connstr, id, &out, &cli->intr, results, &err);
            results_close(results);
        }
        if (rc < 0)
            rc = report(&err, st);
    }
    store_free(&store);
    return rc;
}

/* ---- plugins ------------------------------------------------------------------ */

static void print_plugin(void *ctx, const dr_loaded_plugin *p, const dr_error *load_err)
{
    int *count = ctx;
    if (load_err) {
        printf("%-8s %-8s %-5s %s\n         error: %s\n", "?", "-", "-", p->path, load_err->msg);
        return;
    }
    printf("%-8s %-8s %u     %s\n         %s\n", p->desc->name, p->desc->version ? p->desc->version : "-",
           (unsigned)p->desc->abi_major, p->path, p->desc->description ? p->desc->description : "");
    (*count)++;
}

static int cmd_plugins(dr_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {{"plugin-dir", required_argument, NULL, OPT_PLUGINDIR},
                                             {"help", no_argument, NULL, OPT_HELP},
                                             {NULL, 0, NULL, 0}};
    const char *dir = cli->cfg.defaults.plugin_dir;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c == OPT_PLUGINDIR && *optarg == '\0')
            return usage_error("plugins ", "empty --plugin-dir%s: expected a directory", NULL);
        else if (c == OPT_PLUGINDIR)
            dir = optarg;
        else if (c == OPT_HELP) {
            printf("Usage: dynoreport plugins [--plugin-dir DIR]\n\n"
                   "List the output plugins found: name, version, ABI, file, description.\n");
            return 0;
        } else
            return usage_error("plugins ", "invalid option %s", argv[optind - 1]);
    }
    dr_plugin_path pp;
    int count = 0;
    dr_plugin_path_init(&pp, dir);
    printf("%-8s %-8s %-5s %s\n", "NAME", "VERSION", "ABI", "FILE");
    dr_plugin_foreach(&pp, print_plugin, &count);
    if (cli->verbosity > 0) {
        fprintf(stderr, "dynoreport: searched");
        for (size_t i = 0; i < pp.ndirs; i++)
            fprintf(stderr, " %s", pp.dirs[i]);
        fprintf(stderr, "\n");
    }
    dr_plugin_path_free(&pp);
    return 0;
}

/* ---- main --------------------------------------------------------------------- */

static const dr_command commands[] = {
    {"db", cmd_db, "db init [--with-source-indexes]   create or upgrade the tables"},
    {"run", cmd_run, "run --tenant ... --period ...     compute, save and write a report"},
    {"export", cmd_export, "export --run-id UUID              write a saved run's files again"},
    {"job", cmd_job, "job NAME                         run a [job NAME] of the configuration file"},
    {"plugins", cmd_plugins, "plugins                          list the output formats found"},
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
               "  -v, --verbose   more messages on stderr\n"
               "  -q, --quiet     errors only\n"
               "  --help, --version\n\n"
               "Exit codes: 0 ok, 64 usage, 65 bad data, 69 database unavailable, 70 internal,\n"
               "73 cannot create output, 74 I/O error, 75 try again later, 78 configuration,\n"
               "130/143 interrupted.\n",
            DR_CONFIG_DEFAULT_PATH);
}

/* A thread owns SIGINT/SIGTERM: it records the signal and cancels the running statement,
   so the main thread unwinds through its normal cleanup (rollback, temp files removed). */
static void *signal_watch(void *arg)
{
    dr_interrupt *intr = arg;
    sigset_t set;
    int sig = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigwait(&set, &sig) == 0)
        dr_interrupt_raise(intr, sig);
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"connect", required_argument, NULL, 'c'},
                                             {"dsn", required_argument, NULL, 'd'},
                                             {"config", required_argument, NULL, 'C'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    dr_cli cli = {.verbosity = 1};
    int c;
    dr_interrupt_init(&cli.intr);
    while ((c = getopt_long(argc, argv, "+:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': cli.connect = optarg; break;
        case 'd': cli.dsn = optarg; break;
        case 'C':
            /* config.c reads "" as "not given" (right for an empty $DYNOREPORT_CONFIG); an
               explicit empty --config must not fall back to the default file silently */
            if (*optarg == '\0')
                return usage_error("", "empty --config%s: expected a file", NULL);
            cli.config_path = optarg;
            break;
        case 'v': cli.verbosity = 2; break;
        case 'q': cli.verbosity = 0; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("dynoreport %s (plugin ABI %d)\n", DR_VERSION, DR_PLUGIN_ABI_MAJOR); return 0;
        case ':': return usage_error("", "option %s needs a value", argv[optind - 1]);
        default: return usage_error("", "unknown option %s", argv[optind - 1]);
        }
    }
    if (cli.connect && cli.dsn)
        return usage_error("", "--connect and --dsn exclude each other%s", NULL);
    if (optind >= argc) {
        usage(stderr);
        return dr_status_exit_code(DR_EUSAGE, 0);
    }
    const dr_command *cmd = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[optind], commands[i].name) == 0)
            cmd = &commands[i];
    if (cmd == NULL)
        return usage_error("", "unknown command %s: expected db, run, export, job or plugins", argv[optind]);

    dr_error err = {0};
    dr_status st = dr_config_load(cli.config_path, &cli.cfg, &err);
    if (st != DR_OK)
        return report(&err, st);

    sigset_t set;
    pthread_t watcher;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int watching = pthread_create(&watcher, NULL, signal_watch, &cli.intr) == 0;

    int rc = cmd->fn(&cli, argc - optind, argv + optind);

    if (watching) {
        pthread_cancel(watcher);
        pthread_join(watcher, NULL);
    }
    if (cli.intr.signal && rc != 0)
        rc = 128 + cli.intr.signal;
    dr_config_free(&cli.cfg);
    return rc;
}
