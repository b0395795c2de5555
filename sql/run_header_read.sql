-- Saved runs' headers (:run_ids, an array literal of one or more; one row per run found,
-- in the array's order): ids, label, ISO 8601 bounds and generation time (in the
-- transaction's zone), then the compact name tokens {from} {to} {generated}.
SELECT r.id::text, r.tenant_id::text, r.period_label, dyno_crm.dynoreport_iso8601(r.period_start),
       dyno_crm.dynoreport_iso8601(r.period_end), dyno_crm.dynoreport_iso8601(r.generated_at),
       dyno_crm.dynoreport_compact(r.period_start), dyno_crm.dynoreport_compact(r.period_end),
       to_char(r.generated_at AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"')
FROM unnest(:run_ids::uuid[]) WITH ORDINALITY AS u(run_id, ord)
JOIN dyno_crm.report_run r ON r.id = u.run_id
ORDER BY u.ord
