-- `runs list`: the newest main runs (a comparison run, comparison_for set, is part of its
-- run and never listed), of tenant :tenant (NULL: all) generated at or after :since (an
-- ISO 8601 text with offset; NULL: any), at most :limit. Columns: id, tenant, label, the
-- bounds in the run's own zone, the zone, generated at (UTC), principals asked for ("all"
-- or their number), fact rows, formats. The bounds: the session's TimeZone is UTC (every
-- connection's), so dynoreport_iso8601() of the local wall-clock time read as UTC gives
-- the digits (its year and fraction rules) with "+00:00", replaced by the run zone's offset.
SELECT r.id::text, r.tenant_id::text, r.period_label, b.s, b.e, r.time_zone,
       to_char(r.generated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       CASE WHEN jsonb_typeof(r.parameters -> 'principals') = 'array'
            THEN jsonb_array_length(r.parameters -> 'principals')::text
            ELSE COALESCE(r.parameters ->> 'principals', '-') END,
       (SELECT count(*) FROM dyno_crm.report_rep_performance_fact f WHERE f.run_id = r.id)::text,
       COALESCE((SELECT string_agg(x.fmt, ',' ORDER BY x.n)
                   FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.parameters -> 'formats') = 'array'
                                                       THEN r.parameters -> 'formats' END)
                        WITH ORDINALITY AS x(fmt, n)), '-')
FROM (SELECT * FROM dyno_crm.report_run
       WHERE comparison_for IS NULL
         AND (:tenant::uuid IS NULL OR tenant_id = :tenant::uuid)
         AND (:since::text IS NULL OR generated_at >= :since::timestamptz)
       ORDER BY generated_at DESC, id DESC
       LIMIT :limit::integer) AS r
CROSS JOIN LATERAL (
    SELECT max(t.txt) FILTER (WHERE t.n = 1) AS s, max(t.txt) FILTER (WHERE t.n = 2) AS e
    FROM (SELECT v.n, left(dyno_crm.dynoreport_iso8601(v.l AT TIME ZONE 'UTC'), -6)
                      || CASE WHEN v.o < 0 THEN '-' ELSE '+' END
                      || lpad((abs(v.o) / 3600)::text, 2, '0') || ':'
                      || lpad((abs(v.o) % 3600 / 60)::text, 2, '0')
                      || CASE WHEN abs(v.o) % 60 <> 0 THEN ':' || lpad((abs(v.o) % 60)::text, 2, '0')
                              ELSE '' END AS txt
            FROM (SELECT w.n, w.ts AT TIME ZONE r.time_zone AS l,
                         extract(epoch FROM (w.ts AT TIME ZONE r.time_zone) - (w.ts AT TIME ZONE 'UTC'))::integer AS o
                    FROM (VALUES (1, r.period_start), (2, r.period_end)) AS w(n, ts)) AS v) AS t) AS b
ORDER BY r.generated_at DESC, r.id DESC
