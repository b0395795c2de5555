-- Before a run's comparison period: its statements can be undone alone (its data may
-- overflow the fact columns while the run's own period is fine).
SAVEPOINT dynoreport_compare
