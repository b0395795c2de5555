-- The headers of runs' comparison period (--compare previous | year-ago): each a run of its
-- own, computed by the same statement, tied to the run it compares with by comparison_for
-- and deleted with it. :compare_run_ids and :run_ids are array literals of the same length
-- (the i-th comparison run is the i-th run's); :start / :end as dynoreport_iso8601 wrote
-- them.
INSERT INTO dyno_crm.report_run (id, tenant_id, report_type, generated_at, period_start,
                                 period_end, period_label, time_zone, parameters,
                                 tool_version, comparison_for)
SELECT t.compare_run_id, r.tenant_id, r.report_type, r.generated_at,
       dyno_crm.dynoreport_timestamptz(:start), dyno_crm.dynoreport_timestamptz(:end), :label,
       r.time_zone,
       r.parameters || jsonb_build_object('comparison_for', r.id::text, 'compare', :compare::text),
       r.tool_version, r.id
FROM unnest(:compare_run_ids::uuid[], :run_ids::uuid[]) AS t(compare_run_id, run_id)
JOIN dyno_crm.report_run r ON r.id = t.run_id
