-- Representative Performance: every fact row and the honest totals of one run, and of its
-- comparison period when :compare_run_id is not NULL (its report_run row inserted first),
-- computed and stored by one statement: dyno_crm.dynoreport_report_store (migration 007,
-- where the set-based report query is, in dynoreport_report_rows). Returns the fact rows
-- of the run and of the comparison run.
-- Named parameters (:name) are turned into bound ODBC markers by core/odbc.c (run_store.c binds them):
--   :run_id :compare_run_id :tenant
--   :period_start :period_end :compare_start :compare_end (ISO 8601 text with offset, as
--   dynoreport_iso8601 wrote it; dynoreport_timestamptz reads it, years before 1 too)
--   :principals  NULL for --all-principals, else a comma list of TYPE:uuid
SELECT s.fact_rows, s.compare_fact_rows
FROM dyno_crm.dynoreport_report_store(
    :run_id::uuid, :compare_run_id::uuid, :tenant::uuid,
    dyno_crm.dynoreport_timestamptz(:period_start), dyno_crm.dynoreport_timestamptz(:period_end),
    dyno_crm.dynoreport_timestamptz(:compare_start), dyno_crm.dynoreport_timestamptz(:compare_end),
    :principals::text) AS s
