-- Representative Performance: every fact row of one run in one set-based statement.
-- Named parameters (:name) are turned into bound ODBC markers by core/odbc.c (run_store.c binds them):
--   :run_id :tenant :period_start :period_end (ISO 8601 text with offset, as
--   dynoreport_iso8601 wrote it; dynoreport_timestamptz reads it, years before 1 too)
--   :principals  NULL for --all-principals, else a comma list of TYPE:uuid
-- No leading CTE on the INSERT (psqlODBC cursor mode). The build embeds this one
-- statement with its comments removed (core/sqltext.c, core/tools/embed_sql.c).
-- A close is the earliest current terminal stage entry of the tenant in the period;
-- ties on entered_at are broken won-first, then by pipeline_stage_id, so the result is
-- deterministic. Owner = assignee counts once: the assignee slot is emptied then, so a
-- deal's four attribution slots are disjoint and the per-slot aggregates below simply add
-- up per principal (one hash aggregate per slot beats one row per (principal, deal) pair).
INSERT INTO dyno_crm.report_rep_performance_fact (
    run_id, tenant_id, principal_type, principal_id, period_start, period_end,
    deals_created_count, deals_closed_won_count, deals_closed_lost_count,
    total_amount_won, avg_deal_size_won, avg_time_to_close_days, win_rate)
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
deals AS MATERIALIZED (
    SELECT c.owned_by_user_id AS owner_user,
           CASE WHEN c.assigned_user_id IS DISTINCT FROM c.owned_by_user_id
                THEN c.assigned_user_id END AS assignee_user,
           c.owned_by_group_id AS owner_group,
           CASE WHEN c.assigned_group_id IS DISTINCT FROM c.owned_by_group_id
                THEN c.assigned_group_id END AS assignee_group,
           cl.won,
           CASE WHEN cl.won THEN COALESCE(c.amount, 0) END AS won_amount,
           extract(epoch FROM cl.closed_at - c.created_at) AS close_seconds
    FROM created c
    LEFT JOIN closes cl ON cl.deal_id = c.id
),
slots AS (
    SELECT 'USER'::varchar(20) AS principal_type, owner_user AS principal_id,
           count(*) AS created_count, count(*) FILTER (WHERE won) AS won_count,
           count(*) FILTER (WHERE NOT won) AS lost_count,
           sum(won_amount) AS won_amount, sum(close_seconds) AS close_seconds
    FROM deals WHERE owner_user IS NOT NULL GROUP BY owner_user
    UNION ALL
    SELECT 'USER'::varchar(20), assignee_user, count(*), count(*) FILTER (WHERE won),
           count(*) FILTER (WHERE NOT won), sum(won_amount), sum(close_seconds)
    FROM deals WHERE assignee_user IS NOT NULL GROUP BY assignee_user
    UNION ALL
    SELECT 'GROUP'::varchar(20), owner_group, count(*), count(*) FILTER (WHERE won),
           count(*) FILTER (WHERE NOT won), sum(won_amount), sum(close_seconds)
    FROM deals WHERE owner_group IS NOT NULL GROUP BY owner_group
    UNION ALL
    SELECT 'GROUP'::varchar(20), assignee_group, count(*), count(*) FILTER (WHERE won),
           count(*) FILTER (WHERE NOT won), sum(won_amount), sum(close_seconds)
    FROM deals WHERE assignee_group IS NOT NULL GROUP BY assignee_group
),
metrics AS (
    SELECT s.principal_type, s.principal_id,
           sum(s.created_count)::bigint AS created_count,
           sum(s.won_count)::bigint AS won_count,
           sum(s.lost_count)::bigint AS lost_count,
           sum(s.won_amount) AS won_amount,
           sum(s.close_seconds) AS close_seconds
    FROM slots s
    WHERE :principals::text IS NULL
       OR (s.principal_type, s.principal_id) IN (SELECT principal_type, principal_id FROM requested)
    GROUP BY s.principal_type, s.principal_id
),
targets AS (
    SELECT principal_type, principal_id FROM requested
    UNION
    SELECT principal_type, principal_id FROM metrics WHERE :principals::text IS NULL
)
SELECT :run_id::uuid, :tenant::uuid, t.principal_type, t.principal_id,
       dyno_crm.dynoreport_timestamptz(:period_start), dyno_crm.dynoreport_timestamptz(:period_end),
       COALESCE(m.created_count, 0),
       COALESCE(m.won_count, 0),
       COALESCE(m.lost_count, 0),
       COALESCE(m.won_amount, 0),
       round(m.won_amount / NULLIF(m.won_count, 0), 2),
       round(m.close_seconds / (NULLIF(m.won_count + m.lost_count, 0) * 86400), 4),
       round(m.won_count::numeric / NULLIF(m.won_count + m.lost_count, 0), 4)
FROM targets t
LEFT JOIN metrics m ON m.principal_type = t.principal_type AND m.principal_id = t.principal_id
