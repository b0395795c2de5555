-- dynoreport [names] principals query, for the demo CRM directory of
-- scripts/sql/demo_data.sql (schema crm_directory). Copy it next to the configuration
-- (e.g. /etc/dynoreport/names/principals.sql) and adapt the tables to your CRM.
--
-- One SELECT. The tenant of the run is bound to its only parameter (in both WHERE
-- clauses below). It returns one row per user or team:
--   principal_type  USER or GROUP (any case)
--   principal_id    the id as in dyno_crm.deal (uuid, or its text)
--   name            what the report shows; a principal without a row, or with a NULL
--                   name, shows a marked fallback made of the first 8 hex digits of its id
-- Users who have left stay in the list, so that their past deals keep a name. Return
-- names for the tenant only: dynoreport stores the names of the principals of a run with
-- the run.
SELECT 'USER' AS principal_type, u.id AS principal_id, u.display_name AS name
  FROM crm_directory.app_user u
 WHERE u.tenant_id = :tenant::uuid
UNION ALL
SELECT 'GROUP', t.id, t.name
  FROM crm_directory.sales_team t
 WHERE t.tenant_id = :tenant::uuid
