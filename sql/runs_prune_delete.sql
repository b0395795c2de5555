-- `runs prune`: delete the main runs :ids (a comma list of UUIDs) that runs_prune_select
-- chose, again only if generated before :cut, so a run newer than the cut is never
-- touched. ON DELETE CASCADE takes the fact rows, the comparison run (and its rows), the
-- view, totals and names with each.
DELETE FROM dyno_crm.report_run
WHERE id = ANY (string_to_array(:ids::text, ',')::uuid[])
  AND comparison_for IS NULL
  AND generated_at < dyno_crm.dynoreport_timestamptz(:cut)
