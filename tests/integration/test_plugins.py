"""Third-party and misbehaving plugins, against the real binary and PostgreSQL.

- the example Markdown plugin is compiled here with `cc` and only include/ on the
  include path (outside the CMake build) and used through --plugin-dir;
- test plugins built by the suite (tests/plugins/) claim a wrong ABI, lack the entry
  symbol, fail in open/row/end on request, or print garbage on stdout. Each gives the
  documented exit code, a message naming the plugin, no run row and no file.
"""
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
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "# rep_performance 2026-03 (America/New_York)")
        self.assertTrue(lines[2].startswith("| run_id | tenant_id | principal_type |"), lines[2])
        table = [line for line in lines[4:] if line.startswith("|")]
        facts = self.db.query("SELECT principal_type, principal_id::text, total_amount_won::text"
                              " FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s"
                              " ORDER BY principal_type, principal_id", (run_id,))
        self.assertEqual(len(table), len(facts))
        for line, (ptype, pid, total) in zip(table, facts):
            cells = [c.strip() for c in line.strip("|").split("|")]
            self.assertEqual((cells[0], cells[2], cells[3], cells[9]), (run_id, ptype, pid, total))

    def test_example_option_is_checked_by_the_plugin(self):
        plugdir = self.make_dir()
        build_example(plugdir)
        outdir = self.make_dir()
        before = drtest.count_runs(self.db)
        rc, out, err = drtest.run_tool(
            ["run", *PERIOD, "--plugin-dir", plugdir, "--format", "csv,markdown",
             "--opt", "markdown.labels=maybe", "--output-dir", outdir], connect=self.db.odbc)
        self.assertEqual(rc, 64, err)
        self.assertIn("'maybe'", err)
        self.assertEqual(out, "")
        self.assert_dir_empty(outdir)
        self.assert_no_new_run(self.db, before)


class BadPluginTest(drtest.FixtureTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plugdir = os.environ.get("DYNOREPORT_TEST_PLUGIN_DIR", "")
        if not os.path.isfile(os.path.join(cls.plugdir, "faulty.so")):
            raise AssertionError(f"DYNOREPORT_TEST_PLUGIN_DIR={cls.plugdir!r} has no faulty.so (run via ctest)")

    def run_failing(self, formats, opts, rc_expected, message):
        outdir = self.make_dir()
        runs, facts = drtest.count_runs(self.db), drtest.count_facts(self.db)
        args = ["run", *PERIOD, "--plugin-dir", self.plugdir, "--format", formats, "--output-dir", outdir]
        for o in opts:
            args += ["--opt", o]
        rc, out, err = drtest.run_tool(args, connect=self.db.odbc)
        self.assertEqual(rc, rc_expected, f"stderr: {err}")
        self.assertIn(message, err)
        self.assertEqual(out, "", "nothing may be announced on stdout after a failure")
        self.assert_dir_empty(outdir)
        self.assert_no_new_run(self.db, runs, facts)
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
