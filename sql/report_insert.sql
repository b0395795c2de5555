-- Representative Performance: every fact row of one run in one set-based statement.
-- Named parameters (:name) are turned into bound ODBC markers by the runner:
--   :run_id :tenant :period_start :period_end (timestamptz text with offset)
--   :principals  NULL for --all-principals, else a comma list of TYPE:uuid
-- No leading CTE on the INSERT (psqlODBC cursor mode), no semicolons, no
-- comments after code on a line (the build strips whole comment lines only).
-- A close is the earliest current terminal stage entry of the tenant in the period;
-- ties on entered_at are broken won-first, then by pipeline_stage_id, so the result is
-- deterministic. Owner = assignee counts once (the assignee slot is emptied then).
INSERT INTO dyno_crm.report_rep_performance_fact (
    run_id, tenant_id, principal_type, principal_id, period_start, period_end,
    deals_created_count, deals_closed_won_count, deals_closed_lost_count,
    total_amount_won, avg_deal_size_won, avg_time_to_close_days, win_rate)
WITH created AS (
    SELECT d.id, d.amount, d.created_at,
           d.owned_by_user_id, d.assigned_user_id, d.owned_by_group_id, d.assigned_group_id
    FROM dyno_crm.deal d
    WHERE d.tenant_id = :tenant::uuid
      AND d.created_at >= :period_start::timestamptz
      AND d.created_at < :period_end::timestamptz
),
closes AS (
    SELECT DISTINCT ON (s.deal_id)
           s.deal_id, s.entered_at AS closed_at, ps.stage_state = 'DONE_SUCCESS' AS won
    FROM dyno_crm.deal_pipeline_stage_state s
    JOIN dyno_crm.pipeline_stage ps ON ps.id = s.pipeline_stage_id
    WHERE s.tenant_id = :tenant::uuid
      AND s.is_current = true
      AND ps.stage_state IN ('DONE_SUCCESS', 'DONE_FAILED')
      AND s.entered_at >= :period_start::timestamptz
      AND s.entered_at < :period_end::timestamptz
    ORDER BY s.deal_id, s.entered_at, (ps.stage_state = 'DONE_SUCCESS') DESC, s.pipeline_stage_id
),
requested AS (
    SELECT DISTINCT split_part(p.token, ':', 1)::varchar(20) AS principal_type,
                    split_part(p.token, ':', 2)::uuid AS principal_id
    FROM unnest(string_to_array(:principals::text, ',')) AS p(token)
),
attributed AS (
    SELECT a.principal_type, a.principal_id, c.amount, c.created_at, c.id AS deal_id
    FROM created c
    CROSS JOIN LATERAL (VALUES
        ('USER'::varchar(20), c.owned_by_user_id),
        ('USER'::varchar(20), CASE WHEN c.assigned_user_id IS DISTINCT FROM c.owned_by_user_id
                                   THEN c.assigned_user_id END),
        ('GROUP'::varchar(20), c.owned_by_group_id),
        ('GROUP'::varchar(20), CASE WHEN c.assigned_group_id IS DISTINCT FROM c.owned_by_group_id
                                    THEN c.assigned_group_id END)
    ) AS a(principal_type, principal_id)
    WHERE a.principal_id IS NOT NULL
      AND (:principals::text IS NULL
           OR (a.principal_type, a.principal_id) IN (SELECT principal_type, principal_id FROM requested))
),
metrics AS (
    SELECT a.principal_type, a.principal_id,
           count(*) AS created_count,
           count(*) FILTER (WHERE cl.won) AS won_count,
           count(*) FILTER (WHERE NOT cl.won) AS lost_count,
           sum(COALESCE(a.amount, 0)) FILTER (WHERE cl.won) AS won_amount,
           sum(extract(epoch FROM cl.closed_at - a.created_at)) AS close_seconds
    FROM attributed a
    LEFT JOIN closes cl ON cl.deal_id = a.deal_id
    GROUP BY a.principal_type, a.principal_id
),
targets AS (
    SELECT principal_type, principal_id FROM requested
    UNION
    SELECT principal_type, principal_id FROM metrics WHERE :principals::text IS NULL
)
SELECT :run_id::uuid, :tenant::uuid, t.principal_type, t.principal_id,
       :period_start::timestamptz, :period_end::timestamptz,
       COALESCE(m.created_count, 0),
       COALESCE(m.won_count, 0),
       COALESCE(m.lost_count, 0),
       COALESCE(m.won_amount, 0),
       round(m.won_amount / NULLIF(m.won_count, 0), 2),
       round(m.close_seconds / (NULLIF(m.won_count + m.lost_count, 0) * 86400), 4),
       round(m.won_count::numeric / NULLIF(m.won_count + m.lost_count, 0), 4)
FROM targets t
LEFT JOIN metrics m ON m.principal_type = t.principal_type AND m.principal_id = t.principal_id
