-- Serialises `db init` runs for the rest of the transaction. Any constant works as the
-- key; it only has to be the same for every dynoreport.
SELECT pg_advisory_xact_lock(7262610001)
