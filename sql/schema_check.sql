-- The fast check of `run`, `export` and `job` (core/schema.c), one row in one round trip:
--   present  1 if `db init` ever ran here (the version table exists), else 0; the version
--            itself is read next (schema_version_max.sql) when it does;
--   missing  the functions the embedded statements call (migrations 004, 006 and 007; the
--            report view's period in words calls dynoreport_period_title, which calls
--            dynoreport_day_words; the report is computed and stored by
--            dynoreport_report_store, which calls dynoreport_report_rows), by signature,
--            comma-separated when some are missing, else ''. Reported only when the
--            version is the one this dynoreport needs (else the version is what is wrong).
-- (`db init` checks everything it owns: schema_objects_check.sql.)
SELECT (SELECT count(*) FROM pg_catalog.pg_tables
        WHERE schemaname = 'dyno_crm' AND tablename = 'dynoreport_schema_version') AS present,
       (SELECT COALESCE(string_agg(f.sig, ', ' ORDER BY f.sig), '')
        FROM (VALUES ('dyno_crm.dynoreport_iso8601(timestamp with time zone)'),
                     ('dyno_crm.dynoreport_compact(timestamp with time zone)'),
                     ('dyno_crm.dynoreport_timestamptz(text)'),
                     ('dyno_crm.dynoreport_day_words(timestamp without time zone, boolean)'),
                     ('dyno_crm.dynoreport_period_title(text, boolean, timestamp without time zone, timestamp without time zone)'),
                     ('dyno_crm.dynoreport_report_rows(uuid[], timestamp with time zone, timestamp with time zone, text)'),
                     ('dyno_crm.dynoreport_report_store(uuid[], uuid[], uuid[], timestamp with time zone, timestamp with time zone, timestamp with time zone, timestamp with time zone, text)'))
             AS f(sig)
        WHERE to_regprocedure(f.sig) IS NULL) AS missing
