-- The principals a saved run asked for, one row each (no row when it asked for all).
SELECT x.token FROM dyno_crm.report_run r,
       jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.parameters -> 'principals')
                                           = 'array' THEN r.parameters -> 'principals' END) AS x(token)
WHERE r.id = :run_id::uuid
