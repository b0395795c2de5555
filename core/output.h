/**
 * @file output.h
 * @brief The output side of a run: an output plan (plugins found, loaded, ABI and
 *        options checked, directory and name template checked) built once per process,
 *        and the files of one run (staged in a private directory inside the output
 *        directory, fed row by row, made durable, renamed into place after the commit).
 *
 * A plan is reused by every run of the process (every tenant of a job) and freed once.
 *
 * Files by handle (docs/reliability.md, "Staging"): the plan opens the output directory
 * once and every later step is relative to that descriptor. A run creates
 * `.dynoreport-staging.XXXXXXXXXXXX` there (mode 0700, flock'ed while the run lives, a
 * `.dynoreport` marker inside), creates each file in it under its final name with
 * O_CREAT|O_EXCL|O_NOFOLLOW (mode 0666 & ~umask) and keeps the descriptor; plugins get
 * "/proc/self/fd/<staging fd>/<name>", which no other user can redirect. What is
 * published is checked (the regular file the run created, ours, one link) and moved with
 * renameat. Staging left by a killed run is removed when the next plan is built.
 */
#ifndef DR_OUTPUT_H
#define DR_OUTPUT_H

#include <dynoreport/plugin.h>
#include <stddef.h>

#include "log.h"
#include "name_template.h"
#include "status.h"

#define DR_MAX_FORMATS 8
#define DR_MAX_OPTS 64

/** Where output goes and how it is named; shared by run, export and job. */
typedef struct dr_output_request {
    const char *formats[DR_MAX_FORMATS]; /**< plugin names, at least one */
    size_t nformats;
    const char *output_dir;              /**< existing directory */
    const char *name_template;           /**< see name_template.h; NULL: DR_NAME_DEFAULT */
    const char *opts[DR_MAX_OPTS];       /**< "plugin.key=value", later ones win */
    size_t nopts;
    const char *plugin_dir;              /**< first directory searched, may be NULL */
    int check_only;                      /**< config check: build the plan to check it, change nothing
                                              in the output directory (no stale staging removed) */
} dr_output_request;

typedef struct dr_output_plan dr_output_plan;   /**< checked plugins and options */
typedef struct dr_output_files dr_output_files; /**< the staged files of one run */

/**
 * Load the plugins of @p req and check options, name template and output directory,
 * without touching the database: the directory is opened (kept open by the plan) and must
 * be writable; the names of the template (sample values) must fit the file system's
 * NAME_MAX. Then the stale staging directories of this user whose runs are gone are
 * removed (an info message each). @p log receives plugin messages (filtered by level) and
 * those. @p req's strings must outlive the plan.
 */
dr_status dr_output_plan_build(const dr_output_request *req, const dr_log *log, dr_output_plan **out,
                               dr_error *err);

/** Unload everything. NULL-safe. */
void dr_output_plan_free(dr_output_plan *plan);

/** 1 when some format of @p plan asked for the report view (ABI 1.2). */
int dr_output_plan_wants_view(const dr_output_plan *plan);

/** The formats as one comma list ("csv,xlsx"), for report_run.parameters. */
const char *dr_output_plan_formats(const dr_output_plan *plan);

/** The number of formats (files per run) of @p plan. */
size_t dr_output_plan_count(const dr_output_plan *plan);

/**
 * The path (output directory as given, '/', name) of format @p i's file for a run of
 * @p vars (ext filled in), and whether a regular file of that name is in the output
 * directory now (*@p exists; a link is not followed). For --skip-existing and --dry-run.
 */
dr_status dr_output_plan_file(const dr_output_plan *plan, size_t i, const dr_name_vars *vars, char *path,
                              size_t path_size, int *exists, dr_error *err);

/**
 * Name every file of a run from @p vars (its ext is filled per format), check that each
 * final name can be replaced by a rename (no directory there: DR_ECANTCREATE), create the
 * staging directory (or use @p stage's, see dr_output_stage_open; NULL: a directory of the
 * run's own) and the staged files, open each plugin on its file with @p info.
 * Plugins that asked for the report view (ABI 1.2) get @p view (may be NULL) and the
 * fact columns followed by the view's; the others get the 13 fact columns.
 */
dr_status dr_output_begin(dr_output_plan *plan, const dr_output_files *stage, const dr_name_vars *vars,
                          const dr_run_info *info, const dr_report_view *view, dr_output_files **out,
                          dr_error *err);

/**
 * A staging directory for the runs of a job's batch (a dr_output_files without files):
 * dr_output_begin with it as @p stage stages a run's files there instead of in a directory
 * of its own (one mkdir, lock and rmdir for the batch, not one per run; two runs of a
 * batch that would write the same name fail on the second's O_EXCL create). Free it with
 * dr_output_files_free after every run that used it (that removes the directory and what
 * is left in it); dr_output_files_remove_staged removes it from another thread.
 */
dr_status dr_output_stage_open(dr_output_plan *plan, dr_output_files **out, dr_error *err);

/**
 * Hand one row to every format: @p values holds the 13 fact values followed by the
 * view's. A row that is not a fact row (@p is_fact 0: a "gone" or "total" row of the
 * view) goes only to the formats that were given the view.
 */
dr_status dr_output_row(dr_output_files *files, const dr_value *values, int is_fact, dr_error *err);

/**
 * Before the commit: finish every file (plugin end), check it is still the file the run
 * created (else DR_EIO), with @p sync fsync it through the descriptor it was created with
 * (without: the caller syncs a batch of runs at once, dr_output_plan_syncfs), and check
 * the final names again (a directory there: DR_ECANTCREATE), so nothing predictable fails
 * after the commit.
 */
dr_status dr_output_finish(dr_output_files *files, int sync, dr_error *err);

/** fsync every staged file of a run through the descriptor it was created with (DR_EIO). */
dr_status dr_output_files_sync(dr_output_files *files, dr_error *err);

/**
 * Sync the output directory's whole file system at once (syncfs: the staged files of a
 * batch of runs with one flush); *@p synced 0 where that is not possible (not Linux, a
 * directory opened O_PATH): then sync each run's files (dr_output_files_sync). A write-back
 * error is DR_EIO.
 */
dr_status dr_output_plan_syncfs(const dr_output_plan *plan, int *synced, dr_error *err);

/**
 * After the commit: rename every file into place (renameat), with @p sync_dir fsync the
 * directory (dr_output_plan_sync_dir; a batch does it once for all its runs), send each
 * final path to @p log as a result line, remove the empty staging directory. A file that
 * cannot be put in place is reported (DR_EIO: the run @p run_id is saved and the message
 * says how to rebuild the files with export) and the others still are.
 */
dr_status dr_output_publish(dr_output_files *files, const char *run_id, int sync_dir, const dr_log *log,
                            dr_error *err);

/** fsync the output directory after renames (DR_EIO naming run @p run_id, or the runs of a
    batch when NULL); nothing where the directory was opened O_PATH. */
dr_status dr_output_plan_sync_dir(const dr_output_plan *plan, const char *run_id, dr_error *err);

/**
 * Remove the staged files and the staging directory, by descriptor only (unlinkat), from
 * any thread, while the owning thread is stuck anywhere (in a plugin, in the database):
 * no allocation, no lock, only system calls. For the signal thread before _exit on a second
 * Ctrl-C. Does nothing once dr_output_publish or dr_output_files_free has closed the
 * staging directory, nor while another call is at it. @p files must stay allocated during
 * the call: the caller keeps the pointer where dr_output_files_free cannot run concurrently
 * with it (e.g. unregisters it under the interrupt module's lock before freeing).
 * NULL-safe. Files a plugin created beside its own are left to the next run's stale cleanup.
 */
void dr_output_files_remove_staged(dr_output_files *files);

/** The number of files of a run (one per format). */
size_t dr_output_files_count(const dr_output_files *files);

/** File @p i of a run: its name, its final path (output_dir/name) and its format's name. */
void dr_output_file_at(const dr_output_files *files, size_t i, const char **name, const char **path,
                       const char **fmt_name);

/** Close the plugins, remove staged files that were not published and the staging
    directory (which releases its lock), free. NULL-safe. */
void dr_output_files_free(dr_output_files *files);

#endif
