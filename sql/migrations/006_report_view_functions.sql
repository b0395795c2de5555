-- dynoreport schema version 6: the period in words, for the report view (005). Like 004,
-- this migration holds nothing but CREATE OR REPLACE FUNCTION, so `db init` can run it
-- again when a function it defines is missing or was changed.

-- One day in words, "5 Oct 2026" (with the time, "5 Oct 2026 08:30" or with seconds
-- when there are some, when @with_time).
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_day_words(t timestamp, with_time boolean) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $fn$
    SELECT to_char(t, 'FMDD Mon FMYYYY')
           || CASE WHEN t < '0001-01-01' THEN ' BC' ELSE '' END
           || CASE WHEN NOT with_time THEN ''
                   WHEN t = date_trunc('minute', t) THEN to_char(t, ' HH24:MI')
                   ELSE to_char(t, ' HH24:MI:SS') END
    $fn$;

-- The period in words: "October 2026", "Q3 2026", "Week 41, 2026", "5 Oct 2026", "2026",
-- or for a range "1 Oct 2026 – 15 Oct 2026" (the inclusive last day; with times, and the
-- end exclusive, when a bound is not at midnight). s and e are wall-clock times in the
-- report's zone. Years are written without padding, and with " BC" before the year 1.
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_period_title(field text, is_range boolean,
                                                          s timestamp, e timestamp) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $fn$
    SELECT CASE
        WHEN is_range AND s = date_trunc('day', s) AND e = date_trunc('day', e)
            THEN dyno_crm.dynoreport_day_words(s, false) || ' – '
                 || dyno_crm.dynoreport_day_words(e - interval '1 day', false)
        WHEN is_range
            THEN dyno_crm.dynoreport_day_words(s, true) || ' – ' || dyno_crm.dynoreport_day_words(e, true)
        WHEN field = 'day' THEN dyno_crm.dynoreport_day_words(s, false)
        WHEN field = 'week' THEN 'Week ' || to_char(s, 'FMIW') || ', ' || to_char(s, 'FMIYYY')
        WHEN field = 'month' THEN to_char(s, 'FMMonth FMYYYY')
                                  || CASE WHEN s < '0001-01-01' THEN ' BC' ELSE '' END
        WHEN field = 'quarter' THEN 'Q' || to_char(s, 'Q') || ' ' || to_char(s, 'FMYYYY')
                                    || CASE WHEN s < '0001-01-01' THEN ' BC' ELSE '' END
        ELSE to_char(s, 'FMYYYY') || CASE WHEN s < '0001-01-01' THEN ' BC' ELSE '' END
    END
    $fn$;
