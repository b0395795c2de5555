-- dynoreport schema version 3: the tool's SQL function runs with a pinned search_path.
-- The body of a LANGUAGE sql function is resolved with the search_path of whoever calls
-- it: a caller whose search_path starts with a schema others may write (public, on
-- PostgreSQL 14 and older and on databases upgraded from there) would let an overload
-- planted there (public.to_char(timestamptz, text), public.||) run inside it. With
-- SET search_path the function sees pg_catalog alone (pg_temp named last, so that it is
-- searched last), whoever calls it. The tool's own sessions pin their search_path as
-- well (sql/session_search_path.sql).
ALTER FUNCTION dyno_crm.dynoreport_iso8601(timestamptz) SET search_path = pg_catalog, pg_temp;
