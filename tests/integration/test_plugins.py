"""Third-party and misbehaving plugins, against the real binary and PostgreSQL.

- the example Markdown plugin is compiled here with `cc` and only include/ on the
  include path (outside the CMake build) and used through --plugin-dir;
- test plugins built by the suite (tests/plugins/) claim a wrong ABI, lack the entry
  symbol, fail in open/row/end on request, or print garbage on stdout. Each gives the
  documented exit code, a message naming the plugin, no row in any report table and no
  file.
"""
import decimal
import os
import shutil
import subprocess
import unittest

import drtest
from drtest import T1

PERIOD = ["--tenant", T1, "--all-principals", "--period", "2026-03", "--tz", "America/New_York"]


def build_example(dest_dir):
    """Compile examples/plugins/markdown with nothing but the public header."""
    src = os.path.join(drtest.REPO_ROOT, "examples", "plugins", "markdown")
    out = os.path.join(dest_dir, "markdown.so")
    cc = shutil.which("cc") or shutil.which("gcc")
    p = subprocess.run(
        ["make", "-s", "-B", "-C", src, f"CC={cc}",
         f"DYNOREPORT_INCLUDE={os.path.join(drtest.REPO_ROOT, 'include')}", f"OUT={out}"],
        capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(out):
        raise AssertionError(f"building the example plugin failed: {p.stdout}{p.stderr}")
    return out


class ExamplePluginTest(drtest.FixtureTestCase):
    def test_markdown_plugin_built_outside_the_tree(self):
        plugdir = self.make_dir()
        build_example(plugdir)
        rc, out, err = drtest.run_tool(["plugins", "--plugin-dir", plugdir], plugin_path=False)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^markdown\s+1\.0\.0\s+1\s+" + plugdir)

        outdir = self.make_dir()
        rc, out, err = drtest.run_tool(
            ["run", *PERIOD, "--plugin-dir", plugdir, "--format", "markdown,csv",
             "--output-dir", outdir], connect=self.db.odbc)
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=2)
        md = [p for p in paths if p.endswith(".md")]
        self.assertEqual(len(md), 1, paths)
        with open(md[0], encoding="utf-8") as f:
            text = f.read()
        self.assert_markdown_report(text, run_id)

    def assert_markdown_report(self, text, run_id):
        """The example asks for the report view, so it writes a report for people: a title
        with the tenant's name and the period in words, the comparison period, then reps and
        teams in separate tables ranked by amount won (then deals won, name, id), names
        instead of UUIDs, the comparison's amount won and the change, each table closed by
        its total row (each deal once). Expected from the database: the run's own fact rows
        and those of its comparison run (each by run id), the stored names and totals."""
        (tenant_name,) = self.db.query("SELECT tenant_name FROM dyno_crm.report_run_view WHERE run_id = %s",
                                       (run_id,))[0]
        self.assertEqual(tenant_name, "[tenant 11111111]", "no [names]: the marked fallback")
        cmp_id = drtest.comparison_of(self.db, run_id)
        self.assertIsNotNone(cmp_id, "the default --compare previous stores a comparison run")
        self.assertEqual(self.db.query("SELECT period_label FROM dyno_crm.report_run WHERE id = %s",
                                       (cmp_id,))[0][0], "2026-02")
        names = dict(((t, i), n) for t, i, n in self.db.query(
            "SELECT principal_type, principal_id::text, name FROM dyno_crm.report_run_principal_name"
            " WHERE run_id = %s", (run_id,)))

        def facts(rid):
            return {(r[0], r[1]): r[2:] for r in self.db.query(
                "SELECT principal_type, principal_id::text, deals_created_count, deals_closed_won_count,"
                " total_amount_won, win_rate FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s",
                (rid,))}
        now, prev = facts(run_id), facts(cmp_id)
        self.assertGreater(len(now), 0)
        totals = {r[0]: r[1:] for r in self.db.query(
            "SELECT principal_type, deals_created_count, deals_closed_won_count, total_amount_won, win_rate"
            " FROM dyno_crm.report_run_total WHERE run_id = %s", (run_id,))}
        prev_totals = {r[0]: r[1] for r in self.db.query(
            "SELECT principal_type, total_amount_won FROM dyno_crm.report_run_total WHERE run_id = %s",
            (cmp_id,))}

        def money(v):
            return "" if v is None else f"{v:.2f}"

        def rate(v):
            return "" if v is None else f"{(v * 100).quantize(decimal.Decimal('0.01'))}%"

        def change(amount, before):
            if before is None:
                return ""
            d = amount - before
            return ("+" if d > 0 else "") + f"{d:.2f}"

        def name_of(ptype, pid):
            return names.get((ptype, pid), f"[{'user' if ptype == 'USER' else 'team'} {pid[:8]}]")

        expected = ["# rep_performance: [tenant 11111111], March 2026 (America/New_York)", "",
                    "Compared with February 2026."]
        for ptype, title, total_name in (("USER", "Reps", "All reps"), ("GROUP", "Teams", "All teams")):
            keys = [k for k in now if k[0] == ptype] + [k for k in prev if k[0] == ptype and k not in now]
            if not keys:
                continue
            rows = []
            for k in keys:
                zero = (0, 0, decimal.Decimal("0.00"), None)  # a principal gone since: zeros now
                created, won, amount, wr = now.get(k, zero)
                rows.append((amount, won, name_of(*k), k[1], created, wr, k))
            rows.sort(key=lambda r: (-r[0], -r[1], r[2], r[3]))
            expected += ["", f"## {title}", "",
                         "| Rank | Name | Deals created | Deals won | Win rate | Amount won |"
                         " Amount won, February 2026 | Change |",
                         "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for rank, (amount, won, name, pid, created, wr, k) in enumerate(rows, 1):
                before = prev[k][2] if k in prev else None
                shown = name + (" (gone)" if k not in now else "")
                expected.append(f"| {rank} | {shown} | {created} | {won} | {rate(wr)} | {money(amount)} |"
                                f" {money(before)} | {'new' if k not in prev else change(amount, before)} |")
            self.assertIn(ptype, totals, f"no total row stored for {ptype}")
            t_created, t_won, t_amount, t_rate = totals[ptype]
            t_before = prev_totals.get(ptype)
            expected += [f"|  | **{total_name}** | {t_created} | {t_won} | {rate(t_rate)} | {money(t_amount)} |"
                         f" {money(t_before)} | {change(t_amount, t_before)} |",
                         "", "The total counts each deal once, so it is not the sum of the rows above"
                         " (a deal can belong to several)."]
        self.assertEqual(text.splitlines(), expected)
        # the fixture has both kinds, and no UUID is shown (names, or the marked fallback)
        self.assertIn("## Reps", text)
        self.assertIn("## Teams", text)
        self.assertNotIn(T1, text)
        self.assertNotRegex(text, r"[0-9a-f]{8}-[0-9a-f]{4}-")

    def test_example_option_is_checked_by_the_plugin(self):
        plugdir = self.make_dir()
        build_example(plugdir)
        outdir = self.make_dir()
        before = drtest.report_rows(self.db)
        rc, out, err = drtest.run_tool(
            ["run", *PERIOD, "--plugin-dir", plugdir, "--format", "csv,markdown",
             "--opt", "markdown.labels=maybe", "--output-dir", outdir], connect=self.db.odbc)
        self.assertEqual(rc, 64, err)
        self.assertIn("'maybe'", err)
        self.assertEqual(out, "")
        self.assert_dir_empty(outdir)
        self.assert_nothing_saved(self.db, before)


class BadPluginTest(drtest.FixtureTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plugdir = os.environ.get("DYNOREPORT_TEST_PLUGIN_DIR", "")
        if not os.path.isfile(os.path.join(cls.plugdir, "faulty.so")):
            raise AssertionError(f"DYNOREPORT_TEST_PLUGIN_DIR={cls.plugdir!r} has no faulty.so (run via ctest)")

    def run_failing(self, formats, opts, rc_expected, message):
        outdir = self.make_dir()
        before = drtest.report_rows(self.db)
        args = ["run", *PERIOD, "--plugin-dir", self.plugdir, "--format", formats, "--output-dir", outdir]
        for o in opts:
            args += ["--opt", o]
        rc, out, err = drtest.run_tool(args, connect=self.db.odbc)
        self.assertEqual(rc, rc_expected, f"stderr: {err}")
        self.assertIn(message, err)
        self.assertEqual(out, "", "nothing may be announced on stdout after a failure")
        self.assert_dir_empty(outdir)
        self.assert_nothing_saved(self.db, before)
        return err

    def test_failures(self):
        cases = [
            # formats, options, exit code, text in the message
            ("badabi", [], 78, "built for plugin ABI 99"),
            ("csv,badabi", [], 78, "badabi.so"),
            ("noentry", [], 78, "no 'dr_plugin_entry' entry point"),
            ("faulty", ["faulty.fail_in=open"], 70, "failing in open as asked"),
            ("csv,faulty", ["faulty.fail_in=row"], 74, "failing in row 1 as asked"),
            ("csv,faulty", ["faulty.fail_in=row", "faulty.after=3"], 74, "failing in row 4 as asked"),
            ("faulty,csv", ["faulty.fail_in=end"], 70, "failing in end as asked"),
            ("faulty", ["faulty.nonsense=1"], 64, "unknown option 'faulty.nonsense'"),
        ]
        for formats, opts, rc, message in cases:
            with self.subTest(formats=formats, opts=opts):
                self.run_failing(formats, opts, rc, message)

    def test_garbage_on_stdout_does_not_break_the_contract(self):
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool(
            ["run", *PERIOD, "--plugin-dir", self.plugdir, "--format", "faulty,csv",
             "--opt", "faulty.stdout=true", "--output-dir", outdir], connect=self.db.odbc)
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=2)
        self.assertNotIn("garbage", out)
        self.assertIn("garbage from a plugin on stdout", err)

    def test_abi_1_0_descriptor_is_accepted_and_read_only_up_to_its_size(self):
        # oldsize.so puts an aborting check_options past its 1.0 size: reading it would crash
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool(
            ["run", *PERIOD, "--plugin-dir", self.plugdir, "--format", "oldsize,csv",
             "--output-dir", outdir], connect=self.db.odbc)
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=2)
        facts = self.db.query("SELECT principal_id::text FROM dyno_crm.report_rep_performance_fact"
                              " WHERE run_id = %s ORDER BY principal_type, principal_id", (run_id,))
        with open([p for p in paths if p.endswith(".txt")][0], encoding="utf-8") as f:
            self.assertEqual(f.read().splitlines(), [r[0] for r in facts])

    def test_bad_option_value_is_refused_before_the_database_is_touched(self):
        # ABI 1.1 check_options: with an unreachable database, a bad value still gives 64
        # (the option check ran first), not 69 (a connection attempt)
        unreachable = drtest.odbc_set(self.db.odbc, "Port", "1")
        for formats, opt, shown in (("csv", "csv.bom=perhaps", "'perhaps'"),
                                    ("json", "json.ndjson=2", "'2'"),
                                    ("csv,xlsx", "xlsx.max_rows=0", "'0'")):
            with self.subTest(opt=opt):
                outdir = self.make_dir()
                rc, out, err = drtest.run_tool(
                    ["run", *PERIOD, "--format", formats, "--opt", opt, "--output-dir", outdir],
                    connect=unreachable)
                self.assertEqual(rc, 64, err)
                self.assertIn("option check", err)
                self.assertIn(shown, err)
                self.assert_dir_empty(outdir)

    def test_plugins_command_reports_bad_files(self):
        rc, out, err = drtest.run_tool(["plugins", "--plugin-dir", self.plugdir], plugin_path=False)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^faulty\s+0\.0\.1\s+1\s+")
        self.assertIn("built for plugin ABI 99", out)
        self.assertIn("no 'dr_plugin_entry' entry point", out)


if __name__ == "__main__":
    unittest.main()
