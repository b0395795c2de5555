-- The comparison period of a run and both periods in words, in one row: a new run id for
-- the comparison, its bounds (dynoreport_iso8601) and its file-name label ('' for none, or
-- when its bounds fall before what PostgreSQL can represent), the run's period title and
-- the comparison's. "previous" is the period of the same kind just before (a range:
-- shifted back by its own length); "year-ago" the same period a year earlier (weeks: 52
-- weeks, so it is the same ISO weekday). :start / :end are the run's bounds as
-- dynoreport_iso8601 wrote them; :range, :field, :interval and :tz as for
-- period_resolve.sql; :compare 'previous', 'year-ago' or 'none'.
SELECT gen_random_uuid()::text,
       COALESCE(dyno_crm.dynoreport_iso8601(c.cs), ''),
       COALESCE(dyno_crm.dynoreport_iso8601(c.ce), ''),
       COALESCE(CASE WHEN :range = '1' THEN dyno_crm.dynoreport_compact(c.cs) || '_' || dyno_crm.dynoreport_compact(c.ce)
                     WHEN :field = 'day' THEN to_char(c.cs, 'YYYY-MM-DD')
                     WHEN :field = 'week' THEN to_char(c.cs, 'IYYY-"W"IW')
                     WHEN :field = 'month' THEN to_char(c.cs, 'YYYY-MM')
                     WHEN :field = 'quarter' THEN to_char(c.cs, 'YYYY-"Q"Q')
                     ELSE to_char(c.cs, 'YYYY') END, ''),
       dyno_crm.dynoreport_period_title(:field, :range = '1', m.ls, m.le),
       COALESCE(dyno_crm.dynoreport_period_title(:field, :range = '1', c.cs AT TIME ZONE :tz,
                                                 c.ce AT TIME ZONE :tz), '')
FROM (SELECT dyno_crm.dynoreport_timestamptz(:start) AS s,
             dyno_crm.dynoreport_timestamptz(:end) AS e) AS b
CROSS JOIN LATERAL (SELECT b.s AT TIME ZONE :tz AS ls, b.e AT TIME ZONE :tz AS le) AS m
CROSS JOIN LATERAL (SELECT CASE WHEN :field = 'week' THEN interval '364 days'
                                ELSE interval '1 year' END AS year_back) AS y
CROSS JOIN LATERAL (
    SELECT CASE WHEN :compare = 'none' THEN NULL
                WHEN :range = '1' AND :compare = 'previous'
                     AND b.s - '4000-01-01 00:00:00+00 BC'::timestamptz <= b.e - b.s THEN NULL
                WHEN :range = '1' AND :compare = 'previous' THEN b.s - (b.e - b.s)
                WHEN :range = '1' THEN (m.ls - interval '1 year') AT TIME ZONE :tz
                WHEN :compare = 'previous' THEN (m.ls - :interval::interval) AT TIME ZONE :tz
                ELSE (m.ls - y.year_back) AT TIME ZONE :tz END AS cs,
           CASE WHEN :compare = 'none' THEN NULL
                WHEN :range = '1' AND :compare = 'previous'
                     AND b.s - '4000-01-01 00:00:00+00 BC'::timestamptz <= b.e - b.s THEN NULL
                WHEN :compare = 'previous' THEN b.s
                WHEN :range = '1' THEN (m.le - interval '1 year') AT TIME ZONE :tz
                ELSE (m.ls - y.year_back + :interval::interval) AT TIME ZONE :tz END AS ce
) AS c
