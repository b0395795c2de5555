-- 1 if :tz is a name of the zone database, else 0.
SELECT count(*) FROM pg_catalog.pg_timezone_names WHERE name = :tz
