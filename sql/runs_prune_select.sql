-- `runs prune`: the main runs generated before :cut, of tenant :tenant (NULL: all), except
-- the newest :keep of each tenant and report type (by generated_at, then id); oldest
-- first. Columns: id, tenant, report type, label, generated at (UTC), fact rows of the run
-- and of its comparison run, comparison runs (0 or 1): what the delete will take with it.
SELECT r.id::text, r.tenant_id::text, r.report_type, r.period_label,
       to_char(r.generated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       (SELECT count(*) FROM dyno_crm.report_rep_performance_fact f
         WHERE f.run_id = r.id
            OR f.run_id IN (SELECT c.id FROM dyno_crm.report_run c WHERE c.comparison_for = r.id))::text,
       (SELECT count(*) FROM dyno_crm.report_run c WHERE c.comparison_for = r.id)::text
FROM (SELECT id, tenant_id, report_type, period_label, generated_at,
             row_number() OVER (PARTITION BY tenant_id, report_type ORDER BY generated_at DESC, id DESC) AS newest
        FROM dyno_crm.report_run
       WHERE comparison_for IS NULL AND (:tenant::uuid IS NULL OR tenant_id = :tenant::uuid)) AS r
WHERE r.newest > :keep::integer AND r.generated_at < dyno_crm.dynoreport_timestamptz(:cut)
ORDER BY r.generated_at, r.id
