/**
 * @file plugin_host.h
 * @brief Finding, loading, checking and unloading output plugins.
 *
 * A plugin for format NAME is the file NAME.so in the first directory of the
 * search path that has one: --plugin-dir (or the config's plugin_dir), then each
 * directory of $DYNOREPORT_PLUGIN_PATH (':'-separated), then the installed
 * directory. Loaded with dlopen(RTLD_NOW | RTLD_LOCAL); everything is undone
 * when a check fails (Redis' moduleLoad does the same).
 */
#ifndef DR_PLUGIN_HOST_H
#define DR_PLUGIN_HOST_H

#include <dynoreport/plugin.h>

#include "status.h"

#define DR_PLUGIN_MAX_DIRS 16

/** The directories to search, in order. */
typedef struct dr_plugin_path {
    const char *dirs[DR_PLUGIN_MAX_DIRS];
    size_t ndirs;
    char *owned; /* storage of the split environment variable */
} dr_plugin_path;

/** A loaded plugin. */
typedef struct dr_loaded_plugin {
    void *dl;                /**< dlopen handle */
    const dr_plugin *desc;   /**< checked descriptor */
    char path[4096];         /**< file it came from */
} dr_loaded_plugin;

/** Build the search path from --plugin-dir (may be NULL), the environment and the installed dir. */
void dr_plugin_path_init(dr_plugin_path *pp, const char *plugin_dir);

/** Free what dr_plugin_path_init allocated. */
void dr_plugin_path_free(dr_plugin_path *pp);

/** The installed plugin directory. */
const char *dr_plugin_install_dir(void);

/**
 * Load the file at @p path and check its descriptor (ABI major, size, name,
 * callbacks). @p expect_name, if not NULL, must equal the descriptor's name.
 * @return DR_OK, or DR_ECONFIG with a message naming the file and the problem.
 */
dr_status dr_plugin_load(const char *path, const char *expect_name, dr_loaded_plugin *out,
                         dr_error *err);

/**
 * Find and load the plugin of format @p name.
 * @return DR_OK, DR_EUSAGE when no directory has it (the message lists where it looked),
 *         or the status of dr_plugin_load.
 */
dr_status dr_plugin_find(const dr_plugin_path *pp, const char *name, dr_loaded_plugin *out,
                         dr_error *err);

/** dlclose. NULL-safe, idempotent. */
void dr_plugin_unload(dr_loaded_plugin *p);

/**
 * Call @p fn for each loadable plugin in the search path (first of a name wins);
 * files that fail to load are reported with their error instead.
 */
void dr_plugin_foreach(const dr_plugin_path *pp,
                       void (*fn)(void *ctx, const dr_loaded_plugin *p, const dr_error *load_err),
                       void *ctx);

#endif
