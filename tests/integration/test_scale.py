"""Many tenants: `job` over ~50 generated tenants (one run and one file set each, rows equal
to reference.py's independent computation) with --jobs 1 and --jobs 3, --skip-existing,
--dry-run, and one tenant failing inside the job without costing the others their runs;
the run's advisory lock (--lock-timeout, exit 75); several processes of one job sharing
its tenants through PostgreSQL (each computed once; a killed one leaves its tenants to the
others)."""
import os
import re
import signal
import subprocess
import time
import unittest

import drtest
import reference
from test_faults import faulty_plugin_dir

NTENANTS = 48
PERIOD = "2026-03"

# ~50 tenants: 3 users and a group each, 6 deals in March 2026 (UTC and New York), half
# of them closed (won or lost) in the month, one owner = assignee. Ids from md5 so they
# are stable and spread over the UUID order.
GENERATE_SQL = f"""
INSERT INTO dyno_crm.pipeline_stage (id, stage_state) VALUES
  ('c9000000-0000-4000-8000-000000000001', 'DONE_SUCCESS'),
  ('c9000000-0000-4000-8000-000000000002', 'DONE_FAILED'),
  ('c9000000-0000-4000-8000-000000000003', 'OPEN');
INSERT INTO dyno_crm.deal (id, tenant_id, amount, created_at, owned_by_user_id, assigned_user_id,
                           owned_by_group_id, assigned_group_id)
SELECT md5('deal' || t || '-' || d)::uuid, md5('tenant' || t)::uuid, (100 + t * 7 + d * 13.25)::numeric(14,2),
       timestamptz '2026-03-01 06:00Z' + make_interval(days => d * 4, hours => t % 24),
       md5('user' || t || '-' || (d % 3))::uuid,
       CASE WHEN d % 2 = 0 THEN md5('user' || t || '-' || ((d + 1) % 3))::uuid END,
       md5('group' || t)::uuid, NULL
FROM generate_series(1, {NTENANTS}) t, generate_series(0, 5) d;
INSERT INTO dyno_crm.deal_pipeline_stage_state (deal_id, tenant_id, pipeline_stage_id, entered_at, is_current)
SELECT md5('deal' || t || '-' || d)::uuid, md5('tenant' || t)::uuid,
       CASE WHEN d % 3 = 0 THEN 'c9000000-0000-4000-8000-000000000001'::uuid
            WHEN d % 3 = 1 THEN 'c9000000-0000-4000-8000-000000000002'::uuid
            ELSE 'c9000000-0000-4000-8000-000000000003'::uuid END,
       timestamptz '2026-03-01 06:00Z' + make_interval(days => d * 4 + 2, hours => t % 24), true
FROM generate_series(1, {NTENANTS}) t, generate_series(0, 5) d;
"""


def tenants_database():
    """A fresh database with the CRM tables, NTENANTS generated tenants and `db init`."""
    return drtest.fixture_database(script=GENERATE_SQL)


def lock_key_sql():
    """The key of sql/run_lock_try.sql, as docs/reliability.md gives it, for %s (tenant),
    %s (start) and %s (end): what the test's own session locks to play another run."""
    return ("hashtextextended('dynoreport rep_performance ' || %s::uuid::text || ' ' ||"
            " extract(epoch FROM %s::timestamptz)::text || ' ' || extract(epoch FROM %s::timestamptz)::text, 0)")


class ScaleCase(drtest.FixtureTestCase):
    """A class on a database of generated tenants (cls.db, cls.conn, cls.tenants)."""

    make_database = staticmethod(tenants_database)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tenants = [r[0] for r in cls.db.query(
            "SELECT DISTINCT tenant_id::text FROM dyno_crm.deal ORDER BY 1")]

    def write_config(self, body):
        path = os.path.join(self.make_dir(), "dynoreport.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"[connection]\nconnect = {self.db.odbc}\n\n{body}")
        os.chmod(path, 0o600)
        return path

    def job_config(self, outdir, tz, extra=""):
        return self.write_config(f"[job all]\ntenant = all\nprincipals = all\nperiod = {PERIOD}\ntz = {tz}\n"
                                 f"output_dir = {outdir}\n{extra}")

    def job(self, cfg, *args, name="all", timeout=drtest.TOOL_TIMEOUT):
        return drtest.run_tool(["--config", cfg, "job", name, *args], timeout=timeout)

    def start_job(self, cfg, *args, name="all"):
        p = subprocess.Popen(drtest.tool_command(["--config", cfg, "job", name, *args]), env=drtest.tool_env(),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, p)
        return p

    @staticmethod
    def reap(p):
        if p.poll() is None:
            p.kill()
        p.communicate()

    def runs_per_tenant(self, tz):
        start, end = reference.period_bounds(PERIOD, tz)
        return dict(self.db.query(
            "SELECT tenant_id::text, count(*) FROM dyno_crm.report_run r" + drtest.MAIN_RUNS +
            " AND period_start = %s AND period_end = %s AND time_zone = %s GROUP BY 1", (start, end, tz)))

    def assert_job_result(self, out, outdir, tz, tenants=None):
        """stdout holds one block (run id, path) per tenant in UUID order; every CSV equals the
        reference, every tenant has one run of the period, the directory one file per tenant."""
        tenants = self.tenants if tenants is None else tenants
        lines = out.splitlines()
        self.assertEqual(len(lines), 2 * len(tenants), out)
        start, end = reference.period_bounds(PERIOD, tz)
        deals, stages = reference.load_source(self.conn)
        for k, tenant in enumerate(tenants):
            run_id, path = lines[2 * k], lines[2 * k + 1]
            self.assertEqual(path, os.path.join(outdir, f"rep_performance_{tenant}_{PERIOD}.csv"))
            metrics = reference.expected_metrics(deals, stages, tenant, start, end)
            rows = [[run_id, tenant, kind, pid, start, end] + m for (kind, pid), m in metrics.items()]
            self.assertGreater(len(rows), 0)
            _, records = drtest.read_csv(path)
            self.assertEqual(records[1:], reference.as_csv_rows(rows, tz), tenant)
            self.assertEqual(self.db.query("SELECT tenant_id::text, time_zone FROM dyno_crm.report_run WHERE id = %s",
                                           (run_id,)), [(tenant, tz)])
        self.assertEqual(self.runs_per_tenant(tz), {t: 1 for t in tenants})
        self.assertEqual(sorted(os.listdir(outdir)),
                         sorted(f"rep_performance_{t}_{PERIOD}.csv" for t in tenants))


class JobScaleTests(ScaleCase):

    def test_job_over_many_tenants_equals_the_reference(self):
        outdir = self.make_dir()
        rc, out, err = self.job(self.job_config(outdir, "UTC"), "--jobs", "1")
        self.assertEqual(rc, 0, err)
        self.assert_job_result(out, outdir, "UTC")
        self.assertRegex(err, rf"job all: {NTENANTS} tenants in [0-9.]+ s: {NTENANTS} done, 0 skipped .*, 0 failed")

    def test_tenants_are_computed_in_batches(self):
        """With -v the job says how it computed: a quarter of the tenants at a time (one
        worker), each batch with one statement; the numbers are the reference's."""
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool(["-v", "--config", self.job_config(outdir, "Asia/Tokyo"),
                                        "job", "all", "--jobs", "1"])
        self.assertEqual(rc, 0, err)
        self.assert_job_result(out, outdir, "Asia/Tokyo")
        size = NTENANTS // 4
        batches = re.findall(r"batch: (\d+) of (\d+) tenants computed with one statement", err)
        self.assertEqual(batches, [(str(size), str(size))] * 4, err[-3000:])
        self.assertNotIn("each one runs on its own", err)

    def test_jobs_3_gives_the_same_result(self):
        outdir = self.make_dir()
        rc, out, err = self.job(self.job_config(outdir, "America/New_York"), "--jobs", "3")
        self.assertEqual(rc, 0, err)
        self.assert_job_result(out, outdir, "America/New_York")
        self.assertRegex(err, rf"{NTENANTS} done, 0 skipped")

    def test_skip_existing_recomputes_nothing_and_restores_a_deleted_file(self):
        outdir = self.make_dir()
        cfg = self.job_config(outdir, "Europe/Berlin")
        rc, first, err = self.job(cfg, "--jobs", "2")
        self.assertEqual(rc, 0, err)
        before = drtest.report_checksums(self.db)
        victim = os.path.join(outdir, f"rep_performance_{self.tenants[5]}_{PERIOD}.csv")
        with open(victim, "rb") as f:
            content = f.read()
        os.remove(victim)
        rc, again, err = self.job(cfg, "--skip-existing", "--jobs", "2")
        self.assertEqual(rc, 0, err)
        self.assertEqual(drtest.report_checksums(self.db), before, "a rerun with --skip-existing changed the database")
        self.assertEqual(again, first, "the same run ids and paths")
        with open(victim, "rb") as f:
            self.assertEqual(f.read(), content, "the deleted file is exported again from the saved run")
        self.assertRegex(err, rf"0 done, {NTENANTS} skipped \(saved already; 1 of them exported again\)")
        self.assert_job_result(again, outdir, "Europe/Berlin")

    def test_a_rerun_with_skip_existing_skips_inside_the_batches(self):
        """A rerun with --skip-existing settles the saved tenants in their batches (one
        claim statement, one lookup, one header read per batch; no run of their own), and
        only the tenant with a missing file gets a run of its own that exports it again."""
        outdir = self.make_dir()
        cfg = self.job_config(outdir, "America/Sao_Paulo")
        rc, first, err = self.job(cfg, "--jobs", "1")
        self.assertEqual(rc, 0, err)
        victim = self.tenants[7]
        os.remove(os.path.join(outdir, f"rep_performance_{victim}_{PERIOD}.csv"))
        rc, again, err = drtest.run_tool(["-v", "--config", cfg, "job", "all", "--jobs", "1", "--skip-existing"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(again, first, "the same run ids and paths, in tenant order")
        size = NTENANTS // 4
        self.assertEqual(re.findall(r"batch: (\d+) of (\d+) tenants computed with one statement", err),
                         [("0", str(size))] * 4, err[-3000:])
        in_batches = re.findall(r"job all: tenants \d+ to \d+ of \d+: tenant ([0-9a-f-]{36}): run [0-9a-f-]{36} is "
                                r"saved already with the same options and its files are in place", err)
        self.assertEqual(sorted(in_batches), sorted(t for t in self.tenants if t != victim), err[-3000:])
        self.assertRegex(err, rf"job all: tenant 8 of {NTENANTS} \({victim}\): run [0-9a-f-]{{36}} is saved already "
                              r"with the same options \(--skip-existing\); 1 of its 1 files missing: exporting it again")
        self.assertRegex(err, rf"0 done, {NTENANTS} skipped \(saved already; 1 of them exported again\)")
        self.assert_job_result(again, outdir, "America/Sao_Paulo")

    def test_a_batch_that_computes_some_and_skips_others_keeps_each_tenant_its_lines(self):
        """A --skip-existing rerun after two tenants' runs were deleted: their batches compute
        those two and skip the others; every tenant's block (run id, path) is its own, in
        tenant order, with --jobs 1 and --jobs 2."""
        for jobs in ("1", "2"):
            with self.subTest(jobs=jobs):
                outdir = self.make_dir()
                tz = "Europe/Lisbon" if jobs == "1" else "America/Halifax"
                cfg = self.job_config(outdir, tz)
                rc, first, err = self.job(cfg, "--jobs", jobs)
                self.assertEqual(rc, 0, err)
                start, end = reference.period_bounds(PERIOD, tz)
                gone = [self.tenants[3], self.tenants[9]]
                self.db.query("DELETE FROM dyno_crm.report_run WHERE tenant_id::text = ANY (%s) AND period_start = %s"
                                " AND time_zone = %s", (gone, start, tz))
                rc, again, err = self.job(cfg, "--skip-existing", "--jobs", jobs)
                self.assertEqual(rc, 0, err)
                self.assertRegex(err, rf"2 done, {NTENANTS - 2} skipped")
                self.assert_job_result(again, outdir, tz)
                old, new = first.splitlines(), again.splitlines()
                for k, tenant in enumerate(self.tenants):
                    same = old[2 * k] == new[2 * k]
                    self.assertEqual(same, tenant not in gone, tenant)

    def test_tenant_names_of_a_batch_arrive_whole(self):
        """A batch sends its tenants' names as one array literal: names a [names] tenant query
        gives with quotes, backslashes, commas, braces and the word NULL are stored exactly."""
        outdir = self.make_dir()
        query = os.path.join(self.make_dir(), "tenant_name.sql")
        with open(query, "w", encoding="utf-8") as f:
            f.write("SELECT 'Q\"uote \\back, {br} NULL ' || left(:tenant::text, 8)")
        cfg = self.write_config(f"[names]\ntenant = {query}\n\n[job all]\ntenant = all\nprincipals = all\n"
                                f"period = {PERIOD}\ntz = Asia/Jakarta\noutput_dir = {outdir}\n")
        rc, out, err = drtest.run_tool(["-v", "--config", cfg, "job", "all", "--jobs", "1"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"batch: 12 of 12 tenants computed with one statement")
        start, _ = reference.period_bounds(PERIOD, "Asia/Jakarta")
        names = dict(self.db.query(
            "SELECT r.tenant_id::text, v.tenant_name FROM dyno_crm.report_run r JOIN dyno_crm.report_run_view v "
            "ON v.run_id = r.id WHERE r.comparison_for IS NULL AND r.period_start = %s AND r.time_zone = %s",
            (start, "Asia/Jakarta")))
        self.assertEqual(names, {t: 'Q"uote \\back, {br} NULL ' + t[:8] for t in self.tenants})

    def test_dry_run_writes_nothing(self):
        outdir = self.make_dir()
        cfg = self.job_config(outdir, "Asia/Tokyo", "formats = csv,json\n")
        rows = drtest.report_rows(self.db)
        rc, out, err = self.job(cfg, "--dry-run")
        self.assertEqual(rc, 0, err)
        self.assert_dir_empty(outdir)
        self.assertEqual(drtest.report_rows(self.db), rows)
        lines = out.splitlines()
        self.assertEqual(lines[0], "job all: dry run, nothing is computed or written")
        self.assertEqual(lines[1], f"period {PERIOD}: 2026-03-01T00:00:00+09:00 .. 2026-04-01T00:00:00+09:00 "
                                   "(Asia/Tokyo, end excluded)")
        self.assertEqual(lines[2], f"formats csv,json; principals all; {NTENANTS} tenants")
        expected = [f"tenant {t}: {outdir}/rep_performance_{t}_{PERIOD}.{ext} compute"
                    for t in self.tenants for ext in ("csv", "json")]
        self.assertEqual(lines[3:], expected)

    def test_one_failing_tenant_costs_the_others_nothing(self):
        outdir = self.make_dir()
        tz = "America/Los_Angeles"
        blocked, overflow = self.tenants[3], self.tenants[7]
        os.mkdir(os.path.join(outdir, f"rep_performance_{blocked}_{PERIOD}.csv"))
        big = [f"d9{n:06d}-0000-4000-8000-000000000000" for n in range(3)]
        user = self.db.query("SELECT owned_by_user_id::text FROM dyno_crm.deal WHERE tenant_id = %s LIMIT 1",
                             (overflow,))[0][0]
        for d in big:
            self.db.query("INSERT INTO dyno_crm.deal (id, tenant_id, amount, created_at, owned_by_user_id)"
                          " VALUES (%s, %s, 999999999999.99, '2026-03-10 12:00Z', %s)", (d, overflow, user))
            self.db.query("INSERT INTO dyno_crm.deal_pipeline_stage_state (deal_id, tenant_id, pipeline_stage_id,"
                          " entered_at, is_current) VALUES (%s, %s, 'c9000000-0000-4000-8000-000000000001',"
                          " '2026-03-11 12:00Z', true)", (d, overflow))
        self.addCleanup(self.db.query, "DELETE FROM dyno_crm.deal WHERE id = ANY(%s::uuid[])", (big,))
        self.addCleanup(self.db.query, "DELETE FROM dyno_crm.deal_pipeline_stage_state WHERE deal_id = ANY(%s::uuid[])",
                        (big,))
        for jobs in ("1", "3"):
            with self.subTest(jobs=jobs):
                self.db.query("DELETE FROM dyno_crm.report_run WHERE time_zone = %s", (tz,))
                for f in os.listdir(outdir):
                    if f.endswith(".csv") and not os.path.isdir(os.path.join(outdir, f)):
                        os.remove(os.path.join(outdir, f))
                rc, out, err = self.job(self.job_config(outdir, tz), "--jobs", jobs)
                first = min(blocked, overflow)
                self.assertEqual(rc, 73 if first == blocked else 65, err)
                self.assertIn(f"job all: 2 of {NTENANTS} tenant runs failed; the first: ", err)
                self.assertRegex(err, rf"{NTENANTS - 2} done, 0 skipped .*, 2 failed")
                self.assertIn(f"job all: failed: tenant {blocked} (exit 73)", err)
                self.assertIn(f"job all: failed: tenant {overflow} (exit 65)", err)
                others = [t for t in self.tenants if t not in (blocked, overflow)]
                os.rmdir(os.path.join(outdir, f"rep_performance_{blocked}_{PERIOD}.csv"))
                try:
                    self.assert_job_result(out, outdir, tz, others)
                finally:
                    os.mkdir(os.path.join(outdir, f"rep_performance_{blocked}_{PERIOD}.csv"))
                self.assertNotIn(blocked, out)
                self.assertNotIn(overflow, out)
        # the batches that held them failed whole and ran their tenants one by one
        rc, out, err = drtest.run_tool(["-v", "--config", self.job_config(outdir, tz), "job", "all", "--jobs", "1"])
        self.assertEqual(err.count("computed together they failed"), 2 if (self.tenants.index(blocked) // (NTENANTS // 4)
                         != self.tenants.index(overflow) // (NTENANTS // 4)) else 1, err[-3000:])

    def test_dry_run_with_skip_existing_names_the_saved_runs(self):
        outdir = self.make_dir()
        cfg = self.job_config(outdir, "Pacific/Auckland")
        rc, out, err = drtest.run_tool(["--config", cfg, "run", "--tenant", self.tenants[2], "--all-principals",
                                        "--period", PERIOD, "--tz", "Pacific/Auckland", "--output-dir", outdir])
        run_id, (path,) = self.assert_run_ok(rc, out, err)
        os.remove(path)
        rows = drtest.report_rows(self.db)
        rc, out, err = self.job(cfg, "--dry-run", "--skip-existing")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()[3:]
        self.assertEqual(len(lines), NTENANTS)
        self.assertEqual(lines[2], f"tenant {self.tenants[2]}: {path} skip: saved already as run {run_id}"
                                   " (file missing: exported again)")
        self.assertTrue(all(line.endswith(" compute") for k, line in enumerate(lines) if k != 2), lines)
        self.assertEqual(drtest.report_rows(self.db), rows)
        self.assert_dir_empty(outdir)

    def test_all_runs_every_job(self):
        out1, out2 = self.make_dir(), self.make_dir()
        one = self.tenants[0]
        cfg = self.write_config(
            f"[job first]\ntenant = {one}\nprincipals = all\nperiod = {PERIOD}\ntz = Europe/Paris\n"
            f"output_dir = {out1}\n\n"
            f"[job second]\ntenant = all\nprincipals = all\nperiod = {PERIOD}\ntz = Europe/Paris\n"
            f"output_dir = {out2}\nformats = json\n")
        rc, out, err = drtest.run_tool(["--config", cfg, "job", "--all", "--jobs", "2"])
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 2 + 2 * NTENANTS, out)
        self.assertEqual(lines[1], os.path.join(out1, f"rep_performance_{one}_{PERIOD}.csv"))
        self.assertEqual(lines[3::2], [os.path.join(out2, f"rep_performance_{t}_{PERIOD}.json") for t in self.tenants])
        self.assertIn("job first: 1 tenants in", err)
        self.assertIn(f"job second: {NTENANTS} tenants in", err)
        self.assertEqual(self.runs_per_tenant("Europe/Paris"), {t: 2 if t == one else 1 for t in self.tenants})
        rc, _, err = drtest.run_tool(["--config", cfg, "job", "first", "--all"])
        self.assertEqual(rc, 64, err)
        self.assertIn("job NAME and --all exclude each other", err)

    def test_bad_values_are_refused_before_anything_runs(self):
        outdir = self.make_dir()
        cfg = self.job_config(outdir, "UTC")
        rows = drtest.report_rows(self.db)
        for args, code, text in [
                (["job", "all", "--jobs", "0"], 64, "invalid --jobs '0': expected a number of worker processes from 1 to 64"),
                (["job", "all", "--jobs", "65"], 64, "invalid --jobs '65'"),
                (["job", "all", "--lock-timeout", "5"], 64, "invalid --lock-timeout '5': expected a duration with its unit"),
                (["job"], 64, "missing job NAME (or --all)"),
                (["job", "all", "extra"], 64, "unexpected argument 'extra'"),
                (["run", "--tenant", self.tenants[0], "--all-principals", "--period", PERIOD,
                  "--lock-timeout", "1week"], 64, "invalid --lock-timeout '1week'")]:
            with self.subTest(args=args):
                rc, out, err = drtest.run_tool(["--config", cfg, *args])
                self.assertEqual(rc, code, err)
                self.assertIn(text, err)
                self.assertEqual(out, "")
        for key, value, text in [("run_lock_timeout", "5", "expected a duration with its unit"),
                                 ("jobs", "0", "expected a number of worker processes from 1 to 64"),
                                 ("skip_existing", "yes", "expected true or false")]:
            with self.subTest(key=key):
                bad = self.job_config(outdir, "UTC", f"{key} = {value}\n")
                rc, out, err = self.job(bad)
                self.assertEqual(rc, 78, err)
                self.assertIn(f"key '{key}' has value '{value}': {text}", err)
        self.assertEqual(drtest.report_rows(self.db), rows)
        self.assert_dir_empty(outdir)

    def test_progress_with_v(self):
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool(["-v", "--config", self.job_config(outdir, "Asia/Dubai"), "job", "all",
                                        "--jobs", "2"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, rf"job all: {NTENANTS} of {NTENANTS} tenants \([0-9.]+/s\), 0 failed")


class ClaimTests(ScaleCase):
    """Several processes and runs at once on the same tenants and period."""

    def slow_config(self, outdir, tz, sleep_ms=40):
        return self.job_config(outdir, tz, f"plugin_dir = {faulty_plugin_dir()}\nformats = csv,faulty\n"
                                           f"opt = faulty.sleep_ms={sleep_ms}\n")

    def test_three_processes_compute_each_tenant_once(self):
        outdir = self.make_dir()
        tz = "UTC"
        cfg = self.slow_config(outdir, tz)
        procs = [self.start_job(cfg, "--skip-existing", "--jobs", "1") for _ in range(3)]
        results = [(p.wait(timeout=120), *[s.decode() for s in p.communicate()]) for p in procs]
        for rc, _, err in results:
            self.assertEqual(rc, 0, err)
        self.assertEqual(self.runs_per_tenant(tz), {t: 1 for t in self.tenants})
        done = [int(re.search(r"tenants in [0-9.]+ s: (\d+) done", err).group(1))
                for _, _, err in results]
        self.assertEqual(sum(done), NTENANTS, results)
        self.assertTrue(all(d > 0 for d in done), f"every process computed some tenants: {done}")
        for t in self.tenants:
            for ext in ("csv", "txt"):
                self.assertTrue(os.path.isfile(os.path.join(outdir, f"rep_performance_{t}_{PERIOD}.{ext}")))

    def test_a_killed_process_leaves_its_tenants_to_the_others(self):
        outdir = self.make_dir()
        tz = "Europe/London"
        cfg = self.slow_config(outdir, tz)
        victim = self.start_job(cfg, "--skip-existing", "--jobs", "1")
        others = [self.start_job(cfg, "--skip-existing", "--jobs", "1") for _ in range(2)]
        deadline = time.monotonic() + 60
        while sum(self.runs_per_tenant(tz).values()) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        for p in others:
            rc = p.wait(timeout=120)
            self.assertEqual(rc, 0, p.communicate()[1].decode())
        self.assertEqual(self.runs_per_tenant(tz), {t: 1 for t in self.tenants}, "none missing, none twice")
        before = drtest.report_checksums(self.db)
        rc, _, err = self.job(cfg, "--skip-existing")
        self.assertEqual(rc, 0, err)
        self.assertEqual(drtest.report_checksums(self.db), before, "the rerun computed nothing")

    def test_sigterm_stops_the_workers_and_keeps_what_committed(self):
        outdir = self.make_dir()
        tz = "America/Chicago"
        p = self.start_job(self.slow_config(outdir, tz), "--jobs", "2")
        deadline = time.monotonic() + 60
        while sum(self.runs_per_tenant(tz).values()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=60)
        out, err = [s.decode() for s in p.communicate()]
        self.assertEqual(rc, 143, err)
        self.assertIn("stopped after", err)
        self.assertRegex(err, r"\d+ not run")
        saved = dict(self.db.query("SELECT id::text, tenant_id::text FROM dyno_crm.report_run r" + drtest.MAIN_RUNS +
                                   " AND time_zone = %s", (tz,)))
        self.assertGreater(len(saved), 0)
        self.assertLess(len(saved), NTENANTS)
        lines = out.splitlines()
        # whole blocks only: run id, csv, txt; every printed run saved, every saved run's files in place
        self.assertEqual(len(lines) % 3, 0, out)
        printed = lines[0::3]
        self.assertTrue(set(printed) <= set(saved), out)
        for run_id, tenant in saved.items():
            for ext in ("csv", "txt"):
                self.assertTrue(os.path.isfile(os.path.join(outdir, f"rep_performance_{tenant}_{PERIOD}.{ext}")))
        self.assertEqual(len(os.listdir(outdir)), 2 * len(saved), "only the saved runs' files, no staging left")

    def test_second_sigterm_stops_the_workers_at_once(self):
        outdir = self.make_dir()
        tz = "America/Denver"
        p = self.start_job(self.slow_config(outdir, tz, sleep_ms=1500), "--jobs", "2")
        deadline = time.monotonic() + 60
        while not sum(self.runs_per_tenant(tz).values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the workers inside their plugins' rows (1.5 s each)
        p.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # seen by the main process (two pending SIGTERMs would be one)
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
        err = p.communicate()[1].decode()
        self.assertEqual(rc, 143, err)
        self.assertIn("interrupted again by signal 15: stopped at once", err)
        sessions = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = 'dynoreport'"
        deadline = time.monotonic() + 10  # the workers got a second signal too: gone, their sessions with them
        while self.db.query(sessions, (self.db.name,))[0][0] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.db.query(sessions, (self.db.name,))[0][0], 0, "a worker is still connected")
        saved = self.runs_per_tenant(tz)
        self.assertLess(len(saved), NTENANTS)
        self.assertEqual(sorted(n for n in os.listdir(outdir) if n.startswith(".dynoreport-staging.")), [],
                         "staged files and directories removed")
        self.assertEqual(len(os.listdir(outdir)), 2 * len(saved))

    def run_args(self, outdir, *extra):
        return ["run", "--tenant", self.tenants[0], "--all-principals", "--period", PERIOD, "--tz", "Asia/Kolkata",
                "--output-dir", outdir, *extra]

    def test_second_run_waits_for_the_lock_then_exits_75(self):
        outdir = self.make_dir()
        start, end = reference.period_bounds(PERIOD, "Asia/Kolkata")
        rows = drtest.report_rows(self.db)
        holder = self.db.connect()
        holder.autocommit = False
        self.addCleanup(holder.close)
        with holder.cursor() as cur:  # another run of this tenant and period, in flight
            cur.execute("SELECT pg_advisory_xact_lock(" + lock_key_sql() + ")", (self.tenants[0], start, end))
        t0 = time.monotonic()
        rc, out, err = drtest.run_tool(self.run_args(outdir, "--lock-timeout", "1500ms"), connect=self.db.odbc)
        waited = time.monotonic() - t0
        self.assertEqual(rc, 75, err)
        self.assertGreaterEqual(waited, 1.4)
        self.assertIn(f"another run of report rep_performance for tenant {self.tenants[0]} and period {PERIOD}", err)
        self.assertIn("held its lock for longer than --lock-timeout (1500 ms); nothing was saved", err)
        self.assertEqual(out, "")
        self.assertEqual(drtest.report_rows(self.db), rows)
        self.assert_dir_empty(outdir)
        holder.rollback()  # the other run ends: the lock is free
        rc, out, err = drtest.run_tool(self.run_args(outdir, "--lock-timeout", "0"), connect=self.db.odbc)
        self.assert_run_ok(rc, out, err)

    def test_overlapping_runs_never_compute_at_once(self):
        outdir = self.make_dir()
        tenant = self.tenants[1]
        args = ["run", "--tenant", tenant, "--all-principals", "--period", PERIOD, "--tz", "Australia/Sydney",
                "--output-dir", outdir, "--plugin-dir", faulty_plugin_dir(), "--format", "csv,faulty",
                "--opt", "faulty.sleep_ms=1000", "--skip-existing"]
        first = subprocess.Popen(drtest.tool_command(args, self.db.odbc), env=drtest.tool_env(),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, first)
        deadline = time.monotonic() + 30
        while not any(n.startswith(".dynoreport-staging.") for n in os.listdir(outdir)):
            self.assertLess(time.monotonic(), deadline, "the first run never started writing")
            time.sleep(0.02)
        # the first run holds the lock while its plugins write: a short wait gives up ...
        rc, out, err = drtest.run_tool(args + ["--lock-timeout", "200ms"], connect=self.db.odbc)
        self.assertEqual(rc, 75, err)
        # ... a long one waits for its commit, then finds its run saved and computes nothing
        rc, out, err = drtest.run_tool(args + ["--lock-timeout", "30s"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertIn("waiting for another run", err)
        self.assertIn("nothing computed", err)
        rc1, out1, err1 = first.wait(timeout=60), *[s.decode() for s in first.communicate()]
        self.assertEqual(rc1, 0, err1)
        self.assertEqual(out, out1, "the second run printed the first one's run id and paths")
        start, end = reference.period_bounds(PERIOD, "Australia/Sydney")
        self.assertEqual(drtest.count_runs_for(self.db, tenant, start, end), 1)


if __name__ == "__main__":
    unittest.main()
