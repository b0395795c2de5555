-- Every tenant that has deals (`job` with tenant = all).
SELECT DISTINCT tenant_id::text FROM dyno_crm.deal ORDER BY 1
