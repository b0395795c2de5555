-- dynoreport schema version 4: timestamps before the year 1 keep their era.
-- --from 0001-01-01T00:00+01:00 is 0000-12-31T23:00Z, an instant of 1 BC. Version 2 wrote
-- it as "0001-12-31T23:00:00+00:00" (to_char's YYYY is the year of the era, and the era
-- was dropped), so the period's start came back as a bound parameter a year after its end
-- and the run failed on ck_report_run_period. Timestamps now leave the database with the
-- ISO 8601 year (astronomical numbering: 1 BC is 0000, 2 BC is -0001), and
-- dynoreport_timestamptz() reads that form back, since PostgreSQL's own input takes
-- neither year 0000 nor a sign ("0001-12-31 ... BC" instead). dynoreport_compact() gives
-- the same year to the compact tokens of file names and range labels.
--
-- This migration holds nothing but CREATE OR REPLACE FUNCTION: `db init` runs it again
-- when a function it defines is missing or was changed (sql/schema_objects_check.sql
-- names it, with a fingerprint of each body: change both together).

-- ISO 8601 text of a timestamp in the session's TimeZone, with the zone's offset
-- ("2026-10-01T00:00:00-04:00"; microseconds only when there are some; the seconds of
-- an offset only when it has some, as in version 2).
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_iso8601(ts timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $body$
SELECT CASE WHEN a.y BETWEEN 0 AND 9999 THEN lpad(a.y::text, 4, '0')
            WHEN a.y < 0 THEN '-' || lpad((-a.y)::text, 4, '0')
            ELSE a.y::text END
       || to_char(ts, '-MM-DD"T"HH24:MI:SS')
       || CASE WHEN extract(microseconds FROM ts)::bigint % 1000000 <> 0
               THEN to_char(ts, '.US') ELSE '' END
       || to_char(ts, 'TZH:TZM')
       || CASE WHEN extract(timezone FROM ts)::integer % 60 <> 0
               THEN ':' || lpad((abs(extract(timezone FROM ts)::integer) % 60)::text, 2, '0')
               ELSE '' END
FROM (SELECT CASE WHEN extract(year FROM ts) < 0 THEN extract(year FROM ts)::integer + 1
                  ELSE extract(year FROM ts)::integer END AS y) AS a
$body$;

-- The compact form of file names and range labels, YYYYMMDDTHHMMSS in the session's
-- TimeZone, with the same ISO 8601 year ("00001231T230000" for 1 BC).
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_compact(ts timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $body$
SELECT CASE WHEN a.y BETWEEN 0 AND 9999 THEN lpad(a.y::text, 4, '0')
            WHEN a.y < 0 THEN '-' || lpad((-a.y)::text, 4, '0')
            ELSE a.y::text END
       || to_char(ts, 'MMDD"T"HH24MISS')
FROM (SELECT CASE WHEN extract(year FROM ts) < 0 THEN extract(year FROM ts)::integer + 1
                  ELSE extract(year FROM ts)::integer END AS y) AS a
$body$;

-- The instant of an ISO 8601 text as dynoreport_iso8601() writes it: a year of 0000 or
-- below becomes PostgreSQL's "YYYY-... BC" (0000 is 1 BC, -0001 is 2 BC). It is bound to
-- every timestamp that goes back in as a parameter, also in the WHERE of the report's
-- scans of the CRM tables, so the planner must fold it into a constant: hence IMMUTABLE
-- (a call per source row would cost seconds on a million deals). That holds because it
-- takes nothing but the exact form with a UTC offset, whose instant no setting changes
-- (TimeZone, DateStyle); any other text fails, naming it.
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_timestamptz(t text) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $body$
SELECT CASE WHEN t !~ '^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?(Z|[+-][0-9]{2}(:[0-9]{2}){0,2})$'
            THEN ('not an ISO 8601 timestamp with a UTC offset: ' || t)::timestamptz
            WHEN t ~ '^(-[0-9]+|0+)-'
            THEN (lpad((1 - substring(t, '^(-?[0-9]+)-')::integer)::text, 4, '0')
                  || substring(t, '^-?[0-9]+(-.*)$') || ' BC')::timestamptz
            ELSE t::timestamptz END
$body$;
