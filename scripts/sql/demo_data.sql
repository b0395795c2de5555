/*
  Sample CRM data for scripts/demo (and for trying the tool by hand).
  Needs the source tables of tests/fixtures/crm_source_schema.sql.

  Tenant A  a0000000-0000-4000-8000-000000000001 : 12 users, 3 groups, 5000 deals in 2026
  Tenant B  b0000000-0000-4000-8000-000000000002 : 4 users, 1 group, 600 deals in 2026

  Ids are derived from md5 of a readable name, e.g. md5('user-3')::uuid, so they are the
  same on every load; setseed() makes the random parts reproducible too. Each deal has
  two stage rows: an earlier, no longer current open stage entered at creation, and the
  current one (open, won or lost) entered some days later. Loading again replaces the
  two tenants' rows.

  The names of the tenants, users and teams live in a small directory of the CRM's own,
  schema crm_directory (tables tenant, app_user, sales_team), which dynoreport reads only
  through the [names] queries packaging/names/principals.sql and tenant.sql. They are
  loaded last and draw no random numbers, so the deals are the same with or without them.
*/
BEGIN;

/* Day arithmetic and office hours in one fixed zone, whatever the server's TimeZone. */
SET LOCAL TIME ZONE 'Europe/Berlin';
/* A table, not a bare SELECT, so that loading prints no result row. */
CREATE TEMP TABLE demo_seed ON COMMIT DROP AS SELECT setseed(0.20261001)::text AS seeded;

DELETE FROM dyno_crm.deal_pipeline_stage_state
 WHERE tenant_id IN ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002');
DELETE FROM dyno_crm.deal
 WHERE tenant_id IN ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002');
DELETE FROM dyno_crm.pipeline_stage
 WHERE tenant_id IN ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002');

/* Tenants and their sizes. */
CREATE TEMP TABLE demo_tenant (
    code text PRIMARY KEY,
    id uuid NOT NULL,
    n_users int NOT NULL,
    n_groups int NOT NULL,
    n_deals int NOT NULL
) ON COMMIT DROP;
INSERT INTO demo_tenant VALUES
    ('a', 'a0000000-0000-4000-8000-000000000001', 12, 3, 5000),
    ('b', 'b0000000-0000-4000-8000-000000000002', 4, 1, 600);

/* Pipeline: Lead, Qualified, Proposal are open; Won and Lost are terminal. */
CREATE TEMP TABLE demo_stage (
    key text PRIMARY KEY,
    name text NOT NULL,
    sort_order int NOT NULL,
    stage_state text NOT NULL,
    color text
) ON COMMIT DROP;
INSERT INTO demo_stage VALUES
    ('lead',      'Lead',      10, 'OPEN',         '#9e9e9e'),
    ('qualified', 'Qualified', 20, 'IN_PROGRESS',  '#2196f3'),
    ('proposal',  'Proposal',  30, 'IN_PROGRESS',  '#ff9800'),
    ('won',       'Won',       40, 'DONE_SUCCESS', '#4caf50'),
    ('lost',      'Lost',      50, 'DONE_FAILED',  '#f44336');

INSERT INTO dyno_crm.pipeline_stage (id, tenant_id, name, sort_order, stage_state, color)
SELECT md5('stage-' || t.code || '-' || s.key)::uuid, t.id, s.name, s.sort_order, s.stage_state, s.color
  FROM demo_tenant t CROSS JOIN demo_stage s;

/*
  Users and groups. Tenant A keeps the short names the brief documents:
  md5('user-1')::uuid .. md5('user-12')::uuid and md5('group-1')::uuid .. md5('group-3')::uuid;
  tenant B's are prefixed with 'b-'. User n works in group ((n-1) % n_groups) + 1.
*/
CREATE TEMP TABLE demo_user ON COMMIT DROP AS
SELECT t.code AS tenant_code, n,
       md5(CASE t.code WHEN 'a' THEN '' ELSE t.code || '-' END || 'user-' || n)::uuid AS id,
       md5(CASE t.code WHEN 'a' THEN '' ELSE t.code || '-' END || 'group-' || ((n - 1) % t.n_groups + 1))::uuid AS group_id
  FROM demo_tenant t, generate_series(1, t.n_users) AS n;

CREATE TEMP TABLE demo_group ON COMMIT DROP AS
SELECT t.code AS tenant_code, n,
       md5(CASE t.code WHEN 'a' THEN '' ELSE t.code || '-' END || 'group-' || n)::uuid AS id
  FROM demo_tenant t, generate_series(1, t.n_groups) AS n;

/*
  One row per deal with all its random draws, computed once (a table, not a view, so
  that every column below sees the same draw).
*/
CREATE TEMP TABLE demo_draw ON COMMIT DROP AS
SELECT t.code AS tenant_code, t.id AS tenant_id, t.n_users, t.n_groups, i,
       random() AS r_created, random() AS r_hour,
       random() AS r_amount, random() AS r_amount_null,
       random() AS r_owner, random() AS r_owner_null,
       random() AS r_assignee_kind, random() AS r_assignee,
       random() AS r_group_kind, random() AS r_agroup_kind, random() AS r_agroup,
       random() AS r_outcome, random() AS r_days, random() AS r_open_stage
  FROM demo_tenant t, generate_series(1, t.n_deals) AS i
 ORDER BY t.code, i;

CREATE TEMP TABLE demo_deal ON COMMIT DROP AS
SELECT d.*,
       md5('deal-' || d.tenant_code || '-' || d.i)::uuid AS id,
       /* Spread over 2026 by calendar day, during (Berlin) office hours mostly. */
       ('2026-01-01 00:00:00+01'::timestamptz
          + floor(d.r_created * 365) * interval '1 day'
          + (7 + d.r_hour * 12) * interval '1 hour') AS created_at,
       CASE WHEN d.r_amount_null < 0.07 THEN NULL
            /* log-uniform between 500 and 250000 */
            ELSE round(exp(ln(500) + d.r_amount * ln(500))::numeric, 2) END AS amount,
       /* Owners are skewed: a few reps own many deals. */
       CASE WHEN d.r_owner_null < 0.04 THEN NULL
            ELSE 1 + floor(power(d.r_owner, 1.6) * d.n_users)::int END AS owner_n
  FROM demo_draw d;

CREATE TEMP TABLE demo_deal2 ON COMMIT DROP AS
SELECT d.*,
       /* Assignee: the owner himself (often), another rep, or nobody. */
       CASE WHEN d.r_assignee_kind < 0.40 THEN d.owner_n
            WHEN d.r_assignee_kind < 0.92 THEN 1 + floor(d.r_assignee * d.n_users)::int
            ELSE NULL END AS assignee_n,
       /* Owning group: usually the owner's group, sometimes none. */
       CASE WHEN d.r_group_kind < 0.65 AND d.owner_n IS NOT NULL THEN (d.owner_n - 1) % d.n_groups + 1
            WHEN d.r_group_kind < 0.75 THEN 1 + floor(d.r_agroup * d.n_groups)::int
            ELSE NULL END AS ogroup_n,
       CASE WHEN d.r_agroup_kind < 0.25 THEN 1 + floor(d.r_agroup * d.n_groups)::int
            ELSE NULL END AS agroup_n,
       /* Current stage: 27% won, 21% lost, the rest still open. */
       CASE WHEN d.r_outcome < 0.27 THEN 'won'
            WHEN d.r_outcome < 0.48 THEN 'lost'
            WHEN d.r_open_stage < 0.5 THEN 'qualified'
            ELSE 'proposal' END AS current_stage,
       /* Days from creation to the current stage: 0.5 .. ~120, half within about two weeks. */
       (0.5 + power(d.r_days, 3) * 120) AS days_to_current
  FROM demo_deal d;

INSERT INTO dyno_crm.deal (id, tenant_id, title, amount, currency, created_at, updated_at,
                           owned_by_user_id, assigned_user_id, owned_by_group_id, assigned_group_id,
                           custom_fields)
SELECT d.id, d.tenant_id,
       'Deal ' || upper(d.tenant_code) || '-' || lpad(d.i::text, 5, '0'),
       d.amount, 'EUR', d.created_at,
       d.created_at + d.days_to_current * interval '1 day',
       ou.id, au.id, og.id, ag.id,
       jsonb_build_object('source', (ARRAY['web', 'referral', 'event', 'outbound'])[1 + d.i % 4],
                          'priority', 1 + d.i % 3)
  FROM demo_deal2 d
  LEFT JOIN demo_user ou ON ou.tenant_code = d.tenant_code AND ou.n = d.owner_n
  LEFT JOIN demo_user au ON au.tenant_code = d.tenant_code AND au.n = d.assignee_n
  LEFT JOIN demo_group og ON og.tenant_code = d.tenant_code AND og.n = d.ogroup_n
  LEFT JOIN demo_group ag ON ag.tenant_code = d.tenant_code AND ag.n = d.agroup_n
 ORDER BY d.tenant_code, d.i;

/* The earlier stage: Lead, entered at creation, no longer current. */
INSERT INTO dyno_crm.deal_pipeline_stage_state
       (deal_id, tenant_id, pipeline_stage_id, entered_at, left_at, is_current, note)
SELECT d.id, d.tenant_id, md5('stage-' || d.tenant_code || '-lead')::uuid,
       d.created_at, d.created_at + d.days_to_current * interval '1 day', false, NULL
  FROM demo_deal2 d
 ORDER BY d.tenant_code, d.i;

/* The current stage, entered some days after creation. */
INSERT INTO dyno_crm.deal_pipeline_stage_state
       (deal_id, tenant_id, pipeline_stage_id, entered_at, left_at, is_current, note)
SELECT d.id, d.tenant_id, md5('stage-' || d.tenant_code || '-' || d.current_stage)::uuid,
       d.created_at + d.days_to_current * interval '1 day', NULL, true,
       CASE d.current_stage WHEN 'won' THEN 'signed' WHEN 'lost' THEN 'no budget' END
  FROM demo_deal2 d
 ORDER BY d.tenant_code, d.i;

/*
  The CRM directory: who the tenants, users and teams are. Tenant A is a German
  wholesaler with reps in Germany, Britain and France; tenant B a French workshop. One
  of tenant A's reps has left (active = false): she keeps her name, since her deals
  still count. Ids as above (demo_user, demo_group), so every principal of a report has
  a name.
*/
CREATE SCHEMA IF NOT EXISTS crm_directory;

CREATE TABLE IF NOT EXISTS crm_directory.tenant (
    id uuid PRIMARY KEY,
    company_name text NOT NULL,
    country char(2) NOT NULL
);

CREATE TABLE IF NOT EXISTS crm_directory.app_user (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    display_name text NOT NULL,
    email text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE IF NOT EXISTS crm_directory.sales_team (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    name text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

DELETE FROM crm_directory.app_user
 WHERE tenant_id IN ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002');
DELETE FROM crm_directory.sales_team
 WHERE tenant_id IN ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002');
DELETE FROM crm_directory.tenant
 WHERE id IN ('a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002');

INSERT INTO crm_directory.tenant (id, company_name, country) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'Nordlicht Großhandel GmbH', 'DE'),
    ('b0000000-0000-4000-8000-000000000002', 'Atelier Lumière SARL', 'FR');

INSERT INTO crm_directory.app_user (tenant_id, id, display_name, email, active)
SELECT t.id, u.id, n.display_name, n.email, n.active
  FROM (VALUES
        ('a',  1, 'Jürgen Hoffmann',   'j.hoffmann@nordlicht.example',   true),
        ('a',  2, 'Sarah Mitchell',    's.mitchell@nordlicht.example',   true),
        ('a',  3, 'Élodie Marchand',   'e.marchand@nordlicht.example',   true),
        ('a',  4, 'Thomas Becker',     't.becker@nordlicht.example',     true),
        ('a',  5, 'Olivia Bennett',    'o.bennett@nordlicht.example',    true),
        ('a',  6, 'François Dupont',   'f.dupont@nordlicht.example',     true),
        ('a',  7, 'Katrin Schäfer',    'k.schaefer@nordlicht.example',   false),
        ('a',  8, 'James O''Connor',   'j.oconnor@nordlicht.example',    true),
        ('a',  9, 'Camille Rousseau',  'c.rousseau@nordlicht.example',   true),
        ('a', 10, 'Lukas Weiß',        'l.weiss@nordlicht.example',      true),
        ('a', 11, 'Emily Clarke',      'e.clarke@nordlicht.example',     true),
        ('a', 12, 'Benoît Lefèvre',    'b.lefevre@nordlicht.example',    true),
        ('b',  1, 'Margaux Girard',    'margaux.girard@lumiere.example', true),
        ('b',  2, 'Noël Fontaine',     'noel.fontaine@lumiere.example',  true),
        ('b',  3, 'Chloé Bernard',     'chloe.bernard@lumiere.example',  true),
        ('b',  4, 'Hugo Laurent',      'hugo.laurent@lumiere.example',   true)
       ) AS n(tenant_code, n, display_name, email, active)
  JOIN demo_tenant t ON t.code = n.tenant_code
  JOIN demo_user u ON u.tenant_code = n.tenant_code AND u.n = n.n
 ORDER BY n.tenant_code, n.n;

INSERT INTO crm_directory.sales_team (tenant_id, id, name)
SELECT t.id, g.id, n.name
  FROM (VALUES
        ('a', 1, 'Vertrieb Nord'),
        ('a', 2, 'Key Accounts UK'),
        ('a', 3, 'Équipe Île-de-France'),
        ('b', 1, 'Équipe Lyon')
       ) AS n(tenant_code, n, name)
  JOIN demo_tenant t ON t.code = n.tenant_code
  JOIN demo_group g ON g.tenant_code = n.tenant_code AND g.n = n.n
 ORDER BY n.tenant_code, n.n;

COMMIT;

ANALYZE dyno_crm.pipeline_stage;
ANALYZE dyno_crm.deal;
ANALYZE dyno_crm.deal_pipeline_stage_state;
