-- The period's bounds in the report's zone (local midnights, so DST is right), the run id,
-- the generation time and the file-name tokens, in one row; '1' in the last column when
-- the period has a length. :range '1' for --from/--to (:from_local/:from_off,
-- :to_local/:to_off), else a period of :field/:interval (:relative '1': :offset units
-- from now, else the one starting at :anchor), in zone :tz.
SELECT gen_random_uuid()::text, dyno_crm.dynoreport_iso8601(s), dyno_crm.dynoreport_iso8601(e),
       dyno_crm.dynoreport_iso8601(now()),
       CASE WHEN :range = '1' THEN dyno_crm.dynoreport_compact(s) || '_' || dyno_crm.dynoreport_compact(e)
            WHEN :field = 'day' THEN to_char(s, 'YYYY-MM-DD')
            WHEN :field = 'week' THEN to_char(s, 'IYYY-"W"IW')
            WHEN :field = 'month' THEN to_char(s, 'YYYY-MM')
            WHEN :field = 'quarter' THEN to_char(s, 'YYYY-"Q"Q')
            ELSE to_char(s, 'YYYY') END,
       dyno_crm.dynoreport_compact(s), dyno_crm.dynoreport_compact(e),
       to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
       CASE WHEN e > s THEN '1' ELSE '0' END
FROM (SELECT CASE WHEN :range = '1' THEN
               CASE WHEN :from_off = '' THEN :from_local::timestamp AT TIME ZONE :tz
                    ELSE (:from_local || :from_off)::timestamptz END
             ELSE b AT TIME ZONE :tz END AS s,
             CASE WHEN :range = '1' THEN
               CASE WHEN :to_off = '' THEN :to_local::timestamp AT TIME ZONE :tz
                    ELSE (:to_local || :to_off)::timestamptz END
             ELSE (b + :interval::interval) AT TIME ZONE :tz END AS e
      FROM (SELECT CASE WHEN :relative = '1'
                   THEN date_trunc(:field, now() AT TIME ZONE :tz) + :offset::integer * :interval::interval
                   ELSE :anchor::timestamp END AS b) AS base) AS bounds
