-- `runs prune`: the cut, once, so every later statement uses the same instant: now() minus
-- :age (a PostgreSQL interval such as '13 months'; month and year steps in UTC, the
-- session's zone), or the instant :before (ISO 8601 with offset) when :age is NULL; as
-- ISO 8601 text in UTC (dynoreport_timestamptz reads it back exactly), and '1' when the
-- cut lies after now.
SELECT dyno_crm.dynoreport_iso8601(c.cut), CASE WHEN c.cut > now() THEN '1' ELSE '0' END
FROM (SELECT CASE WHEN :age::text IS NULL THEN :before::timestamptz
                  ELSE now() - :age::interval END AS cut) AS c
