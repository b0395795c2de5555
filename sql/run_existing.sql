-- --skip-existing, for one or more tenants (:tenants, an array literal; run after their
-- claims, so the snapshot sees what a session that held a claim saved): one row per
-- tenant in the array's order, the tenant and the newest saved run (not a comparison run)
-- of the same report, period bounds and zone, asked with the same principals and period
-- text, or NULL; the formats it wrote do not matter (missing files are exported again).
SELECT t.tenant::text, x.id::text
FROM unnest(:tenants::uuid[]) WITH ORDINALITY AS t(tenant, ord)
LEFT JOIN LATERAL (
    SELECT r.id
    FROM dyno_crm.report_run r
    WHERE r.tenant_id = t.tenant AND r.report_type = :report
      AND r.period_start = dyno_crm.dynoreport_timestamptz(:start)
      AND r.period_end = dyno_crm.dynoreport_timestamptz(:end)
      AND r.time_zone = :tz AND r.comparison_for IS NULL
      AND r.parameters -> 'principals' = CASE WHEN :principals::text IS NULL THEN to_jsonb('all'::text)
                                              ELSE to_jsonb(string_to_array(:principals::text, ',')) END
      AND r.parameters ->> 'period' = :period::text
    ORDER BY r.generated_at DESC, r.id
    LIMIT 1) AS x ON true
ORDER BY t.ord
