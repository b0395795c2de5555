"""`dynoreport config check` (issue 14, item 5): every problem of the configuration file
and of what it names, each with file:line, exit 78; 69 when only the database cannot be
reached; 0 and one OK line otherwise. Checked against the real PostgreSQL and the build's
plugins, and that the check writes nothing: no run or row, no file, no staging directory,
and a stale staging directory of a killed run is left where it is."""
import os
import re
import unittest

import drtest
from drtest import T1

PRINCIPALS_SQL = os.path.join(drtest.FIXTURES, "names", "principals.sql")
TENANT_SQL = os.path.join(drtest.FIXTURES, "names", "tenant.sql")


def line_of(text, needle, after=None):
    """The 1-based number of the first line of TEXT holding NEEDLE (after line AFTER)."""
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line and (after is None or n > after):
            return n
    raise AssertionError(f"{needle!r} not in the configuration")


class ConfigCheckTests(drtest.FixtureTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db.execute_file(os.path.join(drtest.FIXTURES, "names_directory.sql"))

    def setUp(self):
        self.outdir = self.make_dir()
        # a staging directory a killed run left: a real run would remove it, the check must not
        self.stale = os.path.join(self.outdir, ".dynoreport-staging.abcdefabcdef")
        os.mkdir(self.stale, 0o700)
        with open(os.path.join(self.stale, ".dynoreport"), "w"):
            pass
        with open(os.path.join(self.stale, "left.csv"), "w") as f:
            f.write("x\n")

    def write(self, body):
        path = self.write_config(body)
        os.chmod(path, 0o600)  # it holds the connection's password
        return path, body

    def check(self, config, rc):
        rows = drtest.report_checksums(self.db)
        files = sorted(os.walk(self.outdir))
        got, out, err = drtest.run_tool(["--config", config, "config", "check"])
        self.assertEqual(got, rc, err)
        self.assertEqual(drtest.report_checksums(self.db), rows, "the check changed the database")
        self.assertEqual(sorted(os.walk(self.outdir)), files, "the check changed the output directory")
        return out, err

    def good_body(self, connect=None):
        return (f"[connection]\nconnect = {connect or self.db.odbc}\n\n"
                f"[names]\nprincipals = {PRINCIPALS_SQL}\ntenant = {TENANT_SQL}\n\n"
                f"[defaults]\ntz = Europe/Berlin\noutput_dir = {self.outdir}\nformats = csv\n\n"
                "[job monthly]\ntenant = all\nprincipals = all\nperiod = previous-month\nformats = csv,xlsx,json\n"
                "opt = csv.delimiter=semicolon\n\n"
                f"[job weekly]\ntenant = {T1}\nprincipals = USER:{drtest.ALICE},GROUP:{drtest.EAST}\n"
                "period = previous-week\ntz = America/New_York\nname = {tenant}_{period}.{ext}\n")

    def test_good_configuration_is_ok_and_writes_nothing(self):
        config, _ = self.write(self.good_body())
        out, err = self.check(config, 0)
        # monthly: every tenant with deals; weekly: T1
        tenants = self.db.query("SELECT count(DISTINCT tenant_id) FROM dyno_crm.deal")[0][0]
        self.assertEqual(out, f"{config}: OK (2 jobs, {tenants + 1} tenant runs; database reachable, schema up to "
                              "date)\n")
        self.assertNotIn("error", err)
        self.assertNotIn("warning", err)
        self.assertTrue(os.path.isdir(self.stale))

    def test_a_tenant_without_deals_is_a_warning(self):
        nobody = "99999999-9999-4999-8999-999999999999"
        config, _ = self.write(self.good_body().replace(f"tenant = {T1}", f"tenant = {nobody}"))
        out, err = self.check(config, 0)
        self.assertIn(f"warning: [job weekly]: tenant {nobody} has no deals", err)
        self.assertIn(": OK (2 jobs, ", out)

    def test_every_problem_is_reported_with_its_line(self):
        body = (f"[connection]\nconnect = {self.db.odbc}\nbogus = 1\n\n"
                f"[defaults]\ntz = Mars/Olympus\noutput_dir = /nonexistent/dir\n\n"
                "this is not a key\n\n"
                f"[names]\nprincipals = relative/names.sql\n\n"
                "[job a]\ntenant = not-a-uuid\nprincipals = USER:nope\nperiod = 2026-13\nformats = csv\n"
                f"output_dir = {self.outdir}\n\n"
                f"[job b]\nprincipals = all\nperiod = 2026-10\noutput_dir = {self.outdir}\nopt = csv.nosuchkey=1\n\n"
                f"[job c]\ntenant = {T1}\nprincipals = all\nperiod = 2026-10\ntz = Not/AZone\n"
                f"output_dir = {self.outdir}\n")
        config, _ = self.write(body)
        out, err = self.check(config, 78)
        self.assertEqual(out, "")
        job_a, job_b, job_c = (line_of(body, f"[job {j}]") for j in "abc")
        expected = [
            (line_of(body, "bogus"), "unknown key 'bogus' in [connection]"),
            (line_of(body, "this is not a key"), "syntax error"),
            (line_of(body, "principals = relative"), "expected the absolute path"),
            (line_of(body, "Mars/Olympus"), "[defaults] key 'tz': unknown time zone 'Mars/Olympus'"),
            (line_of(body, "[defaults]"), "[defaults]: cannot use output directory '/nonexistent/dir'"),
            (line_of(body, "not-a-uuid"), "[job a] key 'tenant': invalid tenant 'not-a-uuid'"),
            (line_of(body, "USER:nope"), "[job a] key 'principals': invalid --principal 'USER:nope'"),
            (line_of(body, "2026-13"), "[job a] key 'period': invalid period '2026-13'"),
            (job_b, "[job b] key 'tenant': needs a value"),
            (job_b, "[job b]: unknown option 'csv.nosuchkey' for format 'csv'"),
            (line_of(body, "Not/AZone"), "[job c] key 'tz': unknown time zone 'Not/AZone'"),
        ]
        errors = [line for line in err.splitlines() if line.startswith("dynoreport: error: ")]
        for line, text in expected:
            with self.subTest(text=text):
                self.assertTrue(any(e.startswith(f"dynoreport: error: {config}:{line}: ") and text in e
                                    for e in errors), f"{config}:{line}: {text!r} not in:\n{err}")
        self.assertEqual(errors[-1], f"dynoreport: error: config check: {len(expected)} problems found in {config}")
        self.assertEqual(len(errors), len(expected) + 1, err)
        self.assertGreater(job_c, job_a)

    def test_unknown_format_in_a_job(self):
        body = self.good_body().replace("formats = csv,xlsx,json", "formats = csv,pdf")
        config, _ = self.write(body)
        out, err = self.check(config, 78)
        errors = [line for line in err.splitlines() if line.startswith("dynoreport: error: ")]
        self.assertEqual(len(errors), 2, err)
        self.assertRegex(errors[0], rf"^dynoreport: error: {re.escape(config)}:{line_of(body, '[job monthly]')}: "
                                    r"\[job monthly\]: unknown format 'pdf'")
        self.assertEqual(errors[1], f"dynoreport: error: config check: 1 problem found in {config}")

    def test_names_query_checked_for_trust_and_columns(self):
        two_columns = self.write_config("SELECT 'USER', 'x' WHERE :tenant::uuid IS NOT NULL\n", "two.sql")
        loose = self.write_config("SELECT 'Acme' WHERE :tenant::uuid IS NOT NULL\n", "loose.sql")
        os.chmod(loose, 0o666)
        body = self.good_body().replace(f"principals = {PRINCIPALS_SQL}", f"principals = {two_columns}")
        body = body.replace(f"tenant = {TENANT_SQL}", f"tenant = {loose}")
        config, _ = self.write(body)
        out, err = self.check(config, 78)
        self.assertIn(f"{config}:{line_of(body, two_columns)}: [names] key 'principals': the names query "
                      f"'{two_columns}' returns 2 columns: expected 3", err)
        self.assertIn(f"{config}:{line_of(body, loose)}: [names] key 'tenant': the names query '{loose}'", err)
        self.assertIn("writable by group or others", err)
        self.assertIn("2 problems found", err)

    def test_unreachable_database(self):
        down = drtest.odbc_set(self.db.odbc, "Port", "1")
        config, _ = self.write(self.good_body(connect=down))
        out, err = self.check(config, 69)
        self.assertEqual(out, "")
        self.assertIn("cannot check the database: cannot connect", err)
        self.assertIn("the database could not be reached", err)
        self.assertNotIn(drtest.odbc_get(self.db.odbc, "Pwd"), err)
        # with a problem of the file besides, the file's problem decides: 78
        config, _ = self.write(self.good_body(connect=down).replace("period = previous-week", "period = soon"))
        out, err = self.check(config, 78)
        self.assertIn("key 'period': invalid period 'soon'", err)
        self.assertIn("1 problem found", err)
        self.assertIn("(and the database could not be reached)", err)

    def test_database_without_db_init(self):
        db = drtest.fixture_database(init=False)
        self.addCleanup(db.drop)
        config, _ = self.write(self.good_body(connect=db.odbc))
        out, err = self.check(config, 78)
        self.assertIn("the dynoreport tables do not exist in this database: run 'dynoreport db init' first", err)
        self.assertIn("problems found", err)  # and the [names] queries, whose tables it lacks too

    def test_usage_errors(self):
        config, _ = self.write(self.good_body())
        for args in (["config"], ["config", "bogus"], ["config", "check", "extra"]):
            with self.subTest(args=args):
                rc, out, err = drtest.run_tool(["--config", config] + args)
                self.assertEqual((rc, out), (64, ""), err)
                self.assertIn("Try 'dynoreport config --help'", err)
        rc, out, err = drtest.run_tool(["--config", "/nonexistent/dynoreport.conf", "config", "check"])
        self.assertEqual(rc, 78, err)
        self.assertIn("cannot read the configuration file '/nonexistent/dynoreport.conf'", err)


if __name__ == "__main__":
    unittest.main()
