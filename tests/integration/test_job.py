"""`dynoreport job NAME`: a [job] of the configuration file, as a scheduler runs it.

The job's keys override [defaults]; `tenant = all` makes one run per tenant that has
deals. Every file is compared with the independent computation of reference.py."""
import os
import unittest

import drtest
import reference
from drtest import ALICE, BOB, NOBODY, T1, T2


class JobTests(drtest.FixtureTestCase):

    def write_config(self, body):
        path = os.path.join(self.make_dir(), "dynoreport.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"[connection]\nconnect = {self.db.odbc}\n\n{body}")
        return path

    def run_job(self, cfg, name):
        # no --connect: the connection comes from the configuration file
        return drtest.run_tool(["--config", cfg, "job", name])

    def test_all_tenants_job_overrides_defaults(self):
        outdir = self.make_dir()
        cfg = self.write_config(
            "[defaults]\ntz = UTC\nformats = json\noutput_dir = /nonexistent\n"
            "opt = csv.delimiter=semicolon\n\n"
            f"[job monthly-all]\ntenant = all\nprincipals = all\nperiod = 2026-03\n"
            f"tz = America/New_York\nformats = csv\noutput_dir = {outdir}\n"
            "name = {tenant}_{period}.{ext}\nopt = csv.delimiter=pipe\n")
        rc, out, err = self.run_job(cfg, "monthly-all")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        # one group per tenant, in UUID order: run id, then the file
        self.assertEqual(len(lines), 4, out)
        start, end = reference.period_bounds("2026-03", "America/New_York")
        for (run_id, path), tenant in zip((lines[0:2], lines[2:4]), sorted((T1, T2))):
            self.assertEqual(path, os.path.join(outdir, f"{tenant}_2026-03.csv"))
            expected = reference.as_csv_rows(
                reference.expected_rows(self.conn, run_id, tenant, start, end), "America/New_York")
            _, records = drtest.read_csv(path, "|")  # the job's option wins over [defaults]
            self.assertEqual(records[0][0], "run_id")
            self.assertEqual(records[1:], expected)
            self.assertEqual(self.db.query("SELECT time_zone, tenant_id::text FROM dyno_crm.report_run"
                                           " WHERE id = %s", (run_id,)),
                             [("America/New_York", tenant)])
        self.assertEqual(sorted(os.listdir(outdir)), sorted(f"{t}_2026-03.csv" for t in (T1, T2)))

    def test_explicit_tenant_and_principals(self):
        outdir = self.make_dir()
        cfg = self.write_config(
            f"[defaults]\ntz = America/New_York\noutput_dir = {outdir}\n\n"
            f"[job two]\ntenant = {T1}\nprincipals = USER:{ALICE}, USER:{NOBODY},GROUP:{BOB}\n"
            "period = 2026-03\n")
        rc, out, err = self.run_job(cfg, "two")
        self.assertEqual(rc, 0, err)
        run_id, path = out.splitlines()
        start, end = reference.period_bounds("2026-03", "America/New_York")
        asked = [("USER", ALICE), ("USER", NOBODY), ("GROUP", BOB)]
        expected = reference.as_csv_rows(
            reference.expected_rows(self.conn, run_id, T1, start, end, asked), "America/New_York")
        _, records = drtest.read_csv(path)
        self.assertEqual(records[1:], expected)

    def test_bad_jobs_are_configuration_errors(self):
        outdir = self.make_dir()
        cfg = self.write_config(
            f"[defaults]\noutput_dir = {outdir}\n\n"
            f"[job badperiod]\ntenant = {T1}\nprincipals = all\nperiod = 2026-13\n\n"
            f"[job badtenant]\ntenant = 'x'; DROP TABLE dyno_crm.deal; --\nprincipals = all\nperiod = 2026-03\n\n"
            f"[job badprincipal]\ntenant = {T1}\nprincipals = USER:nope\nperiod = 2026-03\n\n"
            "[job notenant]\nprincipals = all\nperiod = 2026-03\n")
        runs, deals = drtest.count_runs(self.db), self.db.query("SELECT count(*) FROM dyno_crm.deal")
        cases = [
            ("badperiod", "[job badperiod] key 'period': invalid period '2026-13'"),
            ("badtenant", "[job badtenant] key 'tenant': invalid tenant"),
            ("badprincipal", "[job badprincipal] key 'principals': invalid --principal 'USER:nope'"),
            ("notenant", "[job notenant] key 'tenant': needs a value"),
            ("nope", "no job 'nope' in"),
        ]
        for name, message in cases:
            with self.subTest(job=name):
                rc, out, err = self.run_job(cfg, name)
                self.assertEqual(rc, 78, err)
                self.assertIn(message, err)
                self.assertIn("dynoreport.conf", err)
                self.assertEqual(out, "")
        self.assert_dir_empty(outdir)
        self.assert_no_new_run(self.db, runs)
        self.assertEqual(self.db.query("SELECT count(*) FROM dyno_crm.deal"), deals)


if __name__ == "__main__":
    unittest.main()
