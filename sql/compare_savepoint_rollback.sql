-- The comparison period failed: undo it alone; the run goes on without it.
ROLLBACK TO SAVEPOINT dynoreport_compare
