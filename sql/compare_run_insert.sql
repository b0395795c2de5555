-- The header of a run's comparison period (--compare previous | year-ago): a run of its
-- own, computed by the same statements, tied to the run it compares with by
-- comparison_for and deleted with it. :start / :end as dynoreport_iso8601 wrote them.
INSERT INTO dyno_crm.report_run (id, tenant_id, report_type, generated_at, period_start,
                                 period_end, period_label, time_zone, parameters,
                                 tool_version, comparison_for)
SELECT :compare_run_id::uuid, r.tenant_id, r.report_type, r.generated_at,
       dyno_crm.dynoreport_timestamptz(:start), dyno_crm.dynoreport_timestamptz(:end), :label,
       r.time_zone,
       r.parameters || jsonb_build_object('comparison_for', r.id::text, 'compare', :compare::text),
       r.tool_version, r.id
FROM dyno_crm.report_run r
WHERE r.id = :run_id::uuid
