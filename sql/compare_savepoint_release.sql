-- The comparison period is in: keep it.
RELEASE SAVEPOINT dynoreport_compare
