-- Representative Performance: every fact row and the honest totals of the runs of one or
-- more tenants for one period, and of their comparison period when :compare_run_ids is not
-- NULL (the report_run rows inserted first), computed and stored by one statement:
-- dyno_crm.dynoreport_report_store (migration 007, where the set-based report query is, in
-- dynoreport_report_rows). Returns, per tenant, the fact rows of its run and of its
-- comparison run.
-- Named parameters (:name) are turned into bound ODBC markers by core/odbc.c (run_store.c binds them):
--   :run_ids :compare_run_ids :tenants  array literals ({uuid,...}), the i-th run and
--                comparison run are the i-th tenant's; :compare_run_ids NULL: no comparison
--   :period_start :period_end :compare_start :compare_end (ISO 8601 text with offset, as
--   dynoreport_iso8601 wrote it; dynoreport_timestamptz reads it, years before 1 too)
--   :principals  NULL for --all-principals, else a comma list of TYPE:uuid
SELECT s.tenant_id, s.fact_rows, s.compare_fact_rows
FROM dyno_crm.dynoreport_report_store(
    :run_ids::uuid[], :compare_run_ids::uuid[], :tenants::uuid[],
    dyno_crm.dynoreport_timestamptz(:period_start), dyno_crm.dynoreport_timestamptz(:period_end),
    dyno_crm.dynoreport_timestamptz(:compare_start), dyno_crm.dynoreport_timestamptz(:compare_end),
    :principals::text) AS s
