-- A delivery ended: delivered or failed, after how many attempts, with the last error.
UPDATE dyno_crm.report_delivery
   SET finished_at = now(), status = :status, attempts = :attempts::integer, error = :error, target = :target
 WHERE id = :id::bigint
