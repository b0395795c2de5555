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

/**
 * Run @p req for each tenant (all tenants with deals when @p all_tenants, else the one in
 * req->tenant), each its own transaction. A failed tenant is reported and does not stop
 * the others; a signal stops the job. Returns the first failure (message prefixed with how
 * many tenants failed), or DR_OK.
 */
dr_status dr_job_execute(dr_runner *r, const char *job_name, dr_run_request *req, int all_tenants,
                         dr_error *err);

#endif
