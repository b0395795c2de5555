-- Before the source indexes are built (autocommit, one statement each): no
-- statement_timeout for them, as building an index on a big table is work, not a wait;
-- the waits (for locks and for open transactions) stay bounded by lock_timeout.
SELECT set_config('statement_timeout', '0', false)
