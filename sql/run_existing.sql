-- --skip-existing: the newest saved run (not a comparison run) of the same report, tenant,
-- period bounds and zone, asked with the same principals and period text; the formats it
-- wrote do not matter (missing files are exported again from it).
SELECT r.id::text
FROM dyno_crm.report_run r
WHERE r.tenant_id = :tenant::uuid AND r.report_type = :report
  AND r.period_start = dyno_crm.dynoreport_timestamptz(:start)
  AND r.period_end = dyno_crm.dynoreport_timestamptz(:end)
  AND r.time_zone = :tz AND r.comparison_for IS NULL
  AND r.parameters -> 'principals' = CASE WHEN :principals::text IS NULL THEN to_jsonb('all'::text)
                                          ELSE to_jsonb(string_to_array(:principals::text, ',')) END
  AND r.parameters ->> 'period' = :period::text
ORDER BY r.generated_at DESC, r.id
LIMIT 1
