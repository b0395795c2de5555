-- Optional indexes on the CRM source tables: `dynoreport db init --with-source-indexes`.
-- They let the report read a tenant's deals of a period and its current stage entries
-- of a period by index range, as index-only scans (after VACUUM has set the visibility
-- map): every column the report reads from these tables is in the key or in INCLUDE.
-- The partial predicate is written literally (is_current = true) in the report query,
-- so the planner can match it. Measured in docs/performance.md.
-- Built CONCURRENTLY, so CRM writes go on while they build: db init runs each statement
-- on its own (autocommit, after the migrations' transaction has committed), with the
-- session's lock_timeout bounding the waits for open transactions, and drops an INVALID
-- index an unfinished build left first (source_indexes_invalid.sql: the names start with
-- ix_dynoreport_). The same statements work by hand in psql.

CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_dynoreport_deal_tenant_created
    ON dyno_crm.deal (tenant_id, created_at)
    INCLUDE (id, amount, owned_by_user_id, assigned_user_id, owned_by_group_id, assigned_group_id);

CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_dynoreport_dpss_tenant_entered_current
    ON dyno_crm.deal_pipeline_stage_state (tenant_id, entered_at)
    INCLUDE (deal_id, pipeline_stage_id)
    WHERE is_current = true;
