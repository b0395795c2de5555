-- `runs show`: the comparison run stored for run :run_id (none: no row), its bounds in the
-- transaction's zone and its number of fact rows.
SELECT c.id::text, c.period_label, dyno_crm.dynoreport_iso8601(c.period_start),
       dyno_crm.dynoreport_iso8601(c.period_end),
       (SELECT count(*) FROM dyno_crm.report_rep_performance_fact f WHERE f.run_id = c.id)::text
FROM dyno_crm.report_run c
WHERE c.comparison_for = :run_id::uuid
