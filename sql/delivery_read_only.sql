-- A recipients query runs in a read-only transaction of its own, after the run's commit.
SET TRANSACTION READ ONLY
