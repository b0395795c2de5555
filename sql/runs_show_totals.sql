-- `runs show`: the totals stored for run :run_id and for its comparison run (each deal
-- counted once), the run's first; NULL averages and win rates as "-".
SELECT CASE WHEN r.id = :run_id::uuid THEN 'run' ELSE 'comparison' END, t.principal_type,
       t.deals_created_count::text, t.deals_closed_won_count::text, t.deals_closed_lost_count::text,
       t.total_amount_won::text, COALESCE(t.avg_deal_size_won::text, '-'),
       COALESCE(t.avg_time_to_close_days::text, '-'), COALESCE(t.win_rate::text, '-')
FROM dyno_crm.report_run_total t
JOIN dyno_crm.report_run r ON r.id = t.run_id
WHERE r.id = :run_id::uuid OR r.comparison_for = :run_id::uuid
ORDER BY r.comparison_for IS NOT NULL, t.principal_type DESC
