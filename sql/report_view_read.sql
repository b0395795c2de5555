-- Read runs back as reports for people (plugins that ask for the view, ABI 1.2), one or
-- more at once (:run_ids, an array literal; a job's batch reads all its runs with this
-- one statement): for each run in the array's order, its fact rows in the contract's
-- order, then the principals of its comparison period that have no row now ("gone",
-- metrics 0), then one total row per principal type; each row with the 13 fact columns
-- as report_read.sql writes them (the first is the run id), then row_kind,
-- principal_name (the stored name, else a marked fallback), rank (by amount won, then
-- deals won, name, id; within the run and principal type), is_new, and the comparison
-- period's deals created, won, amount won and win rate. A run's comparison is the run
-- whose comparison_for is its id. The period bounds are written as text once per run (a
-- fact row's bounds are its run's; dynoreport_iso8601 per row cost 13 ms for 550 rows).
WITH runs AS (
    SELECT u.ord, r.id AS run_id, r.tenant_id, r.period_start, r.period_end, c.id AS cmp_id,
           dyno_crm.dynoreport_iso8601(r.period_start) AS start_text,
           dyno_crm.dynoreport_iso8601(r.period_end) AS end_text
    FROM unnest(:run_ids::uuid[]) WITH ORDINALITY AS u(run_id, ord)
    JOIN dyno_crm.report_run r ON r.id = u.run_id
    LEFT JOIN dyno_crm.report_run c ON c.comparison_for = u.run_id
),
cur AS (
    SELECT s.ord, s.cmp_id, f.*
    FROM runs s JOIN dyno_crm.report_rep_performance_fact f ON f.run_id = s.run_id
),
prev AS (
    SELECT s.ord, f.*
    FROM runs s JOIN dyno_crm.report_rep_performance_fact f ON f.run_id = s.cmp_id
),
body AS (
    SELECT 0 AS part, c.ord, c.run_id, c.tenant_id, c.principal_type, c.principal_id,
           c.period_start, c.period_end, c.deals_created_count, c.deals_closed_won_count,
           c.deals_closed_lost_count, c.total_amount_won, c.avg_deal_size_won,
           c.avg_time_to_close_days, c.win_rate, 'principal'::text AS row_kind,
           CASE WHEN c.cmp_id IS NULL THEN NULL ELSE p.principal_id IS NULL END AS is_new,
           p.deals_created_count AS prev_created, p.deals_closed_won_count AS prev_won,
           p.total_amount_won AS prev_amount, p.win_rate AS prev_win_rate
    FROM cur c
    LEFT JOIN prev p ON p.ord = c.ord AND p.principal_type = c.principal_type
                    AND p.principal_id = c.principal_id
    UNION ALL
    SELECT 1, s.ord, s.run_id, s.tenant_id, p.principal_type, p.principal_id, s.period_start, s.period_end,
           0, 0, 0, 0.00, NULL, NULL, NULL, 'gone', false,
           p.deals_created_count, p.deals_closed_won_count, p.total_amount_won, p.win_rate
    FROM prev p JOIN runs s ON s.ord = p.ord
    WHERE NOT EXISTS (SELECT 1 FROM cur c
                       WHERE c.ord = p.ord AND c.principal_type = p.principal_type
                         AND c.principal_id = p.principal_id)
),
named AS (
    SELECT b.*,
           COALESCE(n.name, '[' || CASE b.principal_type WHEN 'USER' THEN 'user' ELSE 'team' END
                            || ' ' || left(b.principal_id::text, 8) || ']') AS principal_name
    FROM body b
    LEFT JOIN dyno_crm.report_run_principal_name n
           ON n.run_id = b.run_id AND n.principal_type = b.principal_type
          AND n.principal_id = b.principal_id
),
ranked AS (
    SELECT n.*, row_number() OVER (PARTITION BY n.ord, n.principal_type
                                   ORDER BY n.total_amount_won DESC, n.deals_closed_won_count DESC,
                                            n.principal_name, n.principal_id) AS rank
    FROM named n
    UNION ALL
    SELECT 2, s.ord, t.run_id, t.tenant_id, t.principal_type, NULL::uuid, s.period_start, s.period_end,
           t.deals_created_count, t.deals_closed_won_count, t.deals_closed_lost_count,
           t.total_amount_won, t.avg_deal_size_won, t.avg_time_to_close_days, t.win_rate,
           'total', NULL::boolean,
           pt.deals_created_count, pt.deals_closed_won_count, pt.total_amount_won, pt.win_rate,
           CASE t.principal_type WHEN 'USER' THEN 'All reps' ELSE 'All teams' END, NULL::bigint
    FROM runs s
    JOIN dyno_crm.report_run_total t ON t.run_id = s.run_id
    LEFT JOIN dyno_crm.report_run_total pt
           ON pt.run_id = s.cmp_id AND pt.principal_type = t.principal_type
)
SELECT r.run_id::varchar(36), r.tenant_id::varchar(36), r.principal_type,
       r.principal_id::varchar(36),
       (CASE WHEN r.period_start = s.period_start THEN s.start_text
             ELSE dyno_crm.dynoreport_iso8601(r.period_start) END)::varchar(48),
       (CASE WHEN r.period_end = s.period_end THEN s.end_text
             ELSE dyno_crm.dynoreport_iso8601(r.period_end) END)::varchar(48),
       r.deals_created_count::varchar(24), r.deals_closed_won_count::varchar(24),
       r.deals_closed_lost_count::varchar(24), r.total_amount_won::varchar(24),
       r.avg_deal_size_won::varchar(24), r.avg_time_to_close_days::varchar(24),
       r.win_rate::varchar(24),
       r.row_kind::varchar(16), r.principal_name::varchar(512), r.rank::varchar(24),
       r.is_new::varchar(8), r.prev_created::varchar(24), r.prev_won::varchar(24),
       r.prev_amount::varchar(24), r.prev_win_rate::varchar(24)
FROM ranked r
JOIN runs s ON s.ord = r.ord
ORDER BY r.ord, r.part, r.principal_type, r.principal_id
