-- Read a run back as a report for people (plugins that ask for the view, ABI 1.2): the
-- fact rows in the contract's order, then the principals of the comparison period that
-- have no row now ("gone", metrics 0), then one total row per principal type; each row
-- with the 13 fact columns as report_read.sql writes them, then row_kind, principal_name
-- (the stored name, else a marked fallback), rank (by amount won, then deals won, name,
-- id; within the principal type), is_new, and the comparison period's deals created, won,
-- amount won and win rate. The comparison is the run whose comparison_for is :run_id.
WITH cmp AS (
    SELECT r.id FROM dyno_crm.report_run r WHERE r.comparison_for = :run_id::uuid
),
hdr AS (
    SELECT r.id, r.tenant_id, r.period_start, r.period_end
    FROM dyno_crm.report_run r WHERE r.id = :run_id::uuid
),
cur AS (
    SELECT f.* FROM dyno_crm.report_rep_performance_fact f WHERE f.run_id = :run_id::uuid
),
prev AS (
    SELECT f.* FROM dyno_crm.report_rep_performance_fact f WHERE f.run_id = (SELECT id FROM cmp)
),
body AS (
    SELECT 0 AS part, c.run_id, c.tenant_id, c.principal_type, c.principal_id,
           c.period_start, c.period_end, c.deals_created_count, c.deals_closed_won_count,
           c.deals_closed_lost_count, c.total_amount_won, c.avg_deal_size_won,
           c.avg_time_to_close_days, c.win_rate, 'principal'::text AS row_kind,
           CASE WHEN (SELECT id FROM cmp) IS NULL THEN NULL ELSE p.principal_id IS NULL END AS is_new,
           p.deals_created_count AS prev_created, p.deals_closed_won_count AS prev_won,
           p.total_amount_won AS prev_amount, p.win_rate AS prev_win_rate
    FROM cur c
    LEFT JOIN prev p ON p.principal_type = c.principal_type AND p.principal_id = c.principal_id
    UNION ALL
    SELECT 1, h.id, h.tenant_id, p.principal_type, p.principal_id, h.period_start, h.period_end,
           0, 0, 0, 0.00, NULL, NULL, NULL, 'gone', false,
           p.deals_created_count, p.deals_closed_won_count, p.total_amount_won, p.win_rate
    FROM prev p CROSS JOIN hdr h
    WHERE NOT EXISTS (SELECT 1 FROM cur c
                       WHERE c.principal_type = p.principal_type AND c.principal_id = p.principal_id)
),
named AS (
    SELECT b.*,
           COALESCE(n.name, '[' || CASE b.principal_type WHEN 'USER' THEN 'user' ELSE 'team' END
                            || ' ' || left(b.principal_id::text, 8) || ']') AS principal_name
    FROM body b
    LEFT JOIN dyno_crm.report_run_principal_name n
           ON n.run_id = :run_id::uuid AND n.principal_type = b.principal_type
          AND n.principal_id = b.principal_id
),
ranked AS (
    SELECT n.*, row_number() OVER (PARTITION BY n.principal_type
                                   ORDER BY n.total_amount_won DESC, n.deals_closed_won_count DESC,
                                            n.principal_name, n.principal_id) AS rank
    FROM named n
    UNION ALL
    SELECT 2, t.run_id, t.tenant_id, t.principal_type, NULL::uuid, h.period_start, h.period_end,
           t.deals_created_count, t.deals_closed_won_count, t.deals_closed_lost_count,
           t.total_amount_won, t.avg_deal_size_won, t.avg_time_to_close_days, t.win_rate,
           'total', NULL::boolean,
           pt.deals_created_count, pt.deals_closed_won_count, pt.total_amount_won, pt.win_rate,
           CASE t.principal_type WHEN 'USER' THEN 'All reps' ELSE 'All teams' END, NULL::bigint
    FROM dyno_crm.report_run_total t
    CROSS JOIN hdr h
    LEFT JOIN dyno_crm.report_run_total pt
           ON pt.run_id = (SELECT id FROM cmp) AND pt.principal_type = t.principal_type
    WHERE t.run_id = :run_id::uuid
)
SELECT r.run_id::varchar(36), r.tenant_id::varchar(36), r.principal_type,
       r.principal_id::varchar(36),
       dyno_crm.dynoreport_iso8601(r.period_start)::varchar(48),
       dyno_crm.dynoreport_iso8601(r.period_end)::varchar(48),
       r.deals_created_count::varchar(24), r.deals_closed_won_count::varchar(24),
       r.deals_closed_lost_count::varchar(24), r.total_amount_won::varchar(24),
       r.avg_deal_size_won::varchar(24), r.avg_time_to_close_days::varchar(24),
       r.win_rate::varchar(24),
       r.row_kind::varchar(16), r.principal_name::varchar(512), r.rank::varchar(24),
       r.is_new::varchar(8), r.prev_created::varchar(24), r.prev_won::varchar(24),
       r.prev_amount::varchar(24), r.prev_win_rate::varchar(24)
FROM ranked r
ORDER BY r.part, r.principal_type, r.principal_id
