-- The schema of the report tables (db init, before the version table).
CREATE SCHEMA IF NOT EXISTS dyno_crm
