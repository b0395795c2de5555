-- The stored view of a saved run (for export): tenant name, period and comparison in
-- words, currency, and the comparison run's bounds ('' when there is none).
SELECT v.tenant_name, v.period_title, v.compare, v.compare_title, v.currency,
       COALESCE(dyno_crm.dynoreport_iso8601(c.period_start), ''),
       COALESCE(dyno_crm.dynoreport_iso8601(c.period_end), '')
FROM dyno_crm.report_run_view v
LEFT JOIN dyno_crm.report_run c ON c.comparison_for = v.run_id
WHERE v.run_id = :run_id::uuid
