-- dynoreport schema version 11: the report query of version 10 with less in its way on two
-- cores (sql/migrations/010_report_rows_parallel.sql says how the two halves run at once).
--   * A call for one tenant launches at most one parallel worker (max_parallel_workers
--     lowered to 1 for the transaction when it is higher, and only while the leader takes
--     part in parallel plans, parallel_leader_participation on, the default): the plan
--     still has two workers, but the leader takes one of the two halves itself and the
--     first worker the other, so a second worker only starts to find nothing left. On the
--     machine's two cores its start took the CPU from the two that work: the month of the
--     1M-deal benchmark tenant, first call of a fresh session, 74 -> 66 ms (median of 30
--     paired sessions). Never raised: a server or role with max_parallel_workers 0 or 1
--     keeps its value.
--   * The closed half joins the created deals to their stage entries by hashing the deal's
--     id alone (a uuid), and compares the tenants of a matched pair after the match
--     (the same rows: a stage row counts for the deal of its own tenant only): hashing two
--     uuids per row for 45,000 entries and 82,000 deals cost 4 ms more in that month.
-- The rows are the same as version 10's (compared on the benchmark data for tenants,
-- periods and principal lists).
--
-- Function-only, like 004, 006, 007, 009 and 010: `db init` runs it again when the
-- function it defines is missing or was changed (sql/schema_objects_check.sql names it,
-- with the fingerprint of its body: change both together). dynoreport_report_store (007)
-- calls it.

-- Every number of one period for each tenant of p_tenants, without storing anything (the
-- benchmark's bare report SELECT calls it too): one row per tenant and principal
-- (is_total false) and one total per tenant and principal type present (is_total true,
-- principal_id NULL: the tenant's deals attributed to at least one principal of the run
-- of that type, each deal once). Tenants are apart throughout: a stage row counts for the
-- deal of its own tenant only.
-- p_principals: NULL for all principals, else a comma list of TYPE:uuid (each of them gets
-- a row for each tenant, with zeros when it has no deals there). Semantics (docs/metrics.md):
-- a deal is created in the period when created_at is in [p_start, p_end); its close is the
-- earliest current terminal stage entry of the tenant in the same period, won when a won
-- stage was entered at that earliest time; owner = assignee counts once (the assignee slot
-- is emptied then), so a deal's four attribution slots are disjoint and the slot rows add
-- up per principal.
-- No nested loop (enable_nestloop = off): when the planner underestimates the period's
-- closes (a pipeline_stage never analysed gave 222 for 31,502) it would otherwise look
-- each close's deal up by its key, a nested loop that took 140 ms for 2,000 tenants where
-- a hash join takes 30.
-- A type's total takes each deal once: the deals of its owner slots whose owner is a
-- principal of the run, and the deals of its assignee slots whose assignee is one and whose
-- owner is not (the assignee grouping set keeps that flag, owner_out).
-- work_mem is raised to 32MB for the rest of the transaction when it is lower (the hashes
-- of a month of a large tenant stay in memory), never lowered; jit is off for the call
-- (compiling the expressions costs more than this query runs). The two halves (parts) may
-- run at once, one in a parallel worker and one in the leader, as the server's settings
-- allow (see the top).
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_report_rows(
    p_tenants uuid[], p_start timestamptz, p_end timestamptz, p_principals text)
    RETURNS TABLE (tenant_id uuid, is_total boolean, principal_type varchar(20), principal_id uuid,
                   deals_created_count bigint, deals_closed_won_count bigint,
                   deals_closed_lost_count bigint, total_amount_won numeric,
                   avg_deal_size_won numeric, avg_time_to_close_days numeric, win_rate numeric)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    SET enable_nestloop = off
    SET parallel_tuple_cost = 0.01
    SET min_parallel_index_scan_size = '1TB'
    SET plan_cache_mode = force_custom_plan
    AS $fn$
#variable_conflict use_column
DECLARE
    -- the principals of the list by type, for the total's flags (an array, not a reference
    -- to the requested CTE: a CTE scan would keep the two halves out of a parallel plan)
    v_users uuid[] := ARRAY(SELECT split_part(p.token, ':', 2)::uuid
                            FROM unnest(string_to_array(p_principals, ',')) AS p(token)
                            WHERE split_part(p.token, ':', 1) = 'USER');
    v_groups uuid[] := ARRAY(SELECT split_part(p.token, ':', 2)::uuid
                             FROM unnest(string_to_array(p_principals, ',')) AS p(token)
                             WHERE split_part(p.token, ':', 1) = 'GROUP');
BEGIN
    IF pg_size_bytes(current_setting('work_mem')) < 32 * 1024 * 1024 THEN
        PERFORM set_config('work_mem', '32MB', true);
    END IF;
    -- a batch of tenants is a job's, which spreads its batches over its own connections
    -- (--jobs): parallel workers would contend with those for the same cores. Lowered for
    -- the rest of the transaction (the batch's), never raised.
    IF cardinality(p_tenants) > 1 AND current_setting('max_parallel_workers_per_gather')::int > 0 THEN
        PERFORM set_config('max_parallel_workers_per_gather', '0', true);
    END IF;
    -- one tenant: the two halves need one worker, the leader runs the other half. A second
    -- worker would only start to find nothing left, and on a two-core machine its start
    -- takes the CPU from the two that work. Lowered for the transaction, never raised, and
    -- not when the leader takes no part (parallel_leader_participation off).
    IF cardinality(p_tenants) = 1 AND current_setting('parallel_leader_participation')::boolean
       AND current_setting('max_parallel_workers')::int > 1 THEN
        PERFORM set_config('max_parallel_workers', '1', true);
    END IF;
    RETURN QUERY
    WITH requested AS (
        SELECT DISTINCT split_part(p.token, ':', 1)::varchar(20) AS principal_type,
                        split_part(p.token, ':', 2)::uuid AS principal_id
        FROM unnest(string_to_array(p_principals, ',')) AS p(token)
    ),
    -- one row per deal created and closed in the period, with its close: the deals joined
    -- to their current terminal stage entries of the period first (a period's closes are
    -- mostly of deals created before it), one row per deal kept by hashing after the join
    closed AS (
        SELECT d.tenant_id, d.amount, d.created_at, d.owned_by_user_id, d.assigned_user_id,
               d.owned_by_group_id, d.assigned_group_id, min(s.entered_at) AS closed_at,
               COALESCE(min(s.entered_at) FILTER (WHERE ps.stage_state = 'DONE_SUCCESS')
                        = min(s.entered_at), false) AS won
        FROM dyno_crm.deal d
        -- hashed on the deal's id alone (a uuid); the tenants are compared after the match
        JOIN dyno_crm.deal_pipeline_stage_state s ON s.deal_id = d.id AND (s.tenant_id = d.tenant_id) IS TRUE
        JOIN dyno_crm.pipeline_stage ps ON ps.id = s.pipeline_stage_id
        WHERE d.tenant_id = ANY (p_tenants) AND d.created_at >= p_start AND d.created_at < p_end
          AND s.tenant_id = ANY (p_tenants) AND s.is_current = true
          AND ps.stage_state IN ('DONE_SUCCESS', 'DONE_FAILED')
          AND s.entered_at >= p_start AND s.entered_at < p_end
        GROUP BY d.tenant_id, d.id, d.amount, d.created_at, d.owned_by_user_id, d.assigned_user_id,
                 d.owned_by_group_id, d.assigned_group_id
    ),
    -- per tenant and slot (GROUPING of the four slot columns: 7 owner user, 11 assignee
    -- user, 13 owner team, 14 assignee team): the deals created, then those closed
    parts AS MATERIALIZED (
      SELECT * FROM (
        SELECT d.tenant_id,
               GROUPING(d.owned_by_user_id,
                        CASE WHEN d.assigned_user_id IS DISTINCT FROM d.owned_by_user_id THEN d.assigned_user_id END,
                        d.owned_by_group_id,
                        CASE WHEN d.assigned_group_id IS DISTINCT FROM d.owned_by_group_id THEN d.assigned_group_id END)
                   AS slot,
               d.owned_by_user_id AS owner_user,
               CASE WHEN d.assigned_user_id IS DISTINCT FROM d.owned_by_user_id THEN d.assigned_user_id END
                   AS assignee_user,
               CASE WHEN p_principals IS NULL THEN d.owned_by_user_id IS NULL
                    ELSE (d.owned_by_user_id = ANY (v_users)) IS NOT TRUE END AS owner_user_out,
               d.owned_by_group_id AS owner_group,
               CASE WHEN d.assigned_group_id IS DISTINCT FROM d.owned_by_group_id THEN d.assigned_group_id END
                   AS assignee_group,
               CASE WHEN p_principals IS NULL THEN d.owned_by_group_id IS NULL
                    ELSE (d.owned_by_group_id = ANY (v_groups)) IS NOT TRUE END AS owner_group_out,
               count(*) AS created_count, 0::bigint AS won_count, 0::bigint AS lost_count,
               NULL::numeric AS won_amount, NULL::numeric AS close_seconds
        FROM dyno_crm.deal d
        WHERE d.tenant_id = ANY (p_tenants) AND d.created_at >= p_start AND d.created_at < p_end
        GROUP BY GROUPING SETS ((1, 3), (1, 4, 5), (1, 6), (1, 7, 8))
        UNION ALL
        SELECT c.tenant_id,
               GROUPING(c.owned_by_user_id,
                        CASE WHEN c.assigned_user_id IS DISTINCT FROM c.owned_by_user_id THEN c.assigned_user_id END,
                        c.owned_by_group_id,
                        CASE WHEN c.assigned_group_id IS DISTINCT FROM c.owned_by_group_id THEN c.assigned_group_id END),
               c.owned_by_user_id,
               CASE WHEN c.assigned_user_id IS DISTINCT FROM c.owned_by_user_id THEN c.assigned_user_id END,
               CASE WHEN p_principals IS NULL THEN c.owned_by_user_id IS NULL
                    ELSE (c.owned_by_user_id = ANY (v_users)) IS NOT TRUE END,
               c.owned_by_group_id,
               CASE WHEN c.assigned_group_id IS DISTINCT FROM c.owned_by_group_id THEN c.assigned_group_id END,
               CASE WHEN p_principals IS NULL THEN c.owned_by_group_id IS NULL
                    ELSE (c.owned_by_group_id = ANY (v_groups)) IS NOT TRUE END,
               0::bigint, count(*) FILTER (WHERE c.won), count(*) FILTER (WHERE NOT c.won),
               sum(CASE WHEN c.won THEN COALESCE(c.amount, 0) END),
               sum(extract(epoch FROM c.closed_at - c.created_at))
        FROM closed c
        GROUP BY GROUPING SETS ((1, 3), (1, 4, 5), (1, 6), (1, 7, 8))
      ) halves
    ),
    -- the slot rows of the run's principals (all, or those requested)
    chosen AS (
        SELECT s.*
        FROM (
            SELECT x.tenant_id,
                   CASE WHEN x.slot IN (7, 11) THEN 'USER' ELSE 'GROUP' END::varchar(20) AS principal_type,
                   CASE x.slot WHEN 7 THEN x.owner_user WHEN 11 THEN x.assignee_user
                               WHEN 13 THEN x.owner_group ELSE x.assignee_group END AS principal_id,
                   CASE x.slot WHEN 11 THEN x.owner_user_out WHEN 14 THEN x.owner_group_out
                               ELSE true END AS in_total,
                   x.created_count, x.won_count, x.lost_count, x.won_amount, x.close_seconds
            FROM parts x
        ) s
        WHERE s.principal_id IS NOT NULL
          AND (p_principals IS NULL
               OR (s.principal_type, s.principal_id) IN (SELECT r.principal_type, r.principal_id FROM requested r))
    ),
    metrics AS (
        SELECT s.tenant_id, s.principal_type, s.principal_id,
               sum(s.created_count)::bigint AS created_count, sum(s.won_count)::bigint AS won_count,
               sum(s.lost_count)::bigint AS lost_count, sum(s.won_amount) AS won_amount,
               sum(s.close_seconds) AS close_seconds
        FROM chosen s
        GROUP BY s.tenant_id, s.principal_type, s.principal_id
    ),
    totals AS (
        SELECT s.tenant_id, s.principal_type,
               sum(s.created_count)::bigint AS created_count, sum(s.won_count)::bigint AS won_count,
               sum(s.lost_count)::bigint AS lost_count, sum(s.won_amount) AS won_amount,
               sum(s.close_seconds) AS close_seconds
        FROM chosen s
        WHERE s.in_total
        GROUP BY s.tenant_id, s.principal_type
    ),
    targets AS (
        SELECT t.tenant_id, r.principal_type, r.principal_id
        FROM requested r CROSS JOIN unnest(p_tenants) AS t(tenant_id)
        UNION
        SELECT m.tenant_id, m.principal_type, m.principal_id FROM metrics m WHERE p_principals IS NULL
    ),
    present AS (
        SELECT DISTINCT t.tenant_id, t.principal_type FROM targets t
    )
    SELECT t.tenant_id, false, t.principal_type, t.principal_id,
           COALESCE(m.created_count, 0), COALESCE(m.won_count, 0), COALESCE(m.lost_count, 0),
           COALESCE(m.won_amount, 0),
           round(m.won_amount / NULLIF(m.won_count, 0), 2),
           round(m.close_seconds / (NULLIF(m.won_count + m.lost_count, 0) * 86400), 4),
           round(m.won_count::numeric / NULLIF(m.won_count + m.lost_count, 0), 4)
    FROM targets t
    LEFT JOIN metrics m ON m.tenant_id = t.tenant_id AND m.principal_type = t.principal_type
                       AND m.principal_id = t.principal_id
    UNION ALL
    SELECT p.tenant_id, true, p.principal_type, NULL::uuid,
           COALESCE(x.created_count, 0), COALESCE(x.won_count, 0), COALESCE(x.lost_count, 0),
           COALESCE(x.won_amount, 0),
           round(x.won_amount / NULLIF(x.won_count, 0), 2),
           round(x.close_seconds / (NULLIF(x.won_count + x.lost_count, 0) * 86400), 4),
           round(x.won_count::numeric / NULLIF(x.won_count + x.lost_count, 0), 4)
    FROM present p
    LEFT JOIN totals x ON x.tenant_id = p.tenant_id AND x.principal_type = p.principal_type;
END
$fn$;
