"""`dynoreport runs list | show | prune` against the real PostgreSQL (issue 14, item 5).

Runs are made with `dynoreport run` (names from the [names] queries of the fixture
directory, so every table a run fills has rows), then moved back in time with SQL. What
the tool prints is compared with what the tables hold; a prune is checked table by
table (every dyno_crm.report_* table with a run_id, found in the catalog) for the runs it
removed and for those it kept."""
import json
import os
import re
import unittest

import drtest
from drtest import T1, T2

NAMES_DIRECTORY = os.path.join(drtest.FIXTURES, "names_directory.sql")
PRINCIPALS_SQL = os.path.join(drtest.FIXTURES, "names", "principals.sql")
TENANT_SQL = os.path.join(drtest.FIXTURES, "names", "tenant.sql")
HEADER = ["run_id", "tenant", "period", "start", "end", "time_zone", "generated_at", "principals", "rows",
          "formats"]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class RunsTestCase(drtest.FixtureTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db.execute_file(NAMES_DIRECTORY)

    def setUp(self):
        self.db.query("DELETE FROM dyno_crm.report_run")  # each test starts without runs
        self.outdir = self.make_dir()
        self.config = self.write_config(f"[names]\nprincipals = {PRINCIPALS_SQL}\ntenant = {TENANT_SQL}\n")

    def tool(self, *args):
        return drtest.run_tool(["--config", self.config] + list(args), connect=self.db.odbc)

    def make_run(self, tenant, period, tz="UTC", formats="csv", age=None):
        """A saved run (with its comparison run); AGE (an SQL interval) moves both back."""
        rc, out, err = self.tool("run", "--tenant", tenant, "--all-principals", "--period", period, "--tz", tz,
                                 "--format", formats, "--output-dir", self.outdir)
        run_id, _ = self.assert_run_ok(rc, out, err, nfiles=len(formats.split(",")))
        # the record a delivery leaves (test_delivery_* make real ones), so that every table
        # holding rows of a run has some here and prune must take them with the run
        self.db.query("INSERT INTO dyno_crm.report_delivery (run_id, tenant_id, destination, kind, target,"
                      " status, attempts) VALUES (%s, %s, 'drop', 'dir', 'file:///srv/drop', 'delivered', 1)",
                      (run_id, tenant))
        if age is not None:
            self.age(run_id, age)
        return run_id

    def age(self, run_id, interval):
        self.db.query("UPDATE dyno_crm.report_run SET generated_at = now() - %s::interval"
                      " WHERE id = %s OR comparison_for = %s", (interval, run_id, run_id))

    def family(self, run_id):
        """The run and its comparison run."""
        return [run_id] + [c for c in [drtest.comparison_of(self.db, run_id)] if c]

    def rows_of(self, run_ids):
        """{table: rows} of the runs RUN_IDS (and their comparison runs) in every report table."""
        ids = [i for r in run_ids for i in self.family(r)]
        out = {}
        for t in drtest.report_tables(self.db):
            col = "id" if t == "report_run" else "run_id"
            has = self.db.query("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'dyno_crm'"
                                " AND table_name = %s AND column_name = %s", (t, col))[0][0]
            if has:
                out[t] = self.db.query(f'SELECT count(*), md5(coalesce(string_agg(x::text, \'|\' ORDER BY x::text),'
                                       f' \'\')) FROM dyno_crm."{t}" AS x WHERE {col}::text = ANY(%s)', (ids,))[0]
        return out


class ListTests(RunsTestCase):

    def list_runs(self, *args):
        rc, out, err = self.tool("runs", "list", *args)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split("\t"), HEADER)
        return [line.split("\t") for line in lines[1:]]

    def test_list_newest_first_with_every_field(self):
        old = self.make_run(T1, "2026-03", tz="Europe/Berlin", formats="csv,json", age="3 days")
        mid = self.make_run(T1, "2026-10", tz="America/New_York", age="2 days")
        new = self.make_run(T2, "2026-03")
        rows = self.list_runs()
        self.assertEqual([r[0] for r in rows], [new, mid, old])
        # the comparison runs are rows of report_run too, and never listed
        self.assertEqual(self.db.query("SELECT count(*) FROM dyno_crm.report_run")[0][0], 6)
        for run_id in (old, mid, new):
            self.assertNotIn(drtest.comparison_of(self.db, run_id), [r[0] for r in rows])
        by_id = {r[0]: r for r in rows}
        self.assertEqual(by_id[old][1:6], [T1, "2026-03", "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00",
                                           "Europe/Berlin"])
        self.assertEqual(by_id[mid][1:6], [T1, "2026-10", "2026-10-01T00:00:00-04:00", "2026-11-01T00:00:00-04:00",
                                           "America/New_York"])
        self.assertEqual(by_id[new][1:6], [T2, "2026-03", "2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00",
                                           "UTC"])
        for run_id, formats in ((old, "csv,json"), (mid, "csv"), (new, "csv")):
            generated = self.db.query("SELECT to_char(generated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                                      " FROM dyno_crm.report_run WHERE id = %s", (run_id,))[0][0]
            self.assertEqual(by_id[run_id][6:], [generated, "all", str(drtest.count_run_facts(self.db, run_id)),
                                                 formats])
        self.assertGreater(int(by_id[old][8]), 0)

    def test_list_filters_and_limit(self):
        a = self.make_run(T1, "2026-01", age="10 days")
        b = self.make_run(T2, "2026-02", age="5 days")
        c = self.make_run(T1, "2026-03")
        self.assertEqual([r[0] for r in self.list_runs("--tenant", T1)], [c, a])
        self.assertEqual([r[0] for r in self.list_runs("--tenant", T2.upper())], [b])
        since = self.db.query("SELECT to_char(now() - interval '7 days', 'YYYY-MM-DD\"T\"HH24:MI:SS')")[0][0]
        self.assertEqual([r[0] for r in self.list_runs("--since", since)], [c, b])
        self.assertEqual([r[0] for r in self.list_runs("--since", since + "+00:00", "--tenant", T1)], [c])
        self.assertEqual([r[0] for r in self.list_runs("--limit", "2")], [c, b])
        self.assertEqual([r[0] for r in self.list_runs("--limit", "1", "--tenant", T2)], [b])
        rc, out, err = self.tool("runs", "list", "--no-header", "--limit", "1")
        self.assertEqual((rc, out.split("\t")[0]), (0, c), err)
        self.assertEqual(self.list_runs("--tenant", "33333333-3333-4333-8333-333333333333"), [])

    def test_list_bad_values_are_usage_errors(self):
        self.make_run(T1, "2026-03")
        for args, shown in ((["--tenant", "x"], "'x'"), (["--limit", "0"], "'0'"), (["--limit", "ten"], "'ten'"),
                            (["--limit", "100001"], "'100001'"), (["--since", "2026-13-01"], "'2026-13-01'"),
                            (["--bogus"], "--bogus"), (["extra"], "'extra'")):
            with self.subTest(args=args):
                rc, out, err = self.tool("runs", "list", *args)
                self.assertEqual(rc, 64, err)
                self.assertEqual(out, "")
                self.assertIn(shown, err)
                if args[0] in ("--bogus", "extra", "--limit"):
                    self.assertIn("Try 'dynoreport runs --help'", err)


class ShowTests(RunsTestCase):

    def show(self, run_id):
        rc, out, err = self.tool("runs", "show", run_id)
        self.assertEqual(rc, 0, err)
        fields = {}
        for line in out.splitlines():
            m = re.match(r"^([a-z ]+):\s+(.*)$", line)
            if m and not line.startswith(" "):
                fields.setdefault(m.group(1), m.group(2))
        return out, fields

    def test_show_everything_stored(self):
        run_id = self.make_run(T1, "2026-03", tz="Europe/Berlin", formats="csv,json")
        out, f = self.show(run_id)
        (params, version, name, title, compare_title), = self.db.query(
            "SELECT r.parameters, r.tool_version, v.tenant_name, v.period_title, v.compare_title"
            " FROM dyno_crm.report_run r JOIN dyno_crm.report_run_view v ON v.run_id = r.id WHERE r.id = %s",
            (run_id,))
        self.assertEqual(f["run"], run_id)
        self.assertEqual(f["tenant"], f"{T1} ({name})")
        self.assertEqual(f["report"], "rep_performance")
        self.assertEqual(f["period"], f"2026-03 ({title}) [2026-03-01T00:00:00+01:00, 2026-04-01T00:00:00+02:00)")
        self.assertEqual(f["time zone"], "Europe/Berlin")
        self.assertRegex(f["generated at"], r"^2\d{3}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+0[12]:00$")
        self.assertEqual(f["tool version"], version)
        self.assertEqual(json.loads(f["parameters"]), params)
        self.assertEqual(f["compare"], f"previous ({compare_title})")
        comparison = drtest.comparison_of(self.db, run_id)
        self.assertEqual(f["comparison run"], f"{comparison} 2026-02 [2026-02-01T00:00:00+01:00, "
                         f"2026-03-01T00:00:00+01:00), {drtest.count_run_facts(self.db, comparison)} rows")
        users, groups, names = self.db.query(
            "SELECT count(*) FILTER (WHERE principal_type = 'USER'), count(*) FILTER (WHERE principal_type = 'GROUP'),"
            " (SELECT count(*) FROM dyno_crm.report_run_principal_name WHERE run_id = %s)"
            " FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s", (run_id, run_id))[0]
        self.assertGreater(names, 0)
        self.assertEqual(f["rows"], f"{users + groups} ({users} users, {groups} groups); {names} names, 2 total rows, "
                         "1 view row")
        totals = self.db.query("SELECT t.principal_type, t.deals_created_count, t.total_amount_won::text"
                               " FROM dyno_crm.report_run_total t JOIN dyno_crm.report_run r ON r.id = t.run_id"
                               " WHERE r.id = %s OR r.comparison_for = %s", (run_id, run_id))
        total_lines = [line for line in out.splitlines() if re.search(r"(run|comparison) (USER|GROUP): created", line)]
        self.assertEqual(len(total_lines), len(totals))
        for ptype, created, amount in totals:
            self.assertTrue(any(f"{ptype}: created {created}," in line and f"amount won {amount}," in line
                                for line in total_lines), (ptype, total_lines))
        # the ranked list: the first ten by amount won, with the names stored with the run
        expected = self.db.query(
            "SELECT f.principal_type || ':' || f.principal_id, COALESCE(n.name, '(no name)'), f.total_amount_won::text"
            " FROM dyno_crm.report_rep_performance_fact f LEFT JOIN dyno_crm.report_run_principal_name n"
            " USING (run_id, principal_type, principal_id) WHERE f.run_id = %s"
            " ORDER BY f.total_amount_won DESC, f.deals_closed_won_count DESC, f.principal_type, f.principal_id"
            " LIMIT 10", (run_id,))
        ranked = [line for line in out.splitlines() if re.match(r"^ +\d+\. ", line)]
        self.assertEqual(len(ranked), len(expected))
        for i, (line, (principal, pname, amount)) in enumerate(zip(ranked, expected), 1):
            self.assertTrue(line.startswith(f"{i:4d}. {principal}  {pname}  amount won {amount},"), (line, pname))
        # the deliveries last, one block each (make_run recorded one)
        lines = out.splitlines()
        start = lines.index("deliveries:")
        self.assertEqual(lines[start + 1], "  drop (dir): delivered after 1 attempt")
        self.assertEqual(lines[start + 2].split(), ["target:", "file:///srv/drop"])
        self.assertEqual(len(lines), start + 5, "nothing after the deliveries")

    def test_show_escapes_every_delivery_column(self):
        """A delivery record is data: its kind (any text a plugin's kind or a hand-edited row
        holds) is shown escaped like its destination, target and error, never as terminal
        control bytes."""
        run_id = self.make_run(T1, "2026-03")
        self.db.query("UPDATE dyno_crm.report_delivery SET kind = E'dir\\x1b[2J', destination = E'drop\\x07',"
                      " error = E'bad\\x1b]0;title\\x07' WHERE run_id = %s", (run_id,))
        out, _ = self.show(run_id)
        self.assertNotIn("\x1b", out)
        self.assertNotIn("\x07", out)
        self.assertIn("  drop\\x07 (dir\\x1b[2J): delivered after 1 attempt", out)
        self.assertIn("    error:    bad\\x1b]0;title\\x07", out)

    def test_show_unknown_id_is_65_and_bad_id_64(self):
        run_id = self.make_run(T1, "2026-03")
        unknown = "00000000-0000-4000-8000-000000000000"
        rc, out, err = self.tool("runs", "show", unknown)
        self.assertEqual((rc, out), (65, ""), err)
        self.assertIn(f"no run '{unknown}'", err)
        # a comparison run is part of its run: not shown on its own, the message names the run
        comparison = drtest.comparison_of(self.db, run_id)
        rc, out, err = self.tool("runs", "show", comparison)
        self.assertEqual((rc, out), (65, ""), err)
        self.assertIn(f"comparison period of run {run_id}", err)
        for args in (["not-a-uuid"], [], [run_id, "more"]):
            with self.subTest(args=args):
                rc, out, err = self.tool("runs", "show", *args)
                self.assertEqual((rc, out), (64, ""), err)


class PruneTests(RunsTestCase):

    def prune(self, *args, rc=0):
        got, out, err = self.tool("runs", "prune", *args)
        self.assertEqual(got, rc, err)
        return [line.split("\t") for line in out.splitlines()], err

    def assert_gone(self, run_ids, families):
        """No row of RUN_IDS or of their comparison runs (FAMILIES: the ids from before) in any table."""
        ids = [i for f in families for i in f]
        for t in drtest.report_tables(self.db):
            col = "id" if t == "report_run" else "run_id"
            n = self.db.query(f'SELECT count(*) FROM dyno_crm."{t}" WHERE {col}::text = ANY(%s)', (ids,))[0][0]
            self.assertEqual(n, 0, f"{t} still holds rows of the pruned runs {run_ids}")

    def test_dry_run_deletes_nothing(self):
        old1 = self.make_run(T1, "2026-01", age="500 days")
        old2 = self.make_run(T2, "2026-02", age="400 days")
        self.make_run(T1, "2026-03")
        before = drtest.report_checksums(self.db)
        lines, err = self.prune("--older-than", "13months", "--dry-run")
        self.assertEqual([line[0] for line in lines], [old1, old2])  # oldest first
        self.assertEqual(lines[0][1:3], [T1, "2026-01"])
        self.assertEqual(lines[0][4], str(sum(drtest.count_run_facts(self.db, i) for i in self.family(old1))))
        self.assertIn("would remove 2 runs", err)
        self.assertIn("nothing was deleted", err)
        self.assertEqual(drtest.report_checksums(self.db), before)

    def test_prune_never_touches_runs_newer_than_the_cut(self):
        old = self.make_run(T1, "2026-03", age="1 year 1 day")
        just_newer = self.make_run(T1, "2026-03", age="1 year - 1 hour")
        new = self.make_run(T2, "2026-03")
        families = {r: self.family(r) for r in (old, just_newer, new)}
        kept_before = self.rows_of([just_newer, new])
        self.assertTrue(all(n > 0 for n, _ in self.rows_of([old]).values()), self.rows_of([old]))
        lines, err = self.prune("--older-than", "1year")
        self.assertEqual([line[0] for line in lines], [old])
        self.assertRegex(err, r"runs prune: removed 1 run \(with 1 comparison run and \d+ fact rows\) generated "
                              r"before \d{4}-")
        self.assert_gone([old], [families[old]])
        self.assertEqual(self.rows_of([just_newer, new]), kept_before)
        new_before = self.rows_of([new])
        # a date as the cut: the run generated after it stays
        cut = self.db.query("SELECT to_char(now() - interval '300 days', 'YYYY-MM-DD')")[0][0]
        lines, err = self.prune("--older-than", cut)
        self.assertEqual([line[0] for line in lines], [just_newer])
        self.assert_gone([just_newer], [families[just_newer]])
        self.assertEqual(self.rows_of([new]), new_before)
        self.assertEqual([r[0] for r in self.db.query("SELECT id::text FROM dyno_crm.report_run r" + drtest.MAIN_RUNS)],
                         [new])
        lines, err = self.prune("--older-than", "1d")
        self.assertEqual(lines, [])
        self.assertIn("no run generated before", err)

    def test_keep_last_per_tenant(self):
        t1 = [self.make_run(T1, p, age=f"{800 - i} days") for i, p in enumerate(("2026-01", "2026-02", "2026-03",
                                                                                 "2026-04"))]
        t2 = self.make_run(T2, "2026-03", age="900 days")
        kept_before = self.rows_of(t1[2:] + [t2])
        families = [self.family(r) for r in t1[:2]]
        lines, err = self.prune("--older-than", "2years", "--keep-last", "2")
        self.assertEqual([line[0] for line in lines], t1[:2])
        self.assertIn("keeping the newest 2 of each tenant and report type", err)
        self.assert_gone(t1[:2], families)
        self.assertEqual(self.rows_of(t1[2:] + [t2]), kept_before)
        # --tenant: only that tenant's runs
        t1_before = self.rows_of(t1[2:])
        lines, err = self.prune("--older-than", "2years", "--tenant", T2)
        self.assertEqual([line[0] for line in lines], [t2])
        self.assertEqual(self.rows_of(t1[2:]), t1_before)
        self.assertEqual(sorted(r[0] for r in self.db.query("SELECT id::text FROM dyno_crm.report_run r"
                                                            + drtest.MAIN_RUNS)), sorted(t1[2:]))

    def test_bad_values_are_usage_errors_and_delete_nothing(self):
        self.make_run(T1, "2026-01", age="3 years")
        before = drtest.report_checksums(self.db)
        for args, shown in ((["--older-than", "13"], "'13'"), (["--older-than", "months"], "'months'"),
                            (["--older-than", "0days"], "'0days'"), (["--older-than", "13 months"], "'13 months'"),
                            (["--older-than", "1.5years"], "'1.5years'"), (["--older-than", "13mo"], "'13mo'"),
                            (["--older-than", "100001days"], "'100001days'"),
                            (["--older-than", "2026-13-01"], "'2026-13-01'"), (["--older-than", ""], "''"),
                            (["--older-than", "1y", "--keep-last", "-1"], "'-1'"),
                            (["--older-than", "1y", "--tenant", "nope"], "'nope'"), ([], "missing --older-than"),
                            (["--older-than", "2999-01-01"], "after now")):
            with self.subTest(args=args):
                lines, err = self.prune(*args, rc=64)
                self.assertEqual(lines, [])
                self.assertIn(shown, err)
                if shown.startswith("'") and args[1:2] != ["1y"]:
                    self.assertIn("13months", err)  # the accepted forms are named
        self.assertEqual(drtest.report_checksums(self.db), before)


if __name__ == "__main__":
    unittest.main()
