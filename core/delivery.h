/**
 * @file delivery.h
 * @brief Deliveries of a run's files after the commit (docs/delivery.md): the destinations
 *        of a process checked once (plugins loaded, files trust-checked, options checked),
 *        each delivered with retries and backoff, every delivery recorded in
 *        dyno_crm.report_delivery.
 *
 * A delivery never undoes its run: it starts after the commit and the publish, and its
 * failure is DR_EDELIVERY (exit 76) after the record is written. Built in: `dir` (in the
 * binary: manifest, latest link); `mail` and `sftp` are delivery plugins (mail.so,
 * sftp.so) in the plugin directory, loaded like any third-party one.
 */
#ifndef DR_DELIVERY_H
#define DR_DELIVERY_H

#include <dynoreport/delivery.h>
#include <stdio.h>

#include "config.h"
#include "interrupt.h"
#include "log.h"
#include "odbc.h"
#include "status.h"

/** Destinations one command may deliver to. */
#define DR_MAX_DELIVERIES 16

typedef struct dr_delivery_plan dr_delivery_plan; /**< checked destinations */

/** A run as the deliveries see it. */
typedef struct dr_delivery_run {
    const dr_run_info *info;       /**< the run's metadata */
    const char *tenant_name;       /**< from the report view ("" when none) */
    const char *period_title;      /**< from the report view ("" when none) */
    const char *from_c, *to_c, *generated_c; /**< compact tokens for the subject template */
    const dr_delivery_file *files; /**< the run's files, in place */
    size_t nfiles;
} dr_delivery_run;

/**
 * Check and load the destinations @p names (each a [delivery NAME] of @p cfg) before any
 * database work: kind's plugin found (dir is built in), credentials, key and query files
 * trust-checked, the recipients query read, the plugin's check() called. Unknown names:
 * DR_EUSAGE when @p from_cli, else DR_ECONFIG. *@p out is NULL when @p nnames is 0.
 */
dr_status dr_delivery_plan_build(const dr_config *cfg, const char *const *names, size_t nnames, int from_cli,
                                 const char *plugin_dir, const dr_log *log, dr_interrupt *intr,
                                 dr_delivery_plan **out, dr_error *err);

/** The name of a `dir` destination of @p plan without a url (it delivers into the output
    directory), or NULL. NULL-safe. */
const char *dr_delivery_plan_dir_without_url(const dr_delivery_plan *plan);

/** Free. NULL-safe. */
void dr_delivery_plan_free(dr_delivery_plan *plan);

/**
 * Deliver @p run to every destination of @p plan, on @p db (the run is committed; the
 * connection is in no transaction of interest): recipients queries in a read-only
 * transaction, a record per destination committed before the first attempt and updated
 * after the last. A failed destination does not stop the others.
 * @return DR_OK, DR_EDELIVERY (the first failure's sentence; the run stays saved),
 *         DR_EINTERRUPTED, or a database status when no record could be written.
 */
dr_status dr_delivery_execute(dr_delivery_plan *plan, dr_db *db, const dr_delivery_run *run, dr_error *err);

/** The MIME type of a format's files ("text/csv" for csv ...; application/octet-stream). */
const char *dr_delivery_content_type(const char *format);

/**
 * Print the delivery records of run @p run_id to @p out, one block per delivery
 * (destination, kind, status, attempts, target, started, finished, error), oldest first;
 * "deliveries: none" when there is none. For `runs show`.
 */
dr_status dr_delivery_print(dr_db *db, const char *run_id, FILE *out, dr_error *err);

/** The built-in `dir` delivery (delivery_dir.c). */
const dr_delivery *dr_delivery_dir_builtin(void);

#endif
