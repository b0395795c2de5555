/**
 * @file plugin_host.h
 * @brief Finding, loading, checking and unloading output plugins.
 *
 * A plugin for format NAME is the file NAME.so in the first directory of the
 * search path that has one: --plugin-dir (or the config's plugin_dir), then each
 * directory of $DYNOREPORT_PLUGIN_PATH (':'-separated), then the installed
 * directory. Loaded with dlopen(RTLD_NOW | RTLD_LOCAL); everything is undone
 * when a check fails (Redis' moduleLoad does the same).
 *
 * Trust comes before dlopen, which runs a library's constructors before any descriptor
 * can be checked (OpenSSH's StrictModes, Debian's variant, for code instead of keys):
 * - every directory of the search path must be absolute (a relative one would be looked
 *   up in whatever directory dynoreport happens to run in);
 * - a directory that is searched, and the directory that holds the file a plugin is
 *   loaded from (the link's target when NAME.so is a symbolic link), must be owned by
 *   root or by the user running dynoreport and writable by no one else: not by others,
 *   not by a group that has any member but the owner (so a umask of 002 with
 *   user-private groups still passes);
 * - every directory above those, up to "/", is owned by root or that user and writable
 *   by no one else, or sticky (as /tmp: others cannot rename what they do not own);
 * - the plugin file is a regular file under the same rule as its directory.
 * The chain is opened one component at a time from "/" with O_NOFOLLOW, the file with
 * O_NOFOLLOW, and the library is loaded from that descriptor (/proc/self/fd/N), so the
 * file checked is the file loaded. Refused: DR_ECONFIG, naming the path, the mode and
 * the owner. A missing directory is skipped; a path longer than PATH_MAX is refused.
 */
#ifndef DR_PLUGIN_HOST_H
#define DR_PLUGIN_HOST_H

#include <dynoreport/delivery.h>
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
    int fd;                  /**< the checked file, open while dl is (its /proc/self/fd name) */
    int delivery_only;       /**< set by a failed dr_plugin_load: the file is a delivery plugin */
} dr_loaded_plugin;

/** A loaded delivery plugin (delivery.h): the same trust rules as a format's. */
typedef struct dr_loaded_delivery {
    void *dl;
    const dr_delivery *desc;
    char path[4096];
    int fd;
} dr_loaded_delivery;

/** Build the search path from --plugin-dir (may be NULL), the environment and the installed dir. */
void dr_plugin_path_init(dr_plugin_path *pp, const char *plugin_dir);

/** Free what dr_plugin_path_init allocated. */
void dr_plugin_path_free(dr_plugin_path *pp);

/** The installed plugin directory. */
const char *dr_plugin_install_dir(void);

/**
 * Check that the file at @p path (absolute) and the directories it lives in can be
 * trusted (see above), load it and check its descriptor (ABI major, size, name,
 * callbacks). @p expect_name, if not NULL, must equal the descriptor's name.
 * @return DR_OK, or DR_ECONFIG with a message naming the file and the problem.
 */
dr_status dr_plugin_load(const char *path, const char *expect_name, dr_loaded_plugin *out,
                         dr_error *err);

/**
 * Find and load the plugin of format @p name.
 * @return DR_OK, DR_EUSAGE when no directory has it (the message lists where it looked),
 *         DR_ECONFIG for a relative, untrusted or too long directory of the search path
 *         (the directories searched before the one that has it are checked too), or the
 *         status of dr_plugin_load.
 */
dr_status dr_plugin_find(const dr_plugin_path *pp, const char *name, dr_loaded_plugin *out,
                         dr_error *err);

/** dlclose. NULL-safe, idempotent. */
void dr_plugin_unload(dr_loaded_plugin *p);

/**
 * Call @p fn for each loadable plugin in the search path (first of a name wins);
 * files that fail to load or are refused are reported with their error instead, and so
 * is a directory that is refused (relative, untrusted: p->path is the directory and
 * its files are not looked at). @p delivery_fn (may be NULL) is called for each file with
 * a delivery entry (delivery.h), and with the error of a file that has only a delivery
 * entry and fails to load as one.
 */
void dr_plugin_foreach(const dr_plugin_path *pp,
                       void (*fn)(void *ctx, const dr_loaded_plugin *p, const dr_error *load_err),
                       void (*delivery_fn)(void *ctx, const dr_loaded_delivery *d, const dr_error *load_err),
                       void *ctx);

/**
 * Load the delivery plugin at @p path (the trust checks of dr_plugin_load) and check its
 * descriptor (delivery ABI major, size, kind, deliver); @p expect_kind, if not NULL, must be
 * its kind. A .so may hold a format (dr_plugin_entry), a delivery (dr_delivery_entry) or both.
 * @return DR_OK or DR_ECONFIG naming the file.
 */
dr_status dr_delivery_load(const char *path, const char *expect_kind, dr_loaded_delivery *out, dr_error *err);

/** Find KIND.so in the search path and load it as a delivery plugin (DR_ECONFIG when none). */
dr_status dr_delivery_find(const dr_plugin_path *pp, const char *kind, dr_loaded_delivery *out, dr_error *err);

/** dlclose. NULL-safe, idempotent. */
void dr_delivery_unload(dr_loaded_delivery *p);

/**
 * Open the data file @p path (absolute) for reading with the trust checks of plugins, so
 * that what is checked is what is used: every directory from "/" to the file opened one
 * name at a time with O_NOFOLLOW and checked (owned by root or the running user, not
 * writable by group or others, unless sticky), the file opened with O_NOFOLLOW (a symbolic
 * link as its last name is refused) and a regular file. The caller checks the file's owner
 * and mode on the descriptor (dr_config_check_file) and reads it through it (or through
 * /proc/self/fd/N). @p what names the file in messages ("known hosts file").
 * @return DR_OK with *@p fd_out open (O_CLOEXEC), or DR_ECONFIG naming the path.
 */
dr_status dr_trusted_data_open(const char *path, const char *what, int *fd_out, dr_error *err);

#endif
