-- The delivery records of one run, oldest first (dynoreport runs show, docs/delivery.md).
SELECT destination, kind, status, attempts::text, target,
       dyno_crm.dynoreport_iso8601(started_at), dyno_crm.dynoreport_iso8601(finished_at), error
  FROM dyno_crm.report_delivery
 WHERE run_id = :run_id::uuid
 ORDER BY id
