/**
 * @file config_check.h
 * @brief `config check`: read the configuration file as every command would and report
 *        each problem found (not only the first), with file and line where it has them:
 *        the file's syntax, sections, keys and values; the connection (password file and
 *        its rules); the database (reachable, schema at the version this dynoreport needs,
 *        every zone known); the [names] queries (trust check, one statement, they run and
 *        give their columns); [defaults] and every [job NAME] resolved as `run` and `job`
 *        resolve them (tenant, principals, period, zone, formats with their plugins loaded
 *        and options checked, output directory, file name template). Nothing is written:
 *        no run, no file, no staging directory (stale ones are left alone), only reads
 *        in a transaction that is rolled back.
 */
#ifndef DR_CONFIG_CHECK_H
#define DR_CONFIG_CHECK_H

#include "cli.h"

/**
 * Check the configuration of @p cli (cli->config_path, the usual lookup: --config,
 * $DYNOREPORT_CONFIG, the default file) and what it names. Each problem is sent as one
 * error message through cli->log; when there is none, one result line says so (stdout).
 * Loads cli->cfg itself (the command table lets this command load its own file).
 * @return DR_OK when nothing was found; DR_ECONFIG when a problem of the configuration was
 *         (the message counts them); else the status of the failed connection (DR_EUNAVAILABLE,
 *         exit 69) when the database could not be reached and nothing else was wrong.
 */
dr_status dr_config_check(dr_cli *cli, dr_error *err);

#endif
