-- Releases schema_lock_session.sql's lock once the source indexes are built.
SELECT pg_advisory_unlock(7262610001)
