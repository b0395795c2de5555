-- Optional indexes on the CRM source tables: `dynoreport db init --with-source-indexes`.
-- They let the report read a tenant's deals of a period and its current stage entries
-- of a period by index range (the partial predicate is written literally in the
-- report query, so the planner can match it).

CREATE INDEX IF NOT EXISTS ix_dynoreport_deal_tenant_created
    ON dyno_crm.deal (tenant_id, created_at)
    INCLUDE (amount, owned_by_user_id, assigned_user_id, owned_by_group_id, assigned_group_id);

CREATE INDEX IF NOT EXISTS ix_dynoreport_dpss_tenant_entered_current
    ON dyno_crm.deal_pipeline_stage_state (tenant_id, entered_at)
    INCLUDE (deal_id, pipeline_stage_id)
    WHERE is_current = true;
