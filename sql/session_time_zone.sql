-- Every connection starts in UTC: the session's zone must not leak into any value
-- (docs/cli.md, Time zones); a run then sets its report's zone for its transaction (zone_set.sql).
SET TimeZone = 'UTC'
