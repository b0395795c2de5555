-- The honest totals of one run, one row per principal type present in its facts: the
-- tenant's deals created in the period that are attributed to at least one of the run's
-- principals of that type, each deal once (a deal of an owner and a different assignee,
-- or of two teams, is in two fact rows but in the total once). Same semantics as
-- report_insert.sql for creation, close (earliest current terminal stage in the period,
-- won first on ties), amounts and averages. Parameters as report_insert.sql.
INSERT INTO dyno_crm.report_run_total (
    run_id, tenant_id, principal_type, deals_created_count, deals_closed_won_count,
    deals_closed_lost_count, total_amount_won, avg_deal_size_won, avg_time_to_close_days,
    win_rate)
WITH created AS (
    SELECT d.id, d.amount, d.created_at,
           d.owned_by_user_id, d.assigned_user_id, d.owned_by_group_id, d.assigned_group_id
    FROM dyno_crm.deal d
    WHERE d.tenant_id = :tenant::uuid
      AND d.created_at >= dyno_crm.dynoreport_timestamptz(:period_start)
      AND d.created_at < dyno_crm.dynoreport_timestamptz(:period_end)
),
closes AS (
    SELECT DISTINCT ON (s.deal_id)
           s.deal_id, s.entered_at AS closed_at, ps.stage_state = 'DONE_SUCCESS' AS won
    FROM dyno_crm.deal_pipeline_stage_state s
    JOIN dyno_crm.pipeline_stage ps ON ps.id = s.pipeline_stage_id
    WHERE s.tenant_id = :tenant::uuid
      AND s.is_current = true
      AND ps.stage_state IN ('DONE_SUCCESS', 'DONE_FAILED')
      AND s.entered_at >= dyno_crm.dynoreport_timestamptz(:period_start)
      AND s.entered_at < dyno_crm.dynoreport_timestamptz(:period_end)
    ORDER BY s.deal_id, s.entered_at, (ps.stage_state = 'DONE_SUCCESS') DESC, s.pipeline_stage_id
),
requested AS (
    SELECT DISTINCT split_part(p.token, ':', 1)::varchar(20) AS principal_type,
                    split_part(p.token, ':', 2)::uuid AS principal_id
    FROM unnest(string_to_array(:principals::text, ',')) AS p(token)
),
attributed AS (
    SELECT 'USER'::varchar(20) AS principal_type, c.id, c.amount, c.created_at
    FROM created c
    WHERE (:principals::text IS NULL AND (c.owned_by_user_id IS NOT NULL OR c.assigned_user_id IS NOT NULL))
       OR c.owned_by_user_id IN (SELECT r.principal_id FROM requested r WHERE r.principal_type = 'USER')
       OR c.assigned_user_id IN (SELECT r.principal_id FROM requested r WHERE r.principal_type = 'USER')
    UNION ALL
    SELECT 'GROUP'::varchar(20), c.id, c.amount, c.created_at
    FROM created c
    WHERE (:principals::text IS NULL AND (c.owned_by_group_id IS NOT NULL OR c.assigned_group_id IS NOT NULL))
       OR c.owned_by_group_id IN (SELECT r.principal_id FROM requested r WHERE r.principal_type = 'GROUP')
       OR c.assigned_group_id IN (SELECT r.principal_id FROM requested r WHERE r.principal_type = 'GROUP')
),
metrics AS (
    SELECT a.principal_type, count(*) AS created_count,
           count(*) FILTER (WHERE cl.won) AS won_count,
           count(*) FILTER (WHERE NOT cl.won) AS lost_count,
           sum(CASE WHEN cl.won THEN COALESCE(a.amount, 0) END) AS won_amount,
           sum(extract(epoch FROM cl.closed_at - a.created_at)) AS close_seconds
    FROM attributed a
    LEFT JOIN closes cl ON cl.deal_id = a.id
    GROUP BY a.principal_type
),
present AS (
    SELECT DISTINCT f.principal_type
    FROM dyno_crm.report_rep_performance_fact f
    WHERE f.run_id = :run_id::uuid
)
SELECT :run_id::uuid, :tenant::uuid, t.principal_type,
       COALESCE(m.created_count, 0), COALESCE(m.won_count, 0), COALESCE(m.lost_count, 0),
       COALESCE(m.won_amount, 0),
       round(m.won_amount / NULLIF(m.won_count, 0), 2),
       round(m.close_seconds / (NULLIF(m.won_count + m.lost_count, 0) * 86400), 4),
       round(m.won_count::numeric / NULLIF(m.won_count + m.lost_count, 0), 4)
FROM present t
LEFT JOIN metrics m ON m.principal_type = t.principal_type
