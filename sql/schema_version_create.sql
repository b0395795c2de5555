-- The table recording which migrations (sql/migrations/NNN_name.sql) were applied.
CREATE TABLE IF NOT EXISTS dyno_crm.dynoreport_schema_version (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
