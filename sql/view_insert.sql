-- What runs of one period show people, stored with them, one row per run: :run_ids,
-- :tenants and :tenant_names are array literals of the same length (the tenant's name as
-- the [names] query gave it, or a marked fallback); the period and the comparison in
-- words and the currency are the same for all of them.
INSERT INTO dyno_crm.report_run_view (run_id, tenant_id, tenant_name, period_title, compare,
                                      compare_title, currency)
SELECT t.run_id, t.tenant, t.tenant_name, :period_title, :compare, :compare_title, :currency
FROM unnest(:run_ids::uuid[], :tenants::uuid[], :tenant_names::text[]) AS t(run_id, tenant, tenant_name)
