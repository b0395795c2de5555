/* The CLI layer's shared parts: command context, the one error-to-exit-code place, the
   protected stdout, and the printing side of dr_log (stderr messages, stdout results). */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "odbc.h"

static void print_message(void *ctx, dr_log_level level, const char *text)
{
    (void)ctx;
    (void)level;
    fprintf(stderr, "dynoreport: %s\n", text);
}

static void print_result(void *ctx, const char *line)
{
    dr_cli *cli = ctx;
    FILE *f = cli->results ? cli->results : stdout;
    fprintf(f, "%s\n", line);
    fflush(f);
}

void dr_cli_init(dr_cli *cli)
{
    *cli = (dr_cli){.log = {.verbosity = 1, .message = print_message, .result = print_result}};
    cli->log.ctx = cli;
    dr_interrupt_init(&cli->intr);
}

void dr_cli_free(dr_cli *cli)
{
    dr_interrupt_stop(&cli->intr);
    if (cli->results && cli->results != stdout)
        fclose(cli->results);
    cli->results = NULL;
    dr_config_free(&cli->cfg);
    /* a job connects again from cli->connstr (each worker, after a failed tenant), so it lives until the command ends */
    dr_wipe(cli->connstr, sizeof cli->connstr);
    if (cli->connect_copy)
        dr_wipe(cli->connect_copy, strlen(cli->connect_copy));
    free(cli->connect_copy);
    cli->connect_copy = NULL;
}

void dr_cli_no_core_dumps(void)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void dr_cli_guard_connect(dr_cli *cli, char *arg)
{
    if (arg == NULL || !dr_connstr_has_secret(arg))
        return;
    cli->warn_connect_password = 1;
    char *copy = strdup(arg);
    if (copy == NULL)
        return; /* argv stays as it is; the tool still works */
    cli->connect_copy = copy;
    cli->connect = copy;
    dr_connstr_attr a;
    for (const char *p = arg; dr_connstr_next(&p, &a);)
        if (dr_connstr_attr_is_secret(&a))
            memset(arg + (a.value - arg), '*', a.valuelen);
}

/* The one warning of a password in --connect. */
static void warn_connect_password(const dr_cli *cli)
{
    if (cli->warn_connect_password)
        dr_log_msg(&cli->log, DR_LOG_WARN,
                   "warning: the password in --connect can be read by every user of this machine (ps, "
                   "/proc/PID/cmdline): put it in a password_file of the configuration's [connection], "
                   "in $DYNOREPORT_CONNECT, or in a DSN of odbc.ini");
}

int dr_cli_finish(const dr_cli *cli, const char *cmd, dr_status st, const dr_error *err)
{
    int sig = err ? err->signal : 0;
    if (st == DR_OK) {
        warn_connect_password(cli);
        return 0;
    }
    fprintf(stderr, "dynoreport: error: %s\n", err && err->msg[0] ? err->msg : dr_strerror(st));
    if (err && err->usage_hint)
        fprintf(stderr, "Try 'dynoreport %s%s--help' for more information.\n", cmd, *cmd ? " " : "");
    warn_connect_password(cli);
    if (sig == 0)
        sig = dr_interrupt_signal(&cli->intr);
    return sig ? 128 + sig : dr_status_exit_code(st, 0);
}

void dr_cli_protect_stdout(dr_cli *cli)
{
    if (cli->results)
        return;
    fflush(stdout);
    int fd = dup(STDOUT_FILENO);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        cli->results = stdout;
        return;
    }
    dup2(STDERR_FILENO, STDOUT_FILENO);
    cli->results = f;
}

dr_runner dr_cli_runner(dr_cli *cli, dr_output_plan *plan)
{
    dr_cli_protect_stdout(cli);
    return (dr_runner){.connstr = cli->connstr, .timeouts = &cli->cfg.timeouts, .plan = plan,
                       .intr = &cli->intr, .log = &cli->log, .lock_timeout_ms = DR_DEFAULT_RUN_LOCK_TIMEOUT_MS};
}

dr_status dr_cli_connection(dr_cli *cli, dr_error *err)
{
    return dr_config_connection(&cli->cfg, cli->connect, cli->dsn, getenv("DYNOREPORT_CONNECT"),
                                getenv("DYNOREPORT_DSN"), cli->connstr, sizeof cli->connstr, err);
}

long dr_cli_lock_timeout(const dr_cli *cli, const dr_settings *job, long cli_ms)
{
    long ms = DR_DEFAULT_RUN_LOCK_TIMEOUT_MS;
    if (cli_ms >= 0)
        return cli_ms;
    if (job && job->run_lock_timeout && dr_duration_ms(job->run_lock_timeout, &ms))
        return ms;
    if (cli->cfg.defaults.run_lock_timeout && dr_duration_ms(cli->cfg.defaults.run_lock_timeout, &ms))
        return ms;
    return DR_DEFAULT_RUN_LOCK_TIMEOUT_MS;
}

dr_status dr_cli_lock_timeout_option(const char *arg, long *ms, dr_error *err)
{
    if (!dr_duration_ms(arg, ms))
        return dr_fail_usage(err, "invalid --lock-timeout %s: expected a duration with its unit such as 5s, 500ms "
                             "or 2min (at most 24 days), or 0 for no wait", arg);
    return DR_OK;
}

/* getopt's answer for an option it does not take, worded one way for every command. */
dr_status dr_cli_option_error(int c, char **argv, dr_error *err)
{
    if (c == ':')
        return dr_fail_usage(err, "option %s needs a value", argv[optind - 1]);
    return dr_fail_usage(err, "unknown option %s", argv[optind - 1]);
}

/* Arguments after the options: none are taken. */
dr_status dr_cli_no_operands(int argc, char **argv, dr_error *err)
{
    return optind < argc ? dr_fail_usage(err, "unexpected argument %s", argv[optind]) : DR_OK;
}

const char dr_cli_output_help[] =
    "  --format LIST         output formats, comma-separated (default: csv)\n"
    "  --output-dir DIR      where files go (default: current directory)\n"
    "  --name TEMPLATE       file name; tokens {report} {tenant} {period} {from} {to}\n"
    "                        {run_id} {generated} {ext} (default: {report}_{tenant}_{period}.{ext})\n"
    "  --opt PLUGIN.KEY=VAL  plugin option, e.g. csv.delimiter=; (repeatable)\n"
    "  --plugin-dir DIR      search DIR first for plugins\n";

/* One output option into @p out; *@p handled says whether @p c was one. */
dr_status dr_cli_output_option(int c, const char *arg, dr_output_request *out, dr_strstore *store,
                               int *handled, dr_error *err)
{
    *handled = 1;
    switch (c) {
    case OPT_FORMAT: {
        char *b = dr_strstore_dup(store, arg);
        size_t before = out->nformats;
        if (b == NULL)
            return dr_fail(err, DR_ENOMEM, "out of memory");
        if (dr_split_list(b, out->formats, DR_MAX_FORMATS, &out->nformats) < 0) {
            char fmt[96];
            snprintf(fmt, sizeof fmt, "too many formats in --format %%s (at most %d)", DR_MAX_FORMATS);
            return dr_fail_usage(err, fmt, arg);
        }
        if (out->nformats == before) /* "" or ",": not the default format silently */
            return dr_fail_usage(err, "no format in --format %s: expected a comma list such as csv,xlsx,json",
                                 arg);
        return DR_OK;
    }
    case OPT_OUTDIR: out->output_dir = arg; return DR_OK;
    case OPT_NAME: out->name_template = arg; return DR_OK;
    case OPT_PLUGINDIR:
        if (*arg == '\0')
            return dr_fail_usage(err, "empty --plugin-dir%s: expected a directory", NULL);
        out->plugin_dir = arg;
        return DR_OK;
    case OPT_OPT:
        if (out->nopts >= DR_MAX_OPTS) {
            char fmt[64];
            snprintf(fmt, sizeof fmt, "too many --opt (at most %d)%%s", DR_MAX_OPTS);
            return dr_fail_usage(err, fmt, NULL);
        }
        out->opts[out->nopts++] = arg;
        return DR_OK;
    default: *handled = 0; return DR_OK;
    }
}

/* The output plan of a command: precedence applied, plugins loaded and checked. */
dr_status dr_cli_plan(dr_cli *cli, const dr_settings *job, dr_output_request *out, dr_strstore *store,
                            dr_output_plan **plan, dr_error *err)
{
    dr_status st = dr_config_output(&cli->cfg, job, out, store, err);
    if (st == DR_OK)
        st = dr_output_plan_build(out, &cli->log, plan, err);
    return st;
}

dr_status dr_cli_deliveries(dr_cli *cli, const dr_settings *job, const char *const *names, size_t nnames,
                            const char *plugin_dir, dr_strstore *store, dr_delivery_plan **plan, dr_error *err)
{
    const char *list[DR_MAX_DELIVERIES + 1];
    size_t n = 0;
    int from_cli = nnames > 0;
    const char *conf = job && job->deliver ? job->deliver : cli->cfg.defaults.deliver;
    *plan = NULL;
    for (size_t i = 0; i < nnames || (!from_cli && conf && i == 0); i++) {
        char *b = dr_strstore_dup(store, from_cli ? names[i] : conf);
        if (b == NULL)
            return dr_fail(err, DR_ENOMEM, "out of memory");
        if (dr_split_list(b, list, DR_MAX_DELIVERIES + 1, &n) < 0 || n > DR_MAX_DELIVERIES)
            return dr_fail(err, from_cli ? DR_EUSAGE : DR_ECONFIG, "more than %d destinations to deliver to",
                           DR_MAX_DELIVERIES);
        if (from_cli && n == 0)
            return dr_fail_usage(err, "empty --deliver or --to%s: expected NAME[,NAME...]", NULL);
    }
    return dr_delivery_plan_build(&cli->cfg, list, n, from_cli, plugin_dir, &cli->log, &cli->intr, plan, err);
}

dr_status dr_cli_add_principals(dr_run_request *req, const char *arg, dr_strstore *store, dr_error *err)
{
    char *b = dr_strstore_dup(store, arg);
    const char *items[DR_MAX_PRINCIPALS];
    size_t n = 0;
    if (b == NULL)
        return dr_fail(err, DR_ENOMEM, "out of memory");
    if (dr_split_list(b, items, DR_MAX_PRINCIPALS, &n) < 0 || req->nprincipals + n > DR_MAX_PRINCIPALS)
        return dr_fail(err, DR_EUSAGE, "more than %d principals: use --all-principals", DR_MAX_PRINCIPALS);
    if (n == 0)
        return dr_fail(err, DR_EUSAGE, "empty --principal: expected USER:UUID or GROUP:UUID");
    for (size_t i = 0; i < n; i++) {
        dr_status st = dr_principal_parse(items[i], &req->principals[req->nprincipals++], err);
        if (st != DR_OK)
            return st;
    }
    return DR_OK;
}

