-- The claim of one (report, tenant, period): a transaction-level advisory lock, tried
-- without waiting ('1' when taken, '0' when another session holds it). The key is a
-- 64-bit hash of the report type, the tenant and the period's bounds as instants (epoch
-- seconds, so the zone the bounds were written in does not matter); a collision of two
-- keys only makes one run wait for the other. The lock ends with the transaction, or
-- with the session when the process dies. The caller polls it up to --lock-timeout.
SELECT CASE WHEN pg_try_advisory_xact_lock(hashtextextended(
         'dynoreport ' || :report::text || ' ' || (:tenant::uuid)::text || ' ' ||
         extract(epoch FROM dyno_crm.dynoreport_timestamptz(:start))::text || ' ' ||
         extract(epoch FROM dyno_crm.dynoreport_timestamptz(:end))::text, 0))
       THEN '1' ELSE '0' END
