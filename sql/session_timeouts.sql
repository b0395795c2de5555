-- Bounds on the waits of the tool's session (core/odbc.c). For each setting: the value
-- configured in [connection] (:statement, :lock, :idle; NULL when the key is not set)
-- wins; else the built-in default (:statement_default, ...; NULL: leave it) is taken only
-- when nobody set the setting for this session (source 'default': no postgresql.conf
-- line, ALTER ROLE / DATABASE, PGOPTIONS or ConnSettings), so a bound the DBA chose stays.
-- Values are PostgreSQL's ('30min', '60s', '1500' = ms); 0 disables a bound. Runs after
-- session_search_path.sql (a statement of its own), so the names below are pg_catalog's.
SELECT count(set_config(v.name, COALESCE(v.configured, v.fallback), false))
FROM (VALUES ('statement_timeout', :statement::text, :statement_default::text),
             ('lock_timeout', :lock::text, :lock_default::text),
             ('idle_in_transaction_session_timeout', :idle::text, :idle_default::text))
     AS v(name, configured, fallback)
JOIN pg_catalog.pg_settings s ON s.name = v.name
WHERE v.configured IS NOT NULL OR (s.source = 'default' AND v.fallback IS NOT NULL)
