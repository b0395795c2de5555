-- A saved run's header: ids, label, ISO 8601 bounds and generation time (in the
-- transaction's zone), then the compact name tokens {from} {to} {generated}.
SELECT id::text, tenant_id::text, period_label, dyno_crm.dynoreport_iso8601(period_start),
       dyno_crm.dynoreport_iso8601(period_end), dyno_crm.dynoreport_iso8601(generated_at),
       dyno_crm.dynoreport_compact(period_start), dyno_crm.dynoreport_compact(period_end),
       to_char(generated_at AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"')
FROM dyno_crm.report_run WHERE id = :run_id::uuid
