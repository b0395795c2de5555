-- 1 if migration :version was applied already, else 0.
SELECT count(*) FROM dyno_crm.dynoreport_schema_version WHERE version = :version::integer
