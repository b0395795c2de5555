-- The key of schema_lock.sql, held by the session across the source index builds (which
-- run outside a transaction): a second db init waits (within lock_timeout) instead of
-- dropping, as INVALID, an index the first one is still building.
SELECT pg_advisory_lock(7262610001)
