-- `runs show`: everything report_run and report_run_view hold about run :run_id, the
-- timestamps in the transaction's zone (the run's own, set first); comparison_for is set
-- when :run_id is itself a comparison run. The view's columns are NULL without a view row.
SELECT r.id::text, r.tenant_id::text, r.report_type, r.period_label,
       dyno_crm.dynoreport_iso8601(r.period_start), dyno_crm.dynoreport_iso8601(r.period_end),
       r.time_zone, dyno_crm.dynoreport_iso8601(r.generated_at), r.tool_version, r.parameters::text,
       r.comparison_for::text, v.tenant_name, v.period_title, v.compare, v.compare_title, v.currency
FROM dyno_crm.report_run r
LEFT JOIN dyno_crm.report_run_view v ON v.run_id = r.id
WHERE r.id = :run_id::uuid
