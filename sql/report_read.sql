-- Read the fact rows of one or more runs back (:run_ids, an array literal; a job's batch
-- reads all its runs with this one statement), run after run in the array's order, each
-- run's rows in the order of the contract, as text.
-- Timestamps are written in the session's TimeZone, which period_db.c sets to the
-- report's zone for the transaction (dynoreport_iso8601 adds the offset), once per run:
-- a fact row's bounds are its run's (the CASE keeps any other as it is). MATERIALIZED: a
-- CTE used once is otherwise folded into the query, and its two dynoreport_iso8601 calls
-- then ran for every fact row (13 ms for 550 rows instead of well under one).
-- Every column is cast to a bounded varchar: psqlODBC describes text as 8190 characters
-- wide, and the row array would then reserve 8 KiB a cell (39 instead of 14 MiB peak RSS,
-- docs/performance.md). The bounds hold the widest value of each type with room to
-- spare (uuid 36; timestamp with microseconds, offset and a 6-digit year 34; bigint 20;
-- numeric(14,2) 16), so the casts never cut anything.
-- No column is a bare table column, not even principal_type (varchar(20) of the fact
-- table): a cast to its own type is dropped by the server, which then names the table
-- column as the result column's origin, and psqlODBC answers SQLDescribeCol for such a
-- column with a catalog query of its own (pg_attribute of the fact table: one more round
-- trip, 1.1-1.8 ms on the server per run). Hence varchar(24), a real length coercion.
WITH runs AS MATERIALIZED (
    SELECT u.run_id, u.ord, r.period_start, r.period_end,
           dyno_crm.dynoreport_iso8601(r.period_start) AS start_text,
           dyno_crm.dynoreport_iso8601(r.period_end) AS end_text
    FROM unnest(:run_ids::uuid[]) WITH ORDINALITY AS u(run_id, ord)
    LEFT JOIN dyno_crm.report_run r ON r.id = u.run_id
)
SELECT f.run_id::varchar(36), f.tenant_id::varchar(36), (f.principal_type)::varchar(24),
       f.principal_id::varchar(36),
       (CASE WHEN f.period_start = u.period_start THEN u.start_text
             ELSE dyno_crm.dynoreport_iso8601(f.period_start) END)::varchar(48),
       (CASE WHEN f.period_end = u.period_end THEN u.end_text
             ELSE dyno_crm.dynoreport_iso8601(f.period_end) END)::varchar(48),
       f.deals_created_count::varchar(24), f.deals_closed_won_count::varchar(24),
       f.deals_closed_lost_count::varchar(24), f.total_amount_won::varchar(24),
       f.avg_deal_size_won::varchar(24), f.avg_time_to_close_days::varchar(24),
       f.win_rate::varchar(24)
FROM runs u
JOIN dyno_crm.report_rep_performance_fact f ON f.run_id = u.run_id
ORDER BY u.ord, f.principal_type, f.principal_id
