-- Names our connections in pg_stat_activity.
SET application_name = 'dynoreport'
