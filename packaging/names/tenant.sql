-- dynoreport [names] tenant query, for the demo CRM directory of
-- scripts/sql/demo_data.sql (schema crm_directory). Copy it next to the configuration
-- (e.g. /etc/dynoreport/names/tenant.sql) and adapt it to your CRM.
--
-- One SELECT with the tenant of the run bound to its only parameter, returning one
-- column (the name) in at most one row: no row gives the marked fallback name made of
-- the first 8 hex digits of the tenant id, two rows or more are a configuration error.
SELECT c.company_name
  FROM crm_directory.tenant c
 WHERE c.id = :tenant::uuid
