-- The time zone a saved run was made in.
SELECT time_zone FROM dyno_crm.report_run WHERE id = :run_id::uuid
