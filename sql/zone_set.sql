-- Make :tz the zone of the current transaction (an unknown name fails with 22023).
SELECT set_config('TimeZone', :tz, true)
