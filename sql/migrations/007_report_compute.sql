-- dynoreport schema version 7: the whole report of a run in one pass over the source.
-- A run stores fact rows and the honest totals, and with a comparison period the same for
-- that period (a run of its own). Version 6 did that with four statements, the totals
-- scanning the deals and closes of a period again after the facts had; here one
-- set-based SELECT per period computes its facts and totals from one scan
-- (dynoreport_report_rows), and one statement stores both periods
-- (dynoreport_report_store). They are functions because a statement that feeds two
-- INSERTs from one computation needs a top-level WITH with data-modifying parts, which
-- psqlODBC's cursor mode cannot send; a call through SELECT it can. PL/pgSQL plans the
-- query with the call's values (custom plans), as the bound statements of version 6 were.
-- Both take an array of tenants: a run passes its own, a job may pass a batch of tenants
-- that share the period (one scan of the index ranges of all of them, one statement).
--
-- This migration holds nothing but CREATE OR REPLACE FUNCTION: `db init` runs it again
-- when a function it defines is missing or was changed (sql/schema_objects_check.sql
-- names it, with a fingerprint of each body: change both together).

-- Every number of one period for each tenant of p_tenants, without storing anything (the
-- benchmark's bare report SELECT calls it too): one row per tenant and principal
-- (is_total false) and one total per tenant and principal type present (is_total true,
-- principal_id NULL: the tenant's deals attributed to at least one principal of the run
-- of that type, each deal once). Tenants are apart throughout: a stage row counts for
-- the deal of its own tenant only.
-- p_principals: NULL for all principals, else a comma list of TYPE:uuid (each of them
-- gets a row for each tenant, with zeros when it has no deals there). Semantics (docs/metrics.md): a deal is
-- created in the period when created_at is in [p_start, p_end); its close is the earliest
-- current terminal stage entry of the tenant in the same period, ties broken won first,
-- then by pipeline_stage_id; owner = assignee counts once (the assignee slot is emptied
-- then), so a deal's four attribution slots are disjoint and the per-slot aggregates add
-- up per principal (one hash aggregate per slot beats one row per (principal, deal) pair).
-- work_mem is raised to 32MB for the rest of the transaction when it is lower (the sort
-- of the closes and the materialized deals then stay in memory for a month of a large
-- tenant), never lowered; jit is off for the call: compiling the expressions costs more
-- than this query runs.
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_report_rows(
    p_tenants uuid[], p_start timestamptz, p_end timestamptz, p_principals text)
    RETURNS TABLE (tenant_id uuid, is_total boolean, principal_type varchar(20), principal_id uuid,
                   deals_created_count bigint, deals_closed_won_count bigint,
                   deals_closed_lost_count bigint, total_amount_won numeric,
                   avg_deal_size_won numeric, avg_time_to_close_days numeric, win_rate numeric)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    AS $fn$
#variable_conflict use_column
BEGIN
    IF pg_size_bytes(current_setting('work_mem')) < 32 * 1024 * 1024 THEN
        PERFORM set_config('work_mem', '32MB', true);
    END IF;
    RETURN QUERY
    WITH created AS (
        SELECT d.tenant_id, d.id, d.amount, d.created_at,
               d.owned_by_user_id, d.assigned_user_id, d.owned_by_group_id, d.assigned_group_id
        FROM dyno_crm.deal d
        WHERE d.tenant_id = ANY (p_tenants) AND d.created_at >= p_start AND d.created_at < p_end
    ),
    closes AS (
        SELECT DISTINCT ON (s.tenant_id, s.deal_id)
               s.tenant_id, s.deal_id, s.entered_at AS closed_at, ps.stage_state = 'DONE_SUCCESS' AS won
        FROM dyno_crm.deal_pipeline_stage_state s
        JOIN dyno_crm.pipeline_stage ps ON ps.id = s.pipeline_stage_id
        WHERE s.tenant_id = ANY (p_tenants) AND s.is_current = true
          AND ps.stage_state IN ('DONE_SUCCESS', 'DONE_FAILED')
          AND s.entered_at >= p_start AND s.entered_at < p_end
        ORDER BY s.tenant_id, s.deal_id, s.entered_at, (ps.stage_state = 'DONE_SUCCESS') DESC,
                 s.pipeline_stage_id
    ),
    requested AS (
        SELECT DISTINCT split_part(p.token, ':', 1)::varchar(20) AS principal_type,
                        split_part(p.token, ':', 2)::uuid AS principal_id
        FROM unnest(string_to_array(p_principals, ',')) AS p(token)
    ),
    deals AS MATERIALIZED (
        SELECT c.tenant_id,
               c.owned_by_user_id AS owner_user,
               CASE WHEN c.assigned_user_id IS DISTINCT FROM c.owned_by_user_id
                    THEN c.assigned_user_id END AS assignee_user,
               c.owned_by_group_id AS owner_group,
               CASE WHEN c.assigned_group_id IS DISTINCT FROM c.owned_by_group_id
                    THEN c.assigned_group_id END AS assignee_group,
               cl.won,
               CASE WHEN cl.won THEN COALESCE(c.amount, 0) END AS won_amount,
               extract(epoch FROM cl.closed_at - c.created_at) AS close_seconds,
               -- in the total of users / of teams: attributed to a principal of the run
               CASE WHEN p_principals IS NULL
                    THEN c.owned_by_user_id IS NOT NULL OR c.assigned_user_id IS NOT NULL
                    ELSE c.owned_by_user_id IN (SELECT r.principal_id FROM requested r WHERE r.principal_type = 'USER')
                      OR c.assigned_user_id IN (SELECT r.principal_id FROM requested r WHERE r.principal_type = 'USER')
               END AS in_users,
               CASE WHEN p_principals IS NULL
                    THEN c.owned_by_group_id IS NOT NULL OR c.assigned_group_id IS NOT NULL
                    ELSE c.owned_by_group_id IN (SELECT r.principal_id FROM requested r WHERE r.principal_type = 'GROUP')
                      OR c.assigned_group_id IN (SELECT r.principal_id FROM requested r WHERE r.principal_type = 'GROUP')
               END AS in_groups
        FROM created c
        LEFT JOIN closes cl ON cl.deal_id = c.id AND cl.tenant_id = c.tenant_id
    ),
    slots AS (
        SELECT d.tenant_id, 'USER'::varchar(20) AS principal_type, d.owner_user AS principal_id,
               count(*) AS created_count, count(*) FILTER (WHERE d.won) AS won_count,
               count(*) FILTER (WHERE NOT d.won) AS lost_count,
               sum(d.won_amount) AS won_amount, sum(d.close_seconds) AS close_seconds
        FROM deals d WHERE d.owner_user IS NOT NULL GROUP BY d.tenant_id, d.owner_user
        UNION ALL
        SELECT d.tenant_id, 'USER'::varchar(20), d.assignee_user, count(*), count(*) FILTER (WHERE d.won),
               count(*) FILTER (WHERE NOT d.won), sum(d.won_amount), sum(d.close_seconds)
        FROM deals d WHERE d.assignee_user IS NOT NULL GROUP BY d.tenant_id, d.assignee_user
        UNION ALL
        SELECT d.tenant_id, 'GROUP'::varchar(20), d.owner_group, count(*), count(*) FILTER (WHERE d.won),
               count(*) FILTER (WHERE NOT d.won), sum(d.won_amount), sum(d.close_seconds)
        FROM deals d WHERE d.owner_group IS NOT NULL GROUP BY d.tenant_id, d.owner_group
        UNION ALL
        SELECT d.tenant_id, 'GROUP'::varchar(20), d.assignee_group, count(*), count(*) FILTER (WHERE d.won),
               count(*) FILTER (WHERE NOT d.won), sum(d.won_amount), sum(d.close_seconds)
        FROM deals d WHERE d.assignee_group IS NOT NULL GROUP BY d.tenant_id, d.assignee_group
    ),
    metrics AS (
        SELECT s.tenant_id, s.principal_type, s.principal_id,
               sum(s.created_count)::bigint AS created_count,
               sum(s.won_count)::bigint AS won_count,
               sum(s.lost_count)::bigint AS lost_count,
               sum(s.won_amount) AS won_amount,
               sum(s.close_seconds) AS close_seconds
        FROM slots s
        WHERE p_principals IS NULL
           OR (s.principal_type, s.principal_id) IN (SELECT r.principal_type, r.principal_id FROM requested r)
        GROUP BY s.tenant_id, s.principal_type, s.principal_id
    ),
    targets AS (
        SELECT t.tenant_id, r.principal_type, r.principal_id
        FROM requested r CROSS JOIN unnest(p_tenants) AS t(tenant_id)
        UNION
        SELECT m.tenant_id, m.principal_type, m.principal_id FROM metrics m WHERE p_principals IS NULL
    ),
    totals AS (
        SELECT d.tenant_id, 'USER'::varchar(20) AS principal_type, count(*) AS created_count,
               count(*) FILTER (WHERE d.won) AS won_count, count(*) FILTER (WHERE NOT d.won) AS lost_count,
               sum(d.won_amount) AS won_amount, sum(d.close_seconds) AS close_seconds
        FROM deals d WHERE d.in_users GROUP BY d.tenant_id
        UNION ALL
        SELECT d.tenant_id, 'GROUP'::varchar(20), count(*), count(*) FILTER (WHERE d.won),
               count(*) FILTER (WHERE NOT d.won), sum(d.won_amount), sum(d.close_seconds)
        FROM deals d WHERE d.in_groups GROUP BY d.tenant_id
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

-- Store what dynoreport_report_rows computes: for the i-th tenant of p_tenants, the fact
-- rows and totals of run p_runs[i] and, when p_compare_runs is not NULL, those of its
-- comparison run p_compare_runs[i] (the run headers already inserted). One statement, so
-- the rows are computed once; a value that does not fit the fact or totals columns fails
-- it whole (SQLSTATE 22003), and the caller may try again without the comparison, or
-- tenant by tenant. Returns how many fact rows each run got, one row per tenant.
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_report_store(
    p_runs uuid[], p_compare_runs uuid[], p_tenants uuid[], p_start timestamptz, p_end timestamptz,
    p_compare_start timestamptz, p_compare_end timestamptz, p_principals text)
    RETURNS TABLE (tenant_id uuid, fact_rows bigint, compare_fact_rows bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $fn$
#variable_conflict use_column
DECLARE
    v_tenants uuid[];
    v_rows bigint[];
    v_compare_rows bigint[];
BEGIN
    IF cardinality(p_runs) IS DISTINCT FROM cardinality(p_tenants)
       OR (p_compare_runs IS NOT NULL AND cardinality(p_compare_runs) IS DISTINCT FROM cardinality(p_tenants)) THEN
        RAISE EXCEPTION 'dynoreport_report_store: % runs, % comparison runs for % tenants',
            cardinality(p_runs), cardinality(p_compare_runs), cardinality(p_tenants)
            USING ERRCODE = '22023';
    END IF;
    WITH m AS (
        SELECT u.tenant_id, u.run_id, u.compare_run_id
        FROM unnest(p_tenants, p_runs, COALESCE(p_compare_runs, p_runs)) AS u(tenant_id, run_id, compare_run_id)
    ),
    r AS MATERIALIZED (
        SELECT false AS comparison, x.*
        FROM dyno_crm.dynoreport_report_rows(p_tenants, p_start, p_end, p_principals) x
        UNION ALL
        SELECT true, x.*
        FROM dyno_crm.dynoreport_report_rows(p_tenants, p_compare_start, p_compare_end, p_principals) x
        WHERE p_compare_runs IS NOT NULL
    ),
    f AS (
        INSERT INTO dyno_crm.report_rep_performance_fact (
            run_id, tenant_id, principal_type, principal_id, period_start, period_end,
            deals_created_count, deals_closed_won_count, deals_closed_lost_count,
            total_amount_won, avg_deal_size_won, avg_time_to_close_days, win_rate)
        SELECT CASE WHEN r.comparison THEN m.compare_run_id ELSE m.run_id END, r.tenant_id,
               r.principal_type, r.principal_id,
               CASE WHEN r.comparison THEN p_compare_start ELSE p_start END,
               CASE WHEN r.comparison THEN p_compare_end ELSE p_end END,
               r.deals_created_count, r.deals_closed_won_count, r.deals_closed_lost_count,
               r.total_amount_won, r.avg_deal_size_won, r.avg_time_to_close_days, r.win_rate
        FROM r JOIN m ON m.tenant_id = r.tenant_id
        WHERE NOT r.is_total
        RETURNING run_id, tenant_id
    ),
    t AS (
        INSERT INTO dyno_crm.report_run_total (
            run_id, tenant_id, principal_type, deals_created_count, deals_closed_won_count,
            deals_closed_lost_count, total_amount_won, avg_deal_size_won, avg_time_to_close_days,
            win_rate)
        SELECT CASE WHEN r.comparison THEN m.compare_run_id ELSE m.run_id END, r.tenant_id,
               r.principal_type,
               r.deals_created_count, r.deals_closed_won_count, r.deals_closed_lost_count,
               r.total_amount_won, r.avg_deal_size_won, r.avg_time_to_close_days, r.win_rate
        FROM r JOIN m ON m.tenant_id = r.tenant_id
        WHERE r.is_total
        RETURNING run_id
    ),
    n AS (
        SELECT m.tenant_id,
               count(f.run_id) FILTER (WHERE f.run_id = m.run_id) AS fact_rows,
               count(f.run_id) FILTER (WHERE p_compare_runs IS NOT NULL AND f.run_id = m.compare_run_id)
                   AS compare_fact_rows
        FROM m LEFT JOIN f ON f.tenant_id = m.tenant_id
        GROUP BY m.tenant_id
    )
    SELECT array_agg(n.tenant_id ORDER BY n.tenant_id), array_agg(n.fact_rows ORDER BY n.tenant_id),
           array_agg(n.compare_fact_rows ORDER BY n.tenant_id)
    INTO v_tenants, v_rows, v_compare_rows
    FROM n;
    RETURN QUERY SELECT * FROM unnest(v_tenants, v_rows, v_compare_rows);
END
$fn$;
