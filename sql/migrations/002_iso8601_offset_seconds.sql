-- dynoreport schema version 2: dynoreport_iso8601() keeps the seconds of a UTC offset.
-- Zones ran on local mean time before about 1940 (Europe/Amsterdam was UTC+00:19:32 in
-- 1900); version 1 wrote such an offset as +00:19, so a period boundary that went out
-- as text and came back as a bound parameter moved by those seconds (found by
-- tests/integration/test_hostile.py). Offsets without seconds are written as before.
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_iso8601(ts timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS 'SELECT to_char(ts, ''YYYY-MM-DD"T"HH24:MI:SS'')
            || CASE WHEN extract(microseconds FROM ts)::bigint % 1000000 <> 0
                    THEN to_char(ts, ''.US'') ELSE '''' END
            || to_char(ts, ''TZH:TZM'')
            || CASE WHEN extract(timezone FROM ts)::integer % 60 <> 0
                    THEN '':'' || lpad((abs(extract(timezone FROM ts)::integer) % 60)::text, 2, ''0'')
                    ELSE '''' END';
