-- What a run shows people, stored with it: the tenant's name as the [names] query gave it
-- (or a marked fallback), the period and the comparison in words, the currency.
INSERT INTO dyno_crm.report_run_view (run_id, tenant_id, tenant_name, period_title, compare,
                                      compare_title, currency)
VALUES (:run_id::uuid, :tenant::uuid, :tenant_name, :period_title, :compare, :compare_title,
        :currency)
