-- The seed's per-principal report query (shared/seed/rep_performance_seed.txt, part B),
-- kept as the seed wrote it with only its two defects fixed (docs/performance.md):
--   * the missing ')' closing the terminal_stage_entries CTE is added;
--   * the redundant COALESCE(cd.close_ts, cd.created_at) is now cd.close_ts (a closed
--     deal always has a close_ts).
-- Its :name parameters are psql variables, interpolated as literals by the client, as
-- psycopg2 did for the seed's Python loop (one simple-protocol query, one round trip).
-- The outer SELECT only applies the fact table's column types (numeric(14,2),
-- numeric(10,4), numeric(5,4)), i.e. what the seed's INSERT into
-- report_rep_performance_fact stored, so its output can be compared with a run's rows.
SELECT principal_type, principal_id,
       deals_created_count, deals_closed_won_count, deals_closed_lost_count,
       total_amount_won::numeric(14,2), avg_deal_size_won::numeric(14,2),
       avg_time_to_close_days::numeric(10,4), win_rate::numeric(5,4)
FROM (
WITH attributed_deals AS (
    -- Deals created in the period and attributed to the principal
    SELECT d.id AS deal_id, d.amount, d.created_at
    FROM dyno_crm.deal d
    WHERE d.tenant_id = :'tenant_id'
        AND d.created_at >= :'period_start'
        AND d.created_at < :'period_end'
        AND (
            (:'principal_type' = 'USER'
                AND (d.owned_by_user_id = :'principal_id' OR d.assigned_user_id
= :'principal_id')
            )
            OR (
                (:'principal_type' = 'GROUP'
                    AND (d.owned_by_group_id = :'principal_id' OR d.assigned_group_id
= :'principal_id')
                )
            )
        )
    ),
    terminal_stage_entries AS (
        -- Find the earliest terminal stage entry for each deal within the period
        SELECT DISTINCT ON (dpss.deal_id)
            dpss.deal_id,
            dpss.entered_at AS close_ts,
            ps.stage_state
        FROM dyno_crm.deal_pipeline_stage_state dpss
        JOIN dyno_crm.pipeline_stage ps ON ps.id = dpss.pipeline_stage_id
        WHERE dpss.tenant_id = :'tenant_id'
            AND dpss.is_current = TRUE
            AND ps.stage_state IN ('DONE_SUCCESS', 'DONE_FAILED')
            AND dpss.entered_at >= :'period_start'
            AND dpss.entered_at < :'period_end'
        ORDER BY dpss.deal_id, dpss.entered_at
    ),
    closed_deals AS (
        SELECT
        ad.deal_id,
        ad.amount,
        ad.created_at,
        ts.close_ts,
        ts.stage_state
    FROM attributed_deals ad
    JOIN terminal_stage_entries ts ON ts.deal_id = ad.deal_id
),
created_ct AS (
    SELECT COUNT(*) AS deals_created_count
    FROM attributed_deals
),
closed_won AS (
    SELECT COUNT(*) AS won_count,
        COALESCE(SUM(COALESCE(cd.amount, 0)), 0) AS total_amount_won,
        CASE WHEN COUNT(*) > 0 THEN AVG(COALESCE(cd.amount, 0)) ELSE NULL
    END AS avg_deal_size_won
    FROM closed_deals cd
    WHERE cd.stage_state = 'DONE_SUCCESS'
),
closed_lost AS (
    SELECT COUNT(*) AS lost_count
    FROM closed_deals cd
    WHERE cd.stage_state = 'DONE_FAILED'
),
close_durations AS (
    SELECT
        COUNT(*) AS closed_count,
        CASE WHEN COUNT(*) > 0 THEN AVG(EXTRACT(EPOCH FROM
        (cd.close_ts - cd.created_at)) / 86400.0) ELSE NULL
    END AS avg_time_days
    FROM closed_deals cd
)
SELECT
    :'run_id' AS run_id,
    :'tenant_id' AS tenant_id,
    :'principal_type' AS principal_type,
    :'principal_id' AS principal_id,
    :'period_start' AS period_start,
    :'period_end' AS period_end,
    ct.deals_created_count,
    cw.won_count AS deals_closed_won_count,
    cl.lost_count AS deals_closed_lost_count,
    cw.total_amount_won,
    cw.avg_deal_size_won,
    cdur.avg_time_days AS avg_time_to_close_days,
    CASE WHEN (cw.won_count + cl.lost_count) > 0 THEN
        ROUND(cw.won_count::NUMERIC / (cw.won_count + cl.lost_count), 4)
        ELSE NULL
    END AS win_rate
FROM created_ct ct, closed_won cw, closed_lost cl, close_durations cdur
) AS seed;
