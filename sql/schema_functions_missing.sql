-- The fast check of `run`, `export` and `job` after the schema version: the functions the
-- embedded statements call (migrations 004, 006 and 007; the report view's period in words
-- calls dynoreport_period_title, which calls dynoreport_day_words; the report is computed
-- and stored by dynoreport_report_store, which calls dynoreport_report_rows), by signature,
-- comma-separated when some are missing, else ''.
-- (`db init` checks everything it owns: schema_objects_check.sql.)
SELECT COALESCE(string_agg(f.sig, ', ' ORDER BY f.sig), '')
FROM (VALUES ('dyno_crm.dynoreport_iso8601(timestamp with time zone)'),
             ('dyno_crm.dynoreport_compact(timestamp with time zone)'),
             ('dyno_crm.dynoreport_timestamptz(text)'),
             ('dyno_crm.dynoreport_day_words(timestamp without time zone, boolean)'),
             ('dyno_crm.dynoreport_period_title(text, boolean, timestamp without time zone, timestamp without time zone)'),
             ('dyno_crm.dynoreport_report_rows(uuid[], timestamp with time zone, timestamp with time zone, text)'),
             ('dyno_crm.dynoreport_report_store(uuid[], uuid[], uuid[], timestamp with time zone, timestamp with time zone, timestamp with time zone, timestamp with time zone, text)'))
     AS f(sig)
WHERE to_regprocedure(f.sig) IS NULL
