-- Names of a run's principals, from the rows the configured [names] principals query
-- returned, sent as three parallel text arrays (a batch at a time). Only principals of the
-- run or of its comparison get a name stored; the first name of a principal wins.
INSERT INTO dyno_crm.report_run_principal_name (run_id, tenant_id, principal_type,
                                                principal_id, name)
SELECT DISTINCT ON (n.principal_type, n.principal_id)
       :run_id::uuid, :tenant::uuid, n.principal_type, n.principal_id, n.name
FROM (SELECT upper(t.principal_type)::varchar(20) AS principal_type,
             t.principal_id::uuid AS principal_id, t.name, t.ord
      FROM unnest(:types::text[], :ids::text[], :names::text[])
           WITH ORDINALITY AS t(principal_type, principal_id, name, ord)) AS n
WHERE btrim(n.name) <> ''
  AND EXISTS (SELECT 1 FROM dyno_crm.report_rep_performance_fact f
               WHERE f.run_id IN (:run_id::uuid, :compare_run_id::uuid)
                 AND f.principal_type = n.principal_type AND f.principal_id = n.principal_id)
ORDER BY n.principal_type, n.principal_id, n.ord
ON CONFLICT (run_id, principal_type, principal_id) DO NOTHING
