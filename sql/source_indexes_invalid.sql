-- The source indexes (source_indexes.sql: named ix_dynoreport_*) that a build which did not
-- finish left INVALID (CREATE INDEX CONCURRENTLY cancelled, timed out, or failed), with the
-- table each is on and the statement that drops it without blocking CRM writes.
SELECT n.nspname || '.' || c.relname, i.indrelid::regclass::text,
       format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', n.nspname, c.relname)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'dyno_crm' AND c.relname LIKE 'ix\_dynoreport\_%' AND NOT i.indisvalid
ORDER BY 1
