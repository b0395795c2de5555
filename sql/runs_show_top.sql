-- `runs show`: the first :top principals of run :run_id by amount won (then deals won,
-- then type and id), with the name stored with the run ('' when it has none).
SELECT f.principal_type, f.principal_id::text, COALESCE(n.name, ''), f.total_amount_won::text,
       f.deals_closed_won_count::text, f.deals_created_count::text, COALESCE(f.win_rate::text, '-')
FROM dyno_crm.report_rep_performance_fact f
LEFT JOIN dyno_crm.report_run_principal_name n
       ON n.run_id = f.run_id AND n.principal_type = f.principal_type AND n.principal_id = f.principal_id
WHERE f.run_id = :run_id::uuid
ORDER BY f.total_amount_won DESC, f.deals_closed_won_count DESC, f.principal_type, f.principal_id
LIMIT :top::integer
