-- What `db init` checks after the migrations (core/schema.c): every object dynoreport owns,
-- as migrations 001-011 and schema_version_create.sql define them at schema version 11
-- (DR_SCHEMA_VERSION in core/schema.h: change both together). One row per object that is
-- missing or differs, ordered for repair:
--   step   the order to repair in (constraints before the indexes that follow them ...)
--   what   the object and how it differs, for the message
--   fix    one statement that repairs it, or NULL
--   rerun  the function-only migrations to run again, in this order, to repair it
--          (space-separated), or NULL
-- A row with neither cannot be repaired without losing or guessing data (a table or column
-- gone, a column of another type, a key on other columns): db init names it and exits 78.
-- The expected texts are what the server's own deparsers give (format_type,
-- pg_get_expr, pg_get_constraintdef, pg_get_indexdef) under the pinned search_path of
-- the tool's session, in which dyno_crm is not visible and so always written out.
-- Functions are compared by return type, volatility, SET clause and an md5 of the body.
--
-- Function-only migrations: the migration column of expected_functions names, for each
-- function, the migration that holds its current definition; the migrations named there
-- (004, 006, 007, 009, 010 and 011) are the function-only ones, and db init refuses to run one again unless
-- every statement of it is CREATE OR REPLACE FUNCTION. A function missing or changed is
-- repaired by running its migration again and then every later one named there, in
-- version order, so that a later definition of a function always wins over an earlier
-- one. A new function-only migration: its functions here, with their fingerprints
-- (md5(prosrc) after db init), and in schema_check.sql when statements call them.
WITH expected_tables (tbl) AS (
    VALUES ('report_run'), ('report_rep_performance_fact'), ('dynoreport_schema_version'),
           ('report_run_view'), ('report_run_principal_name'), ('report_run_total'),
           ('report_delivery')
),
expected_columns (tbl, col, typ, not_null, dflt) AS (
    VALUES ('report_run', 'id', 'uuid', true, NULL),
           ('report_run', 'tenant_id', 'uuid', true, NULL),
           ('report_run', 'report_type', 'character varying(40)', true, NULL),
           ('report_run', 'generated_at', 'timestamp with time zone', true, 'now()'),
           ('report_run', 'period_start', 'timestamp with time zone', true, NULL),
           ('report_run', 'period_end', 'timestamp with time zone', true, NULL),
           ('report_run', 'period_label', 'text', true, NULL),
           ('report_run', 'time_zone', 'text', true, NULL),
           ('report_run', 'parameters', 'jsonb', true, '''{}''::jsonb'),
           ('report_run', 'tool_version', 'text', true, NULL),
           ('report_run', 'comparison_for', 'uuid', false, NULL),
           ('report_rep_performance_fact', 'run_id', 'uuid', true, NULL),
           ('report_rep_performance_fact', 'tenant_id', 'uuid', true, NULL),
           ('report_rep_performance_fact', 'principal_type', 'character varying(20)', true, NULL),
           ('report_rep_performance_fact', 'principal_id', 'uuid', true, NULL),
           ('report_rep_performance_fact', 'period_start', 'timestamp with time zone', true, NULL),
           ('report_rep_performance_fact', 'period_end', 'timestamp with time zone', true, NULL),
           ('report_rep_performance_fact', 'deals_created_count', 'bigint', true, NULL),
           ('report_rep_performance_fact', 'deals_closed_won_count', 'bigint', true, NULL),
           ('report_rep_performance_fact', 'deals_closed_lost_count', 'bigint', true, NULL),
           ('report_rep_performance_fact', 'total_amount_won', 'numeric(14,2)', true, NULL),
           ('report_rep_performance_fact', 'avg_deal_size_won', 'numeric(14,2)', false, NULL),
           ('report_rep_performance_fact', 'avg_time_to_close_days', 'numeric(10,4)', false, NULL),
           ('report_rep_performance_fact', 'win_rate', 'numeric(5,4)', false, NULL),
           ('dynoreport_schema_version', 'version', 'integer', true, NULL),
           ('dynoreport_schema_version', 'name', 'text', true, NULL),
           ('dynoreport_schema_version', 'applied_at', 'timestamp with time zone', true, 'now()'),
           ('report_run_view', 'run_id', 'uuid', true, NULL),
           ('report_run_view', 'tenant_id', 'uuid', true, NULL),
           ('report_run_view', 'tenant_name', 'text', true, NULL),
           ('report_run_view', 'period_title', 'text', true, NULL),
           ('report_run_view', 'compare', 'text', true, NULL),
           ('report_run_view', 'compare_title', 'text', true, '''''::text'),
           ('report_run_view', 'currency', 'text', true, '''''::text'),
           ('report_run_principal_name', 'run_id', 'uuid', true, NULL),
           ('report_run_principal_name', 'tenant_id', 'uuid', true, NULL),
           ('report_run_principal_name', 'principal_type', 'character varying(20)', true, NULL),
           ('report_run_principal_name', 'principal_id', 'uuid', true, NULL),
           ('report_run_principal_name', 'name', 'text', true, NULL),
           ('report_run_total', 'run_id', 'uuid', true, NULL),
           ('report_run_total', 'tenant_id', 'uuid', true, NULL),
           ('report_run_total', 'principal_type', 'character varying(20)', true, NULL),
           ('report_run_total', 'deals_created_count', 'bigint', true, NULL),
           ('report_run_total', 'deals_closed_won_count', 'bigint', true, NULL),
           ('report_run_total', 'deals_closed_lost_count', 'bigint', true, NULL),
           ('report_run_total', 'total_amount_won', 'numeric(18,2)', true, NULL),
           ('report_run_total', 'avg_deal_size_won', 'numeric(14,2)', false, NULL),
           ('report_run_total', 'avg_time_to_close_days', 'numeric(10,4)', false, NULL),
           ('report_run_total', 'win_rate', 'numeric(5,4)', false, NULL),
           ('report_delivery', 'id', 'bigint', true, NULL),
           ('report_delivery', 'run_id', 'uuid', true, NULL),
           ('report_delivery', 'tenant_id', 'uuid', true, NULL),
           ('report_delivery', 'destination', 'text', true, NULL),
           ('report_delivery', 'kind', 'text', true, NULL),
           ('report_delivery', 'target', 'text', true, '''''::text'),
           ('report_delivery', 'started_at', 'timestamp with time zone', true, 'now()'),
           ('report_delivery', 'finished_at', 'timestamp with time zone', false, NULL),
           ('report_delivery', 'status', 'text', true, NULL),
           ('report_delivery', 'attempts', 'integer', true, '0'),
           ('report_delivery', 'error', 'text', false, NULL)
),
-- ddl: the definition as the migration writes it (for ADD CONSTRAINT);
-- def: what pg_get_constraintdef gives for it
expected_constraints (tbl, name, contype, ddl, def) AS (
    VALUES ('report_run', 'pk_report_run', 'p', 'PRIMARY KEY (id)', 'PRIMARY KEY (id)'),
           ('report_run', 'ux_report_run_id_tenant', 'u', 'UNIQUE (id, tenant_id)', 'UNIQUE (id, tenant_id)'),
           ('report_run', 'ck_report_run_period', 'c', 'CHECK (period_end > period_start)',
            'CHECK ((period_end > period_start))'),
           ('report_run', 'fk_report_run_comparison_for', 'f',
            'FOREIGN KEY (comparison_for, tenant_id) REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE',
            'FOREIGN KEY (comparison_for, tenant_id) REFERENCES dyno_crm.report_run(id, tenant_id) ON DELETE CASCADE'),
           ('report_rep_performance_fact', 'pk_rrp', 'p', 'PRIMARY KEY (run_id, principal_type, principal_id)',
            'PRIMARY KEY (run_id, principal_type, principal_id)'),
           ('report_rep_performance_fact', 'fk_rrp_run', 'f',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run(id, tenant_id) ON DELETE CASCADE'),
           ('report_rep_performance_fact', 'ck_rrp_principal_type', 'c', 'CHECK (principal_type IN (''USER'', ''GROUP''))',
            'CHECK (((principal_type)::text = ANY ((ARRAY[''USER''::character varying, ''GROUP''::character varying])::text[])))'),
           ('report_rep_performance_fact', 'ck_rrp_period', 'c', 'CHECK (period_end > period_start)',
            'CHECK ((period_end > period_start))'),
           ('report_rep_performance_fact', 'ck_rrp_counts', 'c',
            'CHECK (deals_created_count >= 0 AND deals_closed_won_count >= 0 AND deals_closed_lost_count >= 0'
            ' AND deals_closed_won_count + deals_closed_lost_count <= deals_created_count)',
            'CHECK (((deals_created_count >= 0) AND (deals_closed_won_count >= 0) AND (deals_closed_lost_count >= 0)'
            ' AND ((deals_closed_won_count + deals_closed_lost_count) <= deals_created_count)))'),
           ('report_rep_performance_fact', 'ck_rrp_win_rate', 'c', 'CHECK (win_rate BETWEEN 0 AND 1)',
            'CHECK (((win_rate >= (0)::numeric) AND (win_rate <= (1)::numeric)))'),
           ('dynoreport_schema_version', 'dynoreport_schema_version_pkey', 'p', 'PRIMARY KEY (version)',
            'PRIMARY KEY (version)'),
           ('report_run_view', 'pk_report_run_view', 'p', 'PRIMARY KEY (run_id)', 'PRIMARY KEY (run_id)'),
           ('report_run_view', 'fk_report_run_view_run', 'f',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run(id, tenant_id) ON DELETE CASCADE'),
           ('report_run_view', 'ck_report_run_view_compare', 'c', 'CHECK (compare IN (''previous'', ''year-ago'', ''none''))',
            'CHECK ((compare = ANY (ARRAY[''previous''::text, ''year-ago''::text, ''none''::text])))'),
           ('report_run_principal_name', 'pk_report_run_principal_name', 'p',
            'PRIMARY KEY (run_id, principal_type, principal_id)', 'PRIMARY KEY (run_id, principal_type, principal_id)'),
           ('report_run_principal_name', 'fk_report_run_principal_name_run', 'f',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run(id, tenant_id) ON DELETE CASCADE'),
           ('report_run_principal_name', 'ck_report_run_principal_name_type', 'c',
            'CHECK (principal_type IN (''USER'', ''GROUP''))',
            'CHECK (((principal_type)::text = ANY ((ARRAY[''USER''::character varying, ''GROUP''::character varying])::text[])))'),
           ('report_run_total', 'pk_report_run_total', 'p', 'PRIMARY KEY (run_id, principal_type)',
            'PRIMARY KEY (run_id, principal_type)'),
           ('report_run_total', 'fk_report_run_total_run', 'f',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run(id, tenant_id) ON DELETE CASCADE'),
           ('report_run_total', 'ck_report_run_total_type', 'c', 'CHECK (principal_type IN (''USER'', ''GROUP''))',
            'CHECK (((principal_type)::text = ANY ((ARRAY[''USER''::character varying, ''GROUP''::character varying])::text[])))'),
           ('report_run_total', 'ck_report_run_total_counts', 'c',
            'CHECK (deals_created_count >= 0 AND deals_closed_won_count >= 0 AND deals_closed_lost_count >= 0'
            ' AND deals_closed_won_count + deals_closed_lost_count <= deals_created_count)',
            'CHECK (((deals_created_count >= 0) AND (deals_closed_won_count >= 0) AND (deals_closed_lost_count >= 0)'
            ' AND ((deals_closed_won_count + deals_closed_lost_count) <= deals_created_count)))'),
           ('report_run_total', 'ck_report_run_total_win_rate', 'c', 'CHECK (win_rate BETWEEN 0 AND 1)',
            'CHECK (((win_rate >= (0)::numeric) AND (win_rate <= (1)::numeric)))'),
           ('report_delivery', 'pk_report_delivery', 'p', 'PRIMARY KEY (id)', 'PRIMARY KEY (id)'),
           ('report_delivery', 'fk_report_delivery_run', 'f',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run (id, tenant_id) ON DELETE CASCADE',
            'FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run(id, tenant_id) ON DELETE CASCADE'),
           ('report_delivery', 'ck_report_delivery_status', 'c',
            'CHECK (status IN (''running'', ''delivered'', ''failed''))',
            'CHECK ((status = ANY (ARRAY[''running''::text, ''delivered''::text, ''failed''::text])))'),
           ('report_delivery', 'ck_report_delivery_attempts', 'c', 'CHECK (attempts >= 0)',
            'CHECK ((attempts >= 0))')
),
expected_indexes (tbl, name, def) AS (
    VALUES ('report_run', 'ix_report_run_tenant_period',
            'CREATE INDEX ix_report_run_tenant_period ON dyno_crm.report_run USING btree (tenant_id, report_type, period_start)'),
           ('report_run', 'ux_report_run_comparison_for',
            'CREATE UNIQUE INDEX ux_report_run_comparison_for ON dyno_crm.report_run USING btree (comparison_for) WHERE (comparison_for IS NOT NULL)'),
           ('report_rep_performance_fact', 'ix_rrp_tenant_principal',
            'CREATE INDEX ix_rrp_tenant_principal ON dyno_crm.report_rep_performance_fact USING btree (tenant_id, principal_type, principal_id)'),
           ('report_rep_performance_fact', 'ix_rrp_period',
            'CREATE INDEX ix_rrp_period ON dyno_crm.report_rep_performance_fact USING btree (period_start, period_end)'),
           ('report_delivery', 'ix_report_delivery_run',
            'CREATE INDEX ix_report_delivery_run ON dyno_crm.report_delivery USING btree (run_id, id)')
),
expected_functions (sig, rettype, volatility, config, body_md5, migration) AS (
    VALUES ('dyno_crm.dynoreport_iso8601(timestamp with time zone)', 'text', 's',
            'search_path=pg_catalog, pg_temp', '715c840fd34df2149f09f7a083d239cf', '004_iso8601_era.sql'),
           ('dyno_crm.dynoreport_compact(timestamp with time zone)', 'text', 's',
            'search_path=pg_catalog, pg_temp', '9365da42c5a2ce156f15778a3a145c8d', '004_iso8601_era.sql'),
           ('dyno_crm.dynoreport_timestamptz(text)', 'timestamp with time zone', 'i',
            'search_path=pg_catalog, pg_temp', '1ce60710ddef3472ebfc0a5df6f7db6d', '004_iso8601_era.sql'),
           ('dyno_crm.dynoreport_day_words(timestamp without time zone, boolean)', 'text', 's',
            'search_path=pg_catalog, pg_temp', '4cbe32007410b39c5300ef3326ad52d9', '006_report_view_functions.sql'),
           ('dyno_crm.dynoreport_period_title(text, boolean, timestamp without time zone, timestamp without time zone)',
            'text', 's', 'search_path=pg_catalog, pg_temp', 'd972587eb9f607bac2f61c2296523647',
            '006_report_view_functions.sql'),
           ('dyno_crm.dynoreport_report_rows(uuid[], timestamp with time zone, timestamp with time zone, text)',
            'record', 's', 'search_path=pg_catalog, pg_temp;jit=off;enable_nestloop=off;parallel_tuple_cost=0.01;min_parallel_index_scan_size=1TB;plan_cache_mode=force_custom_plan',
            '903b1b42dfb892f8aa17dd8780191cab', '011_report_rows_one_worker.sql'),
           ('dyno_crm.dynoreport_report_store(uuid[], uuid[], uuid[], timestamp with time zone, timestamp with time zone, timestamp with time zone, timestamp with time zone, text)',
            'record', 'v', 'search_path=pg_catalog, pg_temp', 'a594a89478e3061ee0d5572f0e8c2400', '007_report_compute.sql')
),
tables AS (
    SELECT e.tbl, c.oid, c.relkind
    FROM expected_tables e
    LEFT JOIN pg_catalog.pg_class c
           ON c.relname = e.tbl AND c.relnamespace = 'dyno_crm'::regnamespace
),
columns AS (
    SELECT e.*, a.attnum, format_type(a.atttypid, a.atttypmod) AS actual_typ,
           a.attnotnull AS actual_notnull, pg_get_expr(d.adbin, d.adrelid) AS actual_dflt
    FROM expected_columns e
    JOIN tables t ON t.tbl = e.tbl AND t.relkind IN ('r', 'p')
    LEFT JOIN pg_catalog.pg_attribute a
           ON a.attrelid = t.oid AND a.attname = e.col AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
),
constraints AS (
    SELECT e.*, k.contype AS actual_contype, k.convalidated,
           pg_get_constraintdef(k.oid) AS actual_def
    FROM expected_constraints e
    JOIN tables t ON t.tbl = e.tbl AND t.relkind IN ('r', 'p')
    LEFT JOIN pg_catalog.pg_constraint k ON k.conrelid = t.oid AND k.conname = e.name
),
indexes AS (
    SELECT e.*, i.indexrelid, i.indisvalid, pg_get_indexdef(i.indexrelid) AS actual_def
    FROM expected_indexes e
    JOIN tables t ON t.tbl = e.tbl AND t.relkind IN ('r', 'p')
    LEFT JOIN pg_catalog.pg_class ic
           ON ic.relname = e.name AND ic.relnamespace = 'dyno_crm'::regnamespace
    LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = ic.oid AND i.indrelid = t.oid
),
-- rerun: the function's migration and every later function-only one, in version order
functions AS (
    SELECT e.*, p.oid, format_type(p.prorettype, NULL) AS actual_rettype, p.provolatile,
           array_to_string(p.proconfig, ';') AS actual_config, md5(p.prosrc) AS actual_md5,
           (SELECT string_agg(DISTINCT l.migration, ' ' ORDER BY l.migration)
              FROM expected_functions l WHERE l.migration >= e.migration) AS rerun
    FROM expected_functions e
    LEFT JOIN pg_catalog.pg_proc p ON p.oid = to_regprocedure(e.sig)
)
SELECT step, what, fix, rerun FROM (
    SELECT 0 AS step, 'table dyno_crm.' || tbl || CASE WHEN oid IS NULL THEN ' is missing'
                                                  ELSE ' is not a table (relkind ' || relkind::text || ')' END AS what,
           NULL AS fix, NULL AS rerun
    FROM tables WHERE oid IS NULL OR relkind NOT IN ('r', 'p')
    UNION ALL
    SELECT 0, 'column dyno_crm.' || tbl || '.' || col || ' is missing', NULL, NULL
    FROM columns WHERE attnum IS NULL
    UNION ALL
    SELECT 0, 'column dyno_crm.' || tbl || '.' || col || ' is ' || actual_typ || ', expected ' || typ, NULL, NULL
    FROM columns WHERE attnum IS NOT NULL AND actual_typ <> typ
    UNION ALL
    SELECT 1, 'column dyno_crm.' || tbl || '.' || col || CASE WHEN not_null THEN ' lost its NOT NULL'
                                                         ELSE ' became NOT NULL' END,
           'ALTER TABLE dyno_crm.' || tbl || ' ALTER COLUMN ' || col
               || CASE WHEN not_null THEN ' SET NOT NULL' ELSE ' DROP NOT NULL' END, NULL
    FROM columns WHERE attnum IS NOT NULL AND actual_typ = typ AND actual_notnull <> not_null
    UNION ALL
    SELECT 1, 'column dyno_crm.' || tbl || '.' || col || ' has '
              || COALESCE('the default ' || actual_dflt, 'no default') || ', expected '
              || COALESCE('the default ' || dflt, 'none'),
           'ALTER TABLE dyno_crm.' || tbl || ' ALTER COLUMN ' || col
               || COALESCE(' SET DEFAULT ' || dflt, ' DROP DEFAULT'), NULL
    FROM columns WHERE attnum IS NOT NULL AND actual_typ = typ AND actual_dflt IS DISTINCT FROM dflt
    UNION ALL
    SELECT CASE WHEN contype IN ('p', 'u') THEN 2 ELSE 3 END,
           'constraint ' || name || ' of dyno_crm.' || tbl || ' is missing',
           'ALTER TABLE dyno_crm.' || tbl || ' ADD CONSTRAINT ' || name || ' ' || ddl, NULL
    FROM constraints WHERE actual_contype IS NULL
    UNION ALL
    SELECT 3, 'constraint ' || name || ' of dyno_crm.' || tbl || ' is ''' || actual_def
              || ''', expected ''' || def || '''',
           CASE WHEN contype IN ('c', 'f') AND actual_contype IN ('c', 'f')
                THEN 'ALTER TABLE dyno_crm.' || tbl || ' DROP CONSTRAINT ' || name
                     || ', ADD CONSTRAINT ' || name || ' ' || ddl END, NULL
    FROM constraints WHERE actual_contype IS NOT NULL AND (actual_contype <> contype OR actual_def <> def)
    UNION ALL
    SELECT 3, 'constraint ' || name || ' of dyno_crm.' || tbl || ' is NOT VALID',
           'ALTER TABLE dyno_crm.' || tbl || ' VALIDATE CONSTRAINT ' || name, NULL
    FROM constraints WHERE actual_contype = contype AND actual_def = def AND NOT convalidated
    UNION ALL
    SELECT 4, 'index dyno_crm.' || name || ' is missing', def, NULL
    FROM indexes WHERE indexrelid IS NULL
    UNION ALL
    SELECT 4, 'index dyno_crm.' || name || ' is INVALID (a build that did not finish)',
           'REINDEX INDEX dyno_crm.' || name, NULL
    FROM indexes WHERE indexrelid IS NOT NULL AND actual_def = def AND NOT indisvalid
    UNION ALL
    SELECT 4, 'index dyno_crm.' || name || ' is ''' || actual_def || ''', expected ''' || def
              || ''' (drop it, and db init builds it again)', NULL, NULL
    FROM indexes WHERE indexrelid IS NOT NULL AND actual_def <> def
    UNION ALL
    SELECT 5, 'function ' || sig || ' is missing', NULL, rerun
    FROM functions WHERE oid IS NULL
    UNION ALL
    SELECT 5, 'function ' || sig || ' returns ' || actual_rettype || ', expected ' || rettype
              || ' (drop it, and db init creates it again)', NULL, NULL
    FROM functions WHERE oid IS NOT NULL AND actual_rettype <> rettype
    UNION ALL
    SELECT 5, 'function ' || sig || ' differs from its definition ('
              || concat_ws(', ', CASE WHEN actual_md5 <> body_md5 THEN 'body' END,
                           CASE WHEN provolatile <> volatility THEN 'volatility' END,
                           CASE WHEN actual_config IS DISTINCT FROM config THEN 'SET settings' END) || ')',
           NULL, rerun
    FROM functions
    WHERE oid IS NOT NULL AND actual_rettype = rettype
      AND (actual_md5 <> body_md5 OR provolatile <> volatility OR actual_config IS DISTINCT FROM config)
) AS problems
ORDER BY step, what
