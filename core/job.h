/**
 * @file job.h
 * @brief `job NAME`: a [job NAME] of the configuration turned into a run request, and
 *        one run per tenant (tenant = all: every tenant with deals) with one output plan.
 */
#ifndef DR_JOB_H
#define DR_JOB_H

#include "config.h"
#include "runner.h"
#include "status.h"

/**
 * Fill @p req (everything but the tenant) from @p job: principals, period, zone.
 * *@p all_tenants is 1 for tenant = all, else @p tenant receives the canonical UUID.
 * @return DR_OK, or DR_ECONFIG naming file, job and key.
 */
dr_status dr_job_request(const dr_config *cfg, const dr_config_job *job, dr_run_request *req,
                         dr_strstore *store, int *all_tenants, char tenant[DR_UUID_LEN + 1], dr_error *err);

/** How a job runs (command line over [job] over [defaults]). */
typedef struct dr_job_options {
    int skip_existing; /**< --skip-existing: tenants saved already with the same options are not recomputed */
    int jobs;          /**< --jobs N: worker processes (1: in this process, in tenant order) */
    int dry_run;       /**< --dry-run: print what would be computed and written, write nothing */
    int progress;      /**< a progress line (at most one a second) on stderr */
} dr_job_options;

/**
 * dr_job_request for `config check`: every bad key of @p job is sent to @p each (a
 * DR_ECONFIG error naming file, line, job and key), not only the first; *@p problems
 * counts them. @p req receives what could be read (req->tenant "" for tenant = all).
 * @return DR_OK once checked (problems or not), or DR_ENOMEM.
 */
dr_status dr_job_check(const dr_config *cfg, const dr_config_job *job, dr_run_request *req, dr_strstore *store,
                       dr_config_problem_fn each, void *ctx, size_t *problems, dr_error *err);

/**
 * Run @p req for each tenant (all tenants with deals when @p all_tenants, else the one in
 * req->tenant), each its own transaction, claimed through the run's advisory lock (tried
 * first; a tenant another session holds is tried again at the end and waited for up to
 * r->lock_timeout_ms, then left to that session). With opt->jobs > 1, that many forked
 * worker processes share the tenants (each its own connections; result lines come to this
 * process through a pipe each and are printed in tenant order; signals are forwarded). A
 * failed tenant is reported and does not stop the others; a signal stops the job. Ends
 * with a summary line (done, skipped, left to others, failed, seconds) and one line per
 * failed tenant. Returns the first failure (message prefixed with how many tenants
 * failed), or DR_OK. opt->dry_run: prints the period, formats and every file, and
 * computes nothing.
 */
dr_status dr_job_execute(dr_runner *r, const char *job_name, dr_run_request *req, int all_tenants,
                         const dr_job_options *opt, dr_error *err);

#endif
