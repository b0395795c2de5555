/**
 * @file config.h
 * @brief The INI configuration file (SPEC §9), parsed with inih.
 *
 * Looked up as --config FILE, else $DYNOREPORT_CONFIG, else
 * /etc/dynoreport/dynoreport.conf (only that last one may be absent).
 * Unknown sections or keys and bad values are errors (DR_ECONFIG, exit 78)
 * naming the file, the line and the key.
 */
#ifndef DR_CONFIG_H
#define DR_CONFIG_H

#include <stddef.h>

#include "status.h"

#define DR_CONFIG_DEFAULT_PATH "/etc/dynoreport/dynoreport.conf"
#define DR_CONFIG_MAX_OPTS 32

/** Settings of [defaults] or of one [job NAME] (NULL = not set). */
typedef struct dr_settings {
    char *tz;
    char *formats;
    char *output_dir;
    char *name;
    char *plugin_dir;
    char *opts[DR_CONFIG_MAX_OPTS]; /**< "plugin.key=value" */
    size_t nopts;
    /* job only */
    char *tenant;
    char *principals;
    char *period;
} dr_settings;

typedef struct dr_config_job {
    char *name;
    dr_settings s;
} dr_config_job;

typedef struct dr_config {
    char *path;          /**< file read, or NULL when none */
    char *connect;
    char *dsn;
    char *password_file;
    dr_settings defaults;
    dr_config_job *jobs;
    size_t njobs;
} dr_config;

/**
 * Load the configuration. @p explicit_path is --config (may be NULL).
 * A missing explicit or $DYNOREPORT_CONFIG file is an error; a missing default file is not.
 */
dr_status dr_config_load(const char *explicit_path, dr_config *cfg, dr_error *err);

/** Free everything in @p cfg. NULL-safe, idempotent. */
void dr_config_free(dr_config *cfg);

/** The job called @p name, or NULL. */
const dr_config_job *dr_config_job_find(const dr_config *cfg, const char *name);

/**
 * Read the password file: first line, without the newline. Never logged.
 * @return DR_OK or DR_ECONFIG naming the file (not its content).
 */
dr_status dr_config_read_password(const char *path, char *out, size_t out_size, dr_error *err);

#endif
