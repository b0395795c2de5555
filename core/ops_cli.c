/* The options of the operations commands, `runs list|show|prune` and `config check`,
   checked into their requests before anything connects (docs/cli.md). */
#include "ops_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "runs.h"

enum { OPT_SINCE = 512, OPT_LIMIT, OPT_NOHEADER, OPT_OLDER, OPT_KEEP, OPT_DRYRUN };

static const char runs_help[] =
    "Usage: dynoreport runs list [--tenant UUID] [--since DATE] [--limit N] [--no-header]\n"
    "       dynoreport runs show RUN_ID\n"
    "       dynoreport runs prune --older-than AGE [--keep-last N] [--tenant UUID] [--dry-run]\n\n"
    "The saved runs (never the comparison runs, which belong to their run).\n\n"
    "  list                  the newest runs, one tab-separated line each after a header:\n"
    "                        run_id tenant period start end time_zone generated_at\n"
    "                        principals rows formats\n"
    "    --tenant UUID       only this tenant's runs\n"
    "    --since DATE        only runs generated at or after DATE (YYYY-MM-DD[THH:MM[:SS]]\n"
    "                        [+HH:MM]; UTC without an offset)\n"
    "    --limit N           at most N runs, 1 to 100000 (default 50)\n"
    "    --no-header         no header line\n"
    "  show RUN_ID           everything stored about a run\n"
    "  prune                 delete old runs with everything saved with them, in one\n"
    "                        transaction; prints each run removed (id, tenant, period,\n"
    "                        generated_at, rows), the totals on stderr\n"
    "    --older-than AGE    runs generated before now - AGE: N days|weeks|months|years\n"
    "                        (90days, 2weeks, 13months, 1year; d, w, y), or before a date\n"
    "    --keep-last N       keep the newest N runs of each tenant and report type\n"
    "    --tenant UUID       only this tenant's runs\n"
    "    --dry-run           print what would go, delete nothing\n";

/* A whole number from @p lo to @p hi, or a usage error naming the option. */
static dr_status parse_count(const char *text, const char *what, long lo, long hi, long *out, dr_error *err)
{
    char *end = NULL, fmt[160];
    long v = 0;
    int ok = text[0] >= '0' && text[0] <= '9' && strlen(text) <= 7;
    if (ok)
        v = strtol(text, &end, 10);
    if (!ok || *end != '\0' || v < lo || v > hi) {
        snprintf(fmt, sizeof fmt, "invalid %s %%s: expected a whole number from %ld to %ld", what, lo, hi);
        return dr_fail_usage(err, fmt, text);
    }
    *out = v;
    return DR_OK;
}

static dr_status runs_list(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    static const struct option longopts[] = {{"tenant", required_argument, NULL, OPT_TENANT},
                                             {"since", required_argument, NULL, OPT_SINCE},
                                             {"limit", required_argument, NULL, OPT_LIMIT},
                                             {"no-header", no_argument, NULL, OPT_NOHEADER},
                                             {"help", no_argument, NULL, OPT_HELP},
                                             {NULL, 0, NULL, 0}};
    dr_runs_list_request req = {.limit = DR_RUNS_LIST_DEFAULT, .header = 1};
    int c;
    dr_status st = DR_OK;
    optind = 1;
    while (st == DR_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_TENANT: st = dr_uuid_parse(optarg, "--tenant", req.tenant, err); break;
        case OPT_SINCE:
            req.has_since = 1;
            st = dr_ts_arg_parse(optarg, "--since", &req.since, err);
            break;
        case OPT_LIMIT: st = parse_count(optarg, "--limit", 1, DR_RUNS_LIST_MAX, &req.limit, err); break;
        case OPT_NOHEADER: req.header = 0; break;
        case OPT_HELP: fputs(runs_help, stdout); return DR_OK;
        default: st = dr_cli_option_error(c, argv, err); break;
        }
    }
    if (st == DR_OK)
        st = dr_cli_no_operands(argc, argv, err);
    if (st == DR_OK)
        st = dr_cli_connection(cli, err);
    if (st != DR_OK)
        return st;
    dr_runner r = dr_cli_runner(cli, NULL);
    return dr_runs_list(&r, &req, err);
}

static dr_status runs_show(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, OPT_HELP}, {NULL, 0, NULL, 0}};
    char id[DR_UUID_LEN + 1];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (c != OPT_HELP)
            return dr_cli_option_error(c, argv, err);
        fputs(runs_help, stdout);
        return DR_OK;
    }
    if (optind >= argc)
        return dr_fail_usage(err, "missing RUN_ID: expected 'dynoreport runs show RUN_ID'%s", NULL);
    if (optind + 1 < argc)
        return dr_fail_usage(err, "unexpected argument %s", argv[optind + 1]);
    dr_status st = dr_uuid_parse(argv[optind], "RUN_ID", id, err);
    if (st == DR_OK)
        st = dr_cli_connection(cli, err);
    if (st != DR_OK)
        return st;
    dr_runner r = dr_cli_runner(cli, NULL);
    return dr_runs_show(&r, id, err);
}

static dr_status runs_prune(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    static const struct option longopts[] = {{"older-than", required_argument, NULL, OPT_OLDER},
                                             {"keep-last", required_argument, NULL, OPT_KEEP},
                                             {"tenant", required_argument, NULL, OPT_TENANT},
                                             {"dry-run", no_argument, NULL, OPT_DRYRUN},
                                             {"help", no_argument, NULL, OPT_HELP},
                                             {NULL, 0, NULL, 0}};
    dr_runs_prune_request req = {0};
    int c, has_age = 0;
    dr_status st = DR_OK;
    optind = 1;
    while (st == DR_OK && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_OLDER:
            has_age = 1;
            st = dr_runs_age_parse(optarg, &req, err);
            break;
        case OPT_KEEP: st = parse_count(optarg, "--keep-last", 0, DR_RUNS_AGE_MAX, &req.keep_last, err); break;
        case OPT_TENANT: st = dr_uuid_parse(optarg, "--tenant", req.tenant, err); break;
        case OPT_DRYRUN: req.dry_run = 1; break;
        case OPT_HELP: fputs(runs_help, stdout); return DR_OK;
        default: st = dr_cli_option_error(c, argv, err); break;
        }
    }
    if (st == DR_OK)
        st = dr_cli_no_operands(argc, argv, err);
    if (st == DR_OK && !has_age)
        st = dr_fail_usage(err, "missing --older-than AGE: expected an age such as 13months or 90days, or a "
                           "date%s", NULL);
    if (st == DR_OK)
        st = dr_cli_connection(cli, err);
    if (st != DR_OK)
        return st;
    dr_runner r = dr_cli_runner(cli, NULL);
    return dr_runs_prune(&r, &req, err);
}

dr_status dr_cmd_runs(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(runs_help, stdout);
        return DR_OK;
    }
    if (argc < 2) {
        fputs(runs_help, stderr);
        return dr_fail_usage(err, "missing runs command: expected list, show or prune%s", NULL);
    }
    if (strcmp(argv[1], "list") == 0)
        return runs_list(cli, argc - 1, argv + 1, err);
    if (strcmp(argv[1], "show") == 0)
        return runs_show(cli, argc - 1, argv + 1, err);
    if (strcmp(argv[1], "prune") == 0)
        return runs_prune(cli, argc - 1, argv + 1, err);
    return dr_fail_usage(err, "unknown runs command %s: expected list, show or prune", argv[1]);
}

static const char config_help[] =
    "Usage: dynoreport config check\n\n"
    "Check the configuration file (--config, DYNOREPORT_CONFIG or the default file) and\n"
    "everything it names: every key, the connection and the database's schema, the\n"
    "[names] queries, [defaults] and every [job NAME] with its tenants, period, zone,\n"
    "formats (plugins loaded, options checked), output directory and file name. Reports\n"
    "each problem with file:line; writes nothing. Exit 0 (one OK line on stdout), 78 with\n"
    "problems, 69 when only the database could not be reached.\n";

dr_status dr_cmd_config(dr_cli *cli, int argc, char **argv, dr_error *err)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(config_help, stdout);
        return DR_OK;
    }
    if (argc < 2) {
        fputs(config_help, stderr);
        return dr_fail_usage(err, "missing config command: expected 'check'%s", NULL);
    }
    if (strcmp(argv[1], "check") != 0)
        return dr_fail_usage(err, "unknown config command %s: expected 'check'", argv[1]);
    if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        fputs(config_help, stdout);
        return DR_OK;
    }
    if (argc > 2)
        return dr_fail_usage(err, "unexpected argument %s", argv[2]);
    return dr_config_check(cli, err);
}
