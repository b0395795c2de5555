-- dynoreport schema version 5: the manager's view of a run, stored with it so that `export`
-- reproduces it later: the names used (tenant and principals), the honest totals (each
-- deal once), and the comparison period, which is a run of its own (its facts computed by
-- the same statement), tied to the run it compares with and deleted with it.

ALTER TABLE dyno_crm.report_run ADD COLUMN IF NOT EXISTS comparison_for uuid;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                    WHERE conname = 'fk_report_run_comparison_for'
                      AND conrelid = 'dyno_crm.report_run'::regclass) THEN
        ALTER TABLE dyno_crm.report_run
            ADD CONSTRAINT fk_report_run_comparison_for FOREIGN KEY (comparison_for, tenant_id)
            REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE;
    END IF;
END
$$;

CREATE UNIQUE INDEX IF NOT EXISTS ux_report_run_comparison_for
    ON dyno_crm.report_run (comparison_for) WHERE comparison_for IS NOT NULL;

CREATE TABLE IF NOT EXISTS dyno_crm.report_run_view (
    run_id        uuid NOT NULL,
    tenant_id     uuid NOT NULL,
    tenant_name   text NOT NULL,
    period_title  text NOT NULL,
    compare       text NOT NULL,
    compare_title text NOT NULL DEFAULT '',
    currency      text NOT NULL DEFAULT '',
    CONSTRAINT pk_report_run_view PRIMARY KEY (run_id),
    CONSTRAINT fk_report_run_view_run FOREIGN KEY (run_id, tenant_id)
        REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE,
    CONSTRAINT ck_report_run_view_compare CHECK (compare IN ('previous', 'year-ago', 'none'))
);

CREATE TABLE IF NOT EXISTS dyno_crm.report_run_principal_name (
    run_id         uuid        NOT NULL,
    tenant_id      uuid        NOT NULL,
    principal_type varchar(20) NOT NULL,
    principal_id   uuid        NOT NULL,
    name           text        NOT NULL,
    CONSTRAINT pk_report_run_principal_name PRIMARY KEY (run_id, principal_type, principal_id),
    CONSTRAINT fk_report_run_principal_name_run FOREIGN KEY (run_id, tenant_id)
        REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE,
    CONSTRAINT ck_report_run_principal_name_type CHECK (principal_type IN ('USER', 'GROUP'))
);

CREATE TABLE IF NOT EXISTS dyno_crm.report_run_total (
    run_id                  uuid          NOT NULL,
    tenant_id               uuid          NOT NULL,
    principal_type          varchar(20)   NOT NULL,
    deals_created_count     bigint        NOT NULL,
    deals_closed_won_count  bigint        NOT NULL,
    deals_closed_lost_count bigint        NOT NULL,
    total_amount_won        numeric(18,2) NOT NULL, -- a total may pass what one principal holds
    avg_deal_size_won       numeric(14,2),
    avg_time_to_close_days  numeric(10,4),
    win_rate                numeric(5,4),
    CONSTRAINT pk_report_run_total PRIMARY KEY (run_id, principal_type),
    CONSTRAINT fk_report_run_total_run FOREIGN KEY (run_id, tenant_id)
        REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE,
    CONSTRAINT ck_report_run_total_type CHECK (principal_type IN ('USER', 'GROUP')),
    CONSTRAINT ck_report_run_total_counts CHECK (deals_created_count >= 0
        AND deals_closed_won_count >= 0 AND deals_closed_lost_count >= 0
        AND deals_closed_won_count + deals_closed_lost_count <= deals_created_count),
    CONSTRAINT ck_report_run_total_win_rate CHECK (win_rate BETWEEN 0 AND 1)
);
