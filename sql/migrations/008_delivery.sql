-- dynoreport schema version 8: a record of every delivery of a run's files (docs/delivery.md):
-- one row per delivery to one destination (a [delivery NAME] of the configuration), written
-- when the delivery starts (status 'running') and updated when it ends ('delivered' or
-- 'failed') with the number of attempts and, for a failure, the last error (never a secret).
-- Deleted with its run.

CREATE TABLE IF NOT EXISTS dyno_crm.report_delivery (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    run_id      uuid        NOT NULL,
    tenant_id   uuid        NOT NULL,
    destination text        NOT NULL,
    kind        text        NOT NULL,
    target      text        NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    error       text,
    CONSTRAINT pk_report_delivery PRIMARY KEY (id),
    CONSTRAINT fk_report_delivery_run FOREIGN KEY (run_id, tenant_id)
        REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE,
    CONSTRAINT ck_report_delivery_status CHECK (status IN ('running', 'delivered', 'failed')),
    CONSTRAINT ck_report_delivery_attempts CHECK (attempts >= 0)
);

CREATE INDEX IF NOT EXISTS ix_report_delivery_run ON dyno_crm.report_delivery (run_id, id);
