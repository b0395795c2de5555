-- The first statement of every session (core/odbc.c), as pg_dump does: the search_path is
-- pinned, whatever the role, the database or the connection string set. pg_catalog alone,
-- and pg_temp named last (left out, it would be searched first for tables): every object
-- of ours and of the CRM is written with its schema (dyno_crm.*), so no unqualified name,
-- function or operator can resolve to anything but the built-in ones. dyno_crm itself is
-- left out on purpose: it is the CRM's schema, in which CRM roles may create objects, and
-- an overload there that matches a call better than pg_catalog's would win. The same
-- value also travels in the startup packet when it can (pqopt, core/odbc.c), so psqlODBC's
-- own first queries are covered too.
-- In the same statement (one round trip), after the pin: every connection starts in UTC,
-- since the session's zone must not leak into any value (docs/cli.md, Time zones; a run
-- then sets its report's zone for its transaction, zone_set.sql), and the connection is
-- named in pg_stat_activity. This statement is parsed before its search_path applies, so
-- every name in it is written with its schema; its columns are set left to right.
SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false),
       pg_catalog.set_config('TimeZone', 'UTC', false),
       pg_catalog.set_config('application_name', 'dynoreport', false)
