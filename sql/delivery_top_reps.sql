-- The three reps with the most amount won in a run, with their stored names, for the
-- summary of a mail delivery (ties as in the report view: deals won, then id).
SELECT COALESCE(n.name, '[user ' || left(f.principal_id::text, 8) || ']'), f.total_amount_won::text
  FROM dyno_crm.report_rep_performance_fact f
  LEFT JOIN dyno_crm.report_run_principal_name n
         ON n.run_id = f.run_id AND n.principal_type = f.principal_type AND n.principal_id = f.principal_id
 WHERE f.run_id = :run_id::uuid AND f.principal_type = 'USER'
 ORDER BY f.total_amount_won DESC, f.deals_closed_won_count DESC, f.principal_id
 LIMIT 3
