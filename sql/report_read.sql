-- Read the fact rows of one run back, in the order of the contract, as text.
-- Timestamps are written in the session's TimeZone, which the runner sets to the
-- report's zone for the transaction (dynoreport_iso8601 adds the offset).
SELECT f.run_id::text, f.tenant_id::text, f.principal_type, f.principal_id::text,
       dyno_crm.dynoreport_iso8601(f.period_start), dyno_crm.dynoreport_iso8601(f.period_end),
       f.deals_created_count::text, f.deals_closed_won_count::text,
       f.deals_closed_lost_count::text, f.total_amount_won::text, f.avg_deal_size_won::text,
       f.avg_time_to_close_days::text, f.win_rate::text
FROM dyno_crm.report_rep_performance_fact f
WHERE f.run_id = :run_id::uuid
ORDER BY f.principal_type, f.principal_id
