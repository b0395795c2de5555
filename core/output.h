/**
 * @file output.h
 * @brief The output side of a run: an output plan (plugins found, loaded, ABI and
 *        options checked, directory and name template checked) built once per process,
 *        and the files of one run (staged next to their final names, fed row by row,
 *        made durable, renamed into place after the commit).
 *
 * A plan is reused by every run of the process (every tenant of a job) and freed once.
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
} dr_output_request;

typedef struct dr_output_plan dr_output_plan;   /**< checked plugins and options */
typedef struct dr_output_files dr_output_files; /**< the staged files of one run */

/**
 * Load the plugins of @p req and check options, name template and output directory,
 * without touching the database. @p log receives plugin messages (filtered by level).
 * @p req's strings must outlive the plan.
 */
dr_status dr_output_plan_build(const dr_output_request *req, const dr_log *log, dr_output_plan **out,
                               dr_error *err);

/** Unload everything. NULL-safe. */
void dr_output_plan_free(dr_output_plan *plan);

/** Number of formats of @p plan. */
size_t dr_output_plan_nformats(const dr_output_plan *plan);

/** The formats as one comma list ("csv,xlsx"), for report_run.parameters. */
const char *dr_output_plan_formats(const dr_output_plan *plan);

/**
 * Name every file of a run from @p vars (its ext is filled per format), create the
 * staged files, open each plugin on its file with @p info.
 */
dr_status dr_output_begin(dr_output_plan *plan, const dr_name_vars *vars, const dr_run_info *info,
                          dr_output_files **out, dr_error *err);

/** Hand one row of typed values to every format. */
dr_status dr_output_row(dr_output_files *files, const dr_value *values, dr_error *err);

/** Finish every file (plugin end) and fsync it, before the commit. */
dr_status dr_output_finish(dr_output_files *files, dr_error *err);

/**
 * After the commit: rename every file into place, fsync the directory, send each final
 * path to @p log as a result line. A file that cannot be put in place is reported (the
 * run @p run_id is saved; export rebuilds it) and the others still are.
 */
dr_status dr_output_publish(dr_output_files *files, const char *run_id, const dr_log *log, dr_error *err);

/** Close the plugins, remove staged files that were not published, free. NULL-safe. */
void dr_output_files_free(dr_output_files *files);

#endif
