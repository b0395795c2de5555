-- The claims of one period for one or more tenants (:tenants, an array literal): a
-- transaction-level advisory lock per (report, tenant, period), tried without waiting; one
-- row per tenant in the array's order: the tenant and '1' when taken, '0' when another
-- session holds it. The key is a 64-bit hash of the report type, the tenant and the
-- period's bounds as instants (epoch seconds, so the zone the bounds were written in does
-- not matter); a collision of two keys only makes one run wait for the other. A lock ends
-- with the transaction, or with the session when the process dies. A run polls its one
-- tenant up to --lock-timeout; a job's batch tries all of its tenants at once.
SELECT t.tenant::text,
       CASE WHEN pg_try_advisory_xact_lock(hashtextextended(
              'dynoreport ' || :report::text || ' ' || t.tenant::text || ' ' ||
              extract(epoch FROM b.s)::text || ' ' || extract(epoch FROM b.e)::text, 0))
            THEN '1' ELSE '0' END
FROM unnest(:tenants::uuid[]) WITH ORDINALITY AS t(tenant, ord)
CROSS JOIN (SELECT dyno_crm.dynoreport_timestamptz(:start) AS s,
                   dyno_crm.dynoreport_timestamptz(:end) AS e) AS b
ORDER BY t.ord
