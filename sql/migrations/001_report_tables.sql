-- dynoreport schema version 1: the run header and the corrected fact table (docs/storage.md).
-- Applied once by `dynoreport db init`, inside one transaction, and recorded in
-- dyno_crm.dynoreport_schema_version. Never touches the CRM source tables.

CREATE SCHEMA IF NOT EXISTS dyno_crm;

CREATE TABLE IF NOT EXISTS dyno_crm.report_run (
    id            uuid        NOT NULL,
    tenant_id     uuid        NOT NULL,
    report_type   varchar(40) NOT NULL,
    generated_at  timestamptz NOT NULL DEFAULT now(),
    period_start  timestamptz NOT NULL,
    period_end    timestamptz NOT NULL,
    period_label  text        NOT NULL,
    time_zone     text        NOT NULL,
    parameters    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    tool_version  text        NOT NULL,
    CONSTRAINT pk_report_run PRIMARY KEY (id),
    -- target of the fact table's composite foreign key
    CONSTRAINT ux_report_run_id_tenant UNIQUE (id, tenant_id),
    CONSTRAINT ck_report_run_period CHECK (period_end > period_start)
);

CREATE INDEX IF NOT EXISTS ix_report_run_tenant_period
    ON dyno_crm.report_run (tenant_id, report_type, period_start);

CREATE TABLE IF NOT EXISTS dyno_crm.report_rep_performance_fact (
    run_id                  uuid          NOT NULL,
    tenant_id               uuid          NOT NULL,
    principal_type          varchar(20)   NOT NULL,
    principal_id            uuid          NOT NULL,
    period_start            timestamptz   NOT NULL,
    period_end              timestamptz   NOT NULL,
    deals_created_count     bigint        NOT NULL,
    deals_closed_won_count  bigint        NOT NULL,
    deals_closed_lost_count bigint        NOT NULL,
    total_amount_won        numeric(14,2) NOT NULL,
    avg_deal_size_won       numeric(14,2),
    avg_time_to_close_days  numeric(10,4),
    win_rate                numeric(5,4),
    CONSTRAINT pk_rrp PRIMARY KEY (run_id, principal_type, principal_id),
    CONSTRAINT fk_rrp_run FOREIGN KEY (run_id, tenant_id)
        REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE,
    CONSTRAINT ck_rrp_principal_type CHECK (principal_type IN ('USER', 'GROUP')),
    CONSTRAINT ck_rrp_period CHECK (period_end > period_start),
    CONSTRAINT ck_rrp_counts CHECK (deals_created_count >= 0 AND deals_closed_won_count >= 0
        AND deals_closed_lost_count >= 0
        AND deals_closed_won_count + deals_closed_lost_count <= deals_created_count),
    CONSTRAINT ck_rrp_win_rate CHECK (win_rate BETWEEN 0 AND 1)
);

CREATE INDEX IF NOT EXISTS ix_rrp_tenant_principal
    ON dyno_crm.report_rep_performance_fact (tenant_id, principal_type, principal_id);

CREATE INDEX IF NOT EXISTS ix_rrp_period
    ON dyno_crm.report_rep_performance_fact (period_start, period_end);

-- ISO 8601 text of a timestamp in the session's TimeZone, with the zone's offset
-- ("2026-10-01T00:00:00-04:00"; microseconds only when there are some). ODBC has no
-- timestamptz type, so every timestamp leaves the database through this function.
CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_iso8601(ts timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS 'SELECT to_char(ts, ''YYYY-MM-DD"T"HH24:MI:SS'')
            || CASE WHEN extract(microseconds FROM ts)::bigint % 1000000 <> 0
                    THEN to_char(ts, ''.US'') ELSE '''' END
            || to_char(ts, ''TZH:TZM'')';
