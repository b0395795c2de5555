-- The header rows of new runs of one period, one per tenant: :run_ids and :tenants are
-- array literals of the same length (the i-th run is the i-th tenant's); :report is the
-- report type (DR_REPORT_NAME), :principals NULL for all principals, else a comma list of
-- TYPE:uuid, :formats a comma list; :start and :end are ISO 8601 texts from
-- dynoreport_iso8601 (dynoreport_timestamptz reads them).
INSERT INTO dyno_crm.report_run (id, tenant_id, report_type, generated_at, period_start,
                                 period_end, period_label, time_zone, parameters, tool_version)
SELECT t.run_id, t.tenant, :report, now(), dyno_crm.dynoreport_timestamptz(:start),
       dyno_crm.dynoreport_timestamptz(:end), :label, :tz, jsonb_build_object(
         'principals', CASE WHEN :principals::text IS NULL THEN to_jsonb('all'::text)
                            ELSE to_jsonb(string_to_array(:principals::text, ',')) END,
         'period', :period::text, 'time_zone', :tz::text,
         'formats', to_jsonb(string_to_array(:formats::text, ','))), :version
FROM unnest(:run_ids::uuid[], :tenants::uuid[]) AS t(run_id, tenant)
