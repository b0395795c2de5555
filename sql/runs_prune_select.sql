-- `runs prune`: the main runs generated before :cut, of tenant :tenant (NULL: all), except
-- the newest :keep of each tenant and report type (by generated_at, then id); oldest
-- first. Columns: id, tenant, report type, label, generated at (UTC), fact rows of the run
-- and of its comparison run, comparison runs (0 or 1): what the delete will take with it.
-- The counts go by run_id, the leading column of the fact table's primary key (one index
-- range per run, not a scan of the facts per run).
SELECT r.id::text, r.tenant_id::text, r.report_type, r.period_label,
       to_char(r.generated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       (own.n + cmp.n)::text, cmp.runs::text
FROM (SELECT id, tenant_id, report_type, period_label, generated_at,
             row_number() OVER (PARTITION BY tenant_id, report_type ORDER BY generated_at DESC, id DESC) AS newest
        FROM dyno_crm.report_run
       WHERE comparison_for IS NULL AND (:tenant::uuid IS NULL OR tenant_id = :tenant::uuid)) AS r
CROSS JOIN LATERAL (SELECT count(*) AS n FROM dyno_crm.report_rep_performance_fact f WHERE f.run_id = r.id) AS own
CROSS JOIN LATERAL (SELECT count(DISTINCT c.id) AS runs, count(f.run_id) AS n
                      FROM dyno_crm.report_run c
                      LEFT JOIN dyno_crm.report_rep_performance_fact f ON f.run_id = c.id
                     WHERE c.comparison_for = r.id) AS cmp
WHERE r.newest > :keep::integer AND r.generated_at < dyno_crm.dynoreport_timestamptz(:cut)
ORDER BY r.generated_at, r.id
