-- A delivery starts: its record, committed before the first attempt (docs/delivery.md).
INSERT INTO dyno_crm.report_delivery (run_id, tenant_id, destination, kind, target, status, attempts)
VALUES (:run_id::uuid, :tenant::uuid, :destination, :kind, :target, 'running', 0)
RETURNING id::text
