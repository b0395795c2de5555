-- 1 if `db init` ever ran here (the version table exists), else 0.
SELECT count(*) FROM pg_catalog.pg_tables
WHERE schemaname = 'dyno_crm' AND tablename = 'dynoreport_schema_version'
