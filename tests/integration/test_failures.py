"""Failing runs: the right exit code, a message naming the bad value, and nothing left
behind: no report_run / fact row, no file (not even a hidden temp file)."""
import os
import re
import secrets
import unittest

import drtest
import reference
from drtest import ALICE, T1

OK_TENANT = T1
PERIOD = ["--period", "2026-03"]


def run_args(tenant=OK_TENANT, principals=("--all-principals",), period=PERIOD, extra=()):
    return ["run", "--tenant", tenant, *principals, *period, *extra]


# (name, dynoreport args, exit code, texts (or regexes) stderr must contain, connection change,
#  output dir kind). The output directory is put last with --output-dir unless the
# arguments already name one. Connection change: None, or (ODBC key, value).
# Output dir kinds: "dir" (an empty directory), "missing" (does not exist), "file" (a
# regular file).
CASES = [
    ("bad_tenant_uuid", run_args(tenant="not-a-uuid"), 64, ["not-a-uuid"], None, "dir"),
    ("tenant_uuid_one_digit_short", run_args(tenant=T1[:-1]), 64, [T1[:-1]], None, "dir"),
    ("bad_principal_uuid", run_args(principals=("--principal", "USER:1234")), 64, ["USER:1234"],
     None, "dir"),
    ("bad_principal_type", run_args(principals=("--principal", f"ROLE:{ALICE}")), 64,
     [f"ROLE:{ALICE}"], None, "dir"),
    ("bad_period_month_13", run_args(period=["--period", "2026-13"]), 64, ["2026-13"], None, "dir"),
    ("bad_period_quarter_5", run_args(period=["--period", "2026-Q5"]), 64, ["2026-Q5"], None, "dir"),
    ("from_equals_to", run_args(period=["--from", "2026-03-10", "--to", "2026-03-10"]), 64,
     ["2026-03-10"], None, "dir"),
    ("from_after_to", run_args(period=["--from", "2026-03-20", "--to", "2026-03-10"]), 64,
     ["2026-03-20", "2026-03-10"], None, "dir"),
    # the same instant written with two offsets: still from >= to
    ("from_same_instant_other_offset",
     run_args(period=["--from", "2026-03-10T12:00:00+02:00", "--to", "2026-03-10T10:00:00Z"]), 64,
     ["2026-03-10"], None, "dir"),
    ("unknown_time_zone", run_args(extra=["--tz", "Mars/Olympus"]), 64, ["Mars/Olympus"], None, "dir"),
    ("unknown_format", run_args(extra=["--format", "pdf"]), 64, ["pdf"], None, "dir"),
    ("unknown_csv_option", run_args(extra=["--opt", "csv.colour=red"]), 64, ["colour"], None, "dir"),
    # refused by the plugin's open, after the run row, the facts and the temp file exist:
    # everything must be rolled back and removed
    ("bad_csv_option_value", run_args(extra=["--opt", "csv.bom=maybe"]), 64, ["maybe"], None, "dir"),
    ("bad_name_template_escapes", run_args(extra=["--name", "../x.{ext}"]), 64, ["../x.{ext}"],
     None, "dir"),
    ("unreachable_database_port_1", run_args(), 69, [re.compile(r"(?i)port[= ]1\b")], ("Port", "1"),
     "dir"),
    ("wrong_password", run_args(), 69, ["password"], ("Pwd", "wrong-" + secrets.token_hex(8)), "dir"),
    ("output_dir_missing", run_args(), 73, ["{outdir}"], None, "missing"),
    ("output_dir_is_a_file", run_args(), 73, ["{outdir}"], None, "file"),
]


class FailureTests(drtest.FixtureTestCase):

    def check_failure(self, args, code, texts, conn_change, dir_kind):
        parent = self.make_dir()
        outdir = os.path.join(parent, "out")
        if dir_kind == "dir":
            os.mkdir(outdir)
        elif dir_kind == "file":
            with open(outdir, "w") as f:
                f.write("not a directory\n")
        before = sorted(os.listdir(parent))
        connect = self.db.odbc
        if conn_change is not None:
            connect = drtest.odbc_set(connect, *conn_change)
        self.assertIsNotNone(drtest.count_runs(self.db))
        saved = drtest.report_rows(self.db)  # every report table, comparison runs included
        # the period every case but the --from/--to ones asks for (tz default UTC)
        start, end = reference.period_bounds("2026-03", "UTC")
        self.assert_no_run_for(self.db, T1, start, end)

        rc, out, err = drtest.run_tool([*args, "--output-dir", outdir], connect=connect)

        self.assertEqual(rc, code, f"stderr: {err}")
        self.assertEqual(out, "", "nothing on stdout for a failed run")
        self.assertTrue(err.strip(), "an error message on stderr")
        for text in texts:
            if isinstance(text, re.Pattern):
                self.assertRegex(err, text)
            else:
                self.assertIn(text.replace("{outdir}", outdir), err)
        # passwords never appear in messages (the real one, nor a wrong one)
        self.assertNotIn(drtest.pg_password(), err)
        if conn_change is not None and conn_change[0] == "Pwd":
            self.assertNotIn(conn_change[1], err)
        self.assert_nothing_saved(self.db, saved)
        self.assert_no_run_for(self.db, T1, start, end)
        self.assertEqual(sorted(os.listdir(parent)), before, f"files appeared in {parent}")
        if dir_kind == "dir":
            self.assert_dir_empty(outdir)
        elif dir_kind == "file":
            with open(outdir) as f:
                self.assertEqual(f.read(), "not a directory\n")

    def test_a_good_run_works_here(self):
        """Control: the same arguments without the fault succeed (so the failures above
        fail for the reason they claim)."""
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool([*run_args(), "--output-dir", outdir, "--no-persist"],
                                       connect=self.db.odbc)
        self.assert_run_ok(rc, out, err)


def _make_case(args, code, texts, conn_change, dir_kind):
    def test(self):
        self.check_failure(args, code, texts, conn_change, dir_kind)
    test.__doc__ = f"exit {code}: {' '.join(args[1:])}"
    return test


for _case in CASES:
    setattr(FailureTests, f"test_fails_{_case[0]}", _make_case(*_case[1:]))


class NotInitialisedTests(drtest.ToolTestCase):
    """A database where `db init` never ran: exit 78, and run creates nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = drtest.fresh_database()
        cls.addClassCleanup(cls.db.drop)

    def test_run_before_db_init(self):
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool([*run_args(), "--output-dir", outdir], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("db init", err)
        self.assertEqual(out, "")
        self.assert_dir_empty(outdir)
        self.assertIsNone(drtest.count_runs(self.db), "run must not create the tables")
        self.assertEqual(drtest.report_tables(self.db), [], "run must not create the tables")
        self.assertEqual(self.db.query("SELECT count(*) FROM pg_namespace WHERE nspname = 'dyno_crm'"),
                         [(0,)], "run must not create the schema")

    def test_run_before_db_init_with_source_tables(self):
        """Source tables present but no dynoreport tables: still 78, nothing created."""
        db = drtest.fresh_database()
        self.addCleanup(db.drop)
        db.execute_file(drtest.SOURCE_SCHEMA)
        db.execute_file(drtest.EDGE_CASES)
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool([*run_args(), "--output-dir", outdir], connect=db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertEqual(out, "")
        self.assert_dir_empty(outdir)
        self.assertIsNone(drtest.count_runs(db))
        self.assertEqual(drtest.report_tables(db), [])


if __name__ == "__main__":
    unittest.main()
