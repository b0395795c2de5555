/**
 * @file ops_cli.h
 * @brief The operations commands of the command table (core/main.c): `runs list|show|prune`
 *        (core/runs.c) and `config check` (core/config_check.c): their options, checked
 *        into requests.
 */
#ifndef DR_OPS_CLI_H
#define DR_OPS_CLI_H

#include "cli.h"

/** `dynoreport runs SUBCOMMAND ...` (argv[0] is "runs"). */
dr_status dr_cmd_runs(dr_cli *cli, int argc, char **argv, dr_error *err);

/** `dynoreport config check` (argv[0] is "config"). Loads the configuration itself. */
dr_status dr_cmd_config(dr_cli *cli, int argc, char **argv, dr_error *err);

#endif
