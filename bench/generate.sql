-- Benchmark data for dynoreport (docs/performance.md), set-based: generate_series, no loops.
-- Run with psql into a database that already has the CRM source tables
-- (tests/fixtures/crm_source_schema.sql) and no rows in them:
--
--   psql -v ON_ERROR_STOP=1 -v big_deals=1000000 -f bench/generate.sql
--
-- Variables (psql -v NAME=VALUE; defaults below):
--   big_deals     deals of the big tenant                           1000000
--   users groups  principals of the big tenant                      500 50
--   small_tenants number of smaller tenants                         3
--   small_deals   deals of each smaller tenant                      100000
--   small_users small_groups  principals of each smaller tenant     100 10
--   year          the year the deals are created in (UTC)           2025
--
-- What it makes, per tenant:
--   * 6 pipeline stages: 4 open ones, DONE_SUCCESS (won), DONE_FAILED (lost);
--   * deals created uniformly over the year with microsecond timestamps, inserted in
--     created_at order across tenants (as a CRM inserts them); about 5 % NULL amounts;
--     an owner on 95 %, an assignee on 90 % (a quarter of those the owner himself), an
--     owning group on 40 %, an assigned group on 20 % (a third of those the owning one);
--   * two stage rows per deal: an earlier open stage that is no longer current, and the
--     current one: won 30 %, lost 25 %, open 45 %; it was entered 0..90 days after the
--     deal's creation (1 % of closes are dated up to 2 days BEFORE creation, which the
--     report must average as negative durations);
--   * dr_bench.tenant and dr_bench.principal list the tenants and their principals (the
--     seed's per-principal loop walks that list).
-- Deterministic for a given PostgreSQL version: setseed() in one session, serial plans.

\if :{?big_deals}
\else
\set big_deals 1000000
\endif
\if :{?users}
\else
\set users 500
\endif
\if :{?groups}
\else
\set groups 50
\endif
\if :{?small_tenants}
\else
\set small_tenants 3
\endif
\if :{?small_deals}
\else
\set small_deals 100000
\endif
\if :{?small_users}
\else
\set small_users 100
\endif
\if :{?small_groups}
\else
\set small_groups 10
\endif
\if :{?year}
\else
\set year 2025
\endif

SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET TimeZone = 'UTC';
SELECT setseed(0.4242) AS seeded \gset

CREATE SCHEMA IF NOT EXISTS dr_bench;
DROP TABLE IF EXISTS dr_bench.principal;
DROP TABLE IF EXISTS dr_bench.tenant;

-- Tenant 1 is the big one: b0000000-0000-4000-8000-000000000001; then ...02, ...03, ...
CREATE TABLE dr_bench.tenant AS
SELECT n AS no,
       ('b0000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid AS id,
       CASE WHEN n = 1 THEN :big_deals ELSE :small_deals END::bigint AS deals,
       CASE WHEN n = 1 THEN :users ELSE :small_users END::int AS users,
       CASE WHEN n = 1 THEN :groups ELSE :small_groups END::int AS groups
FROM generate_series(1, 1 + :small_tenants) AS n;

CREATE TABLE dr_bench.principal AS
SELECT t.no AS tenant_no, t.id AS tenant_id, 'USER'::varchar(20) AS principal_type, k,
       md5('bench-user-' || t.no || '-' || k)::uuid AS principal_id
FROM dr_bench.tenant t, generate_series(1, t.users) AS k
UNION ALL
SELECT t.no, t.id, 'GROUP', k, md5('bench-group-' || t.no || '-' || k)::uuid
FROM dr_bench.tenant t, generate_series(1, t.groups) AS k;

INSERT INTO dyno_crm.pipeline_stage (id, tenant_id, name, sort_order, stage_state)
SELECT md5('bench-stage-' || t.no || '-' || s.k)::uuid, t.id, s.name, s.k, s.state
FROM dr_bench.tenant t,
     (VALUES (1, 'Lead', 'NOT_STARTED'), (2, 'Qualified', 'IN_PROGRESS'),
             (3, 'Proposal', 'IN_PROGRESS'), (4, 'Negotiation', 'IN_PROGRESS'),
             (5, 'Won', 'DONE_SUCCESS'), (6, 'Lost', 'DONE_FAILED')) AS s(k, name, state);

-- The random draws live in a subquery with volatile calls, so each row gets its own.
INSERT INTO dyno_crm.deal (id, tenant_id, title, amount, currency, created_at, updated_at,
                           owned_by_user_id, assigned_user_id, owned_by_group_id,
                           assigned_group_id, custom_fields)
SELECT md5('bench-deal-' || r.no || '-' || r.i)::uuid,
       r.tenant_id,
       'Deal ' || r.i,
       CASE WHEN r.r_null < 0.05 THEN NULL ELSE round((100 + r.r_amount * 49900)::numeric, 2) END,
       'EUR',
       r.created_at,
       r.created_at,
       CASE WHEN r.r_owner < 0.95 THEN md5('bench-user-' || r.no || '-' || r.owner_k)::uuid END,
       CASE WHEN r.r_assignee >= 0.90 THEN NULL
            WHEN r.r_same < 0.25 AND r.r_owner < 0.95 THEN md5('bench-user-' || r.no || '-' || r.owner_k)::uuid
            ELSE md5('bench-user-' || r.no || '-' || r.assignee_k)::uuid END,
       CASE WHEN r.r_ogroup < 0.40 THEN md5('bench-group-' || r.no || '-' || r.ogroup_k)::uuid END,
       CASE WHEN r.r_agroup >= 0.20 THEN NULL
            WHEN r.r_same < 0.33 AND r.r_ogroup < 0.40 THEN md5('bench-group-' || r.no || '-' || r.ogroup_k)::uuid
            ELSE md5('bench-group-' || r.no || '-' || r.agroup_k)::uuid END,
       NULL
FROM (SELECT t.no, t.id AS tenant_id, g.i,
             make_timestamptz(:year, 1, 1, 0, 0, 0, 'UTC')
               + (make_timestamptz(:year + 1, 1, 1, 0, 0, 0, 'UTC') - make_timestamptz(:year, 1, 1, 0, 0, 0, 'UTC'))
                 * random() AS created_at,
             random() AS r_null, random() AS r_amount, random() AS r_owner, random() AS r_assignee,
             random() AS r_same, random() AS r_ogroup, random() AS r_agroup,
             1 + floor(random() * t.users)::int AS owner_k,
             1 + floor(random() * t.users)::int AS assignee_k,
             1 + floor(random() * t.groups)::int AS ogroup_k,
             1 + floor(random() * t.groups)::int AS agroup_k
      FROM dr_bench.tenant t, generate_series(1, t.deals) AS g(i)) AS r
ORDER BY r.created_at;

-- Two stage rows per deal, in the deals' physical order.
INSERT INTO dyno_crm.deal_pipeline_stage_state (deal_id, tenant_id, pipeline_stage_id, entered_at,
                                                left_at, is_current)
SELECT d.id, d.tenant_id, x.stage_id, x.entered_at, x.left_at, x.is_current
FROM (SELECT d.id, d.tenant_id, d.created_at, t.no,
             random() AS r_state, random() AS r_when, random() AS r_back, random() AS r_open
      FROM dyno_crm.deal d JOIN dr_bench.tenant t ON t.id = d.tenant_id) AS d
CROSS JOIN LATERAL (
    SELECT CASE WHEN d.r_back < 0.01 AND d.r_state < 0.55
                THEN d.created_at - interval '2 days' * d.r_when
                ELSE d.created_at + interval '90 days' * d.r_when END AS current_at
) AS c
CROSS JOIN LATERAL (VALUES
    (md5('bench-stage-' || d.no || '-' || (1 + floor(d.r_open * 2)::int))::uuid,
     LEAST(d.created_at, c.current_at), c.current_at, false),
    (md5('bench-stage-' || d.no || '-' ||
         CASE WHEN d.r_state < 0.30 THEN 5 WHEN d.r_state < 0.55 THEN 6
              ELSE 3 + floor(d.r_open * 2)::int END)::uuid,
     c.current_at, NULL::timestamptz, true)
) AS x(stage_id, entered_at, left_at, is_current);
