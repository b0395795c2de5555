-- The schema version of the database: the newest migration applied (0 for none).
SELECT COALESCE(max(version), 0) FROM dyno_crm.dynoreport_schema_version
