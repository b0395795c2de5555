-- `runs show`: what run :run_id stored, counted: fact rows (all, users, groups), names
-- stored, total rows, and whether it has a view row.
SELECT (SELECT count(*) FROM dyno_crm.report_rep_performance_fact f WHERE f.run_id = :run_id::uuid)::text,
       (SELECT count(*) FROM dyno_crm.report_rep_performance_fact f
         WHERE f.run_id = :run_id::uuid AND f.principal_type = 'USER')::text,
       (SELECT count(*) FROM dyno_crm.report_rep_performance_fact f
         WHERE f.run_id = :run_id::uuid AND f.principal_type = 'GROUP')::text,
       (SELECT count(*) FROM dyno_crm.report_run_principal_name n WHERE n.run_id = :run_id::uuid)::text,
       (SELECT count(*) FROM dyno_crm.report_run_total t WHERE t.run_id = :run_id::uuid)::text,
       (SELECT count(*) FROM dyno_crm.report_run_view v WHERE v.run_id = :run_id::uuid)::text
