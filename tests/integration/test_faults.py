"""Faults while a run is in flight, against the real binary and PostgreSQL.

The promise (docs/reliability.md): whatever goes wrong, a run is either complete (run row,
all fact rows, every file in place) or absent (no run row, no fact row, no file, no
temporary file), the exit code is the documented one and the message says what happened.

To land a fault in the middle of a run the tests use
- the test plugin "faulty" with faulty.sleep_ms=N (tests/plugins/faulty.c): the run then
  spends N ms per row between its INSERTs and its COMMIT, with its temporary files open;
- a lock held by the test in a second session, so the tool waits inside a statement;
- pg_terminate_backend from a superuser session (DYNOREPORT_TEST_PG_ADMIN, exported by
  dr_pg_start in scripts/lib/common.sh);
- tmpfs mounts (read-only, or 64 KiB and full) as the output directory. Mounting needs root
  (CAP_SYS_ADMIN); elsewhere those tests skip, saying so, unless
  DYNOREPORT_TEST_REQUIRE_MOUNT=1 (scripts/test sets it when it runs as root, as CI does),
  which turns an impossible mount into a failure.

Faults covered elsewhere (not repeated here): unreachable port / wrong password / missing
output directory / output directory is a file (test_failures.py), failing, garbage-printing
and wrong-ABI plugins (test_plugins.py). docs/reliability.md lists every fault and input
tried with its test; ReliabilityDocTest keeps that table and the tests in step.
"""
import os
import re
import signal
import subprocess
import time
import unittest

import drtest
import reference
from drtest import T1

PERIOD = "2026-03"
TZ = "America/New_York"
RUN = ["run", "--tenant", T1, "--all-principals", "--period", PERIOD, "--tz", TZ]
SLOW_MS = 250   # per row: the fixture gives 12 rows, so a slow run takes about 3 s
POLL = 0.02
WAIT = 60       # seconds to wait for a state the test is waiting for

FACT_SQL = (
    "SELECT run_id::text, tenant_id::text, principal_type, principal_id::text,"
    " period_start, period_end, deals_created_count::text, deals_closed_won_count::text,"
    " deals_closed_lost_count::text, total_amount_won::text, avg_deal_size_won::text,"
    " avg_time_to_close_days::text, win_rate::text"
    " FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s"
    " ORDER BY principal_type, principal_id")


def faulty_plugin_dir():
    d = os.environ.get("DYNOREPORT_TEST_PLUGIN_DIR", "")
    if not os.path.isfile(os.path.join(d, "faulty.so")):
        raise AssertionError(f"DYNOREPORT_TEST_PLUGIN_DIR={d!r} has no faulty.so (run via ctest)")
    return d


def wait_until(predicate, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(POLL)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def temp_files(outdir):
    """The files runs have staged: inside their private .dynoreport-staging.* directories
    (the .dynoreport marker aside), and any old-style .NAME.tmp-XXXXXX name."""
    found = []
    for n in os.listdir(outdir):
        if n.startswith(".dynoreport-staging."):
            try:
                found += [os.path.join(n, f) for f in os.listdir(os.path.join(outdir, n)) if f != ".dynoreport"]
            except (FileNotFoundError, NotADirectoryError):
                pass
        elif n.startswith(".") and ".tmp-" in n:
            found.append(n)
    return sorted(found)


class Tool:
    """A dynoreport process started in the background (behind DYNOREPORT_TEST_WRAPPER
    when set, like drtest.run_tool)."""

    def __init__(self, args, connect, env_extra=None):
        env = drtest.tool_env()
        env.update(env_extra or {})
        self.proc = subprocess.Popen(drtest.tool_command(args, connect), env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def finish(self, timeout=drtest.TOOL_TIMEOUT):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"dynoreport did not finish within {timeout} s: {err!r}")
        return (self.proc.returncode, out.decode("utf-8", "replace"),
                err.decode("utf-8", "replace"))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


class LockHolder:
    """A second session holding a table lock until close()."""

    def __init__(self, db, table):
        self.conn = drtest.psycopg2.connect(db.dsn)
        with self.conn.cursor() as cur:
            cur.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    def close(self):
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
            self.conn = None


def mount_or_skip(testcase, mount_args, target, what):
    """mount MOUNT_ARGS TARGET (lazily unmounted at cleanup), or skip the test when this
    environment cannot mount (not root); a failure under DYNOREPORT_TEST_REQUIRE_MOUNT=1."""
    required = os.environ.get("DYNOREPORT_TEST_REQUIRE_MOUNT") == "1"
    if os.geteuid() != 0 and not required:
        testcase.skipTest(f"{what}: mounting needs root (CAP_SYS_ADMIN); run as root (CI does)")
    p = subprocess.run(["mount", *mount_args, target], capture_output=True, text=True)
    if p.returncode != 0:
        reason = f"{what}: mount {' '.join(mount_args)} {target} failed: {p.stderr.strip()}"
        if required:
            raise AssertionError(reason + " (DYNOREPORT_TEST_REQUIRE_MOUNT=1)")
        testcase.skipTest(reason)
    testcase.addCleanup(subprocess.run, ["umount", "-l", target], capture_output=True)


class FaultTestCase(drtest.FixtureTestCase):
    """A fixture database per class, and the all-or-nothing assertions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plugdir = faulty_plugin_dir()
        cls.admin = drtest.superuser_dsn()
        cls.start, cls.end = reference.period_bounds(PERIOD, TZ)

    def state(self):
        """Rows of every report table (runs with their comparison runs, facts, names,
        totals, view): equal before and after means nothing at all was saved."""
        return drtest.report_rows(self.db)

    def tool_sessions(self):
        """Backends of the tool (application_name dynoreport) in this test's database."""
        return self.db.query("SELECT pid, state, wait_event_type FROM pg_stat_activity"
                             " WHERE datname = current_database() AND application_name = 'dynoreport'"
                             " AND pid <> pg_backend_pid()")

    def terminate_tool_sessions(self):
        conn = drtest.psycopg2.connect(self.admin)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = %s AND application_name = 'dynoreport'", (self.db.name,))
                return [r[0] for r in cur.fetchall()]
        finally:
            conn.close()

    def slow_args(self, outdir, formats="faulty,csv", extra=()):
        return [*RUN, "--plugin-dir", self.plugdir, "--format", formats,
                "--opt", f"faulty.sleep_ms={SLOW_MS}", "--output-dir", outdir, *extra]

    def start_slow_run(self, outdir, formats="faulty,csv", connect=None):
        """Start a slow run and return once it is mid-run: fact rows inserted, one temporary
        file per format created, plugins writing, nothing committed."""
        tool = Tool(self.slow_args(outdir, formats), connect or self.db.odbc)
        self.addCleanup(tool.kill)
        nformats = len(formats.split(","))
        wait_until(lambda: len(temp_files(outdir)) == nformats or tool.proc.poll() is not None,
                   "the run's temporary files")
        if tool.proc.poll() is not None:
            self.fail(f"the run ended before the fault: {tool.finish()!r}")
        time.sleep(2 * SLOW_MS / 1000)  # inside the plugin's rows, between statements
        return tool

    def assert_all_or_nothing(self, rc, out, err, code, texts, outdir, before, extra_files=()):
        """The documented exit code, a message with TEXTS, nothing on stdout, not one row
        added to any report table (no run or comparison run, no fact, name, total or view
        row), no file or temporary file (but EXTRA_FILES the test put there)."""
        self.assertEqual(rc, code, f"stderr: {err}")
        self.assertEqual(out, "", "a failed run announces nothing on stdout")
        self.assertRegex(err, r"(?m)^dynoreport: error: ", "one error line on stderr")
        for text in texts:
            if isinstance(text, re.Pattern):
                self.assertRegex(err, text)
            else:
                self.assertIn(text, err)
        self.assertNotIn(drtest.pg_password(), err)
        self.assertEqual(self.state(), before, "rows were left behind in the report tables")
        self.assertEqual(sorted(os.listdir(outdir)), sorted(extra_files),
                         f"files (or temporary files) left in {outdir}")
        # the tool's session is gone: no transaction left open on the server
        wait_until(lambda: not self.tool_sessions(), "the tool's session to end", timeout=10)

    def assert_complete_run(self, rc, out, err, nfiles):
        """A complete run: run row, all fact rows as the reference computes them, every
        file in place. Returns (run_id, paths)."""
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=nfiles)
        got = [list(r) for r in self.db.query(FACT_SQL, (run_id,))]
        conn = self.db.connect()
        try:
            expected = reference.expected_rows(conn, run_id, T1, self.start, self.end)
        finally:
            conn.close()
        self.assertTrue(expected)
        self.assertEqual(got, expected, f"fact rows of run {run_id}")
        self.assertEqual(self.db.query("SELECT count(*) FROM dyno_crm.report_run WHERE id = %s",
                                       (run_id,)), [(1,)])
        return run_id, paths


class ConnectionFaultTests(FaultTestCase):
    """The database goes away, or makes the run wait, in the middle of a run."""

    def test_connection_killed_while_waiting_for_a_lock(self):
        """The backend is terminated while the tool's INSERT waits for a lock: exit 75."""
        outdir = self.make_dir()
        before = self.state()
        lock = LockHolder(self.db, "dyno_crm.report_rep_performance_fact")
        self.addCleanup(lock.close)
        tool = Tool([*RUN, "--output-dir", outdir], self.db.odbc)
        self.addCleanup(tool.kill)
        wait_until(lambda: any(r[2] == "Lock" for r in self.tool_sessions()), "the tool to wait for the lock")
        self.assertTrue(self.terminate_tool_sessions())
        rc, out, err = tool.finish()
        lock.close()
        self.assert_all_or_nothing(rc, out, err, 75, ["connection to the database was lost", "try again"],
                                   outdir, before)
        # the server's words, without the text of the function's statement it was in
        self.assertIn("terminating connection due to administrator command", err)
        self.assertNotIn("QUERY:", err)
        self.assertNotIn("INSERT INTO", err)

    def test_connection_killed_while_plugins_write(self):
        """The backend is terminated between the INSERTs and the COMMIT, while the plugins
        write: the commit fails, exit 75, temporary files removed."""
        outdir = self.make_dir()
        before = self.state()
        tool = self.start_slow_run(outdir)
        self.assertTrue(self.terminate_tool_sessions())
        rc, out, err = tool.finish()
        self.assert_all_or_nothing(rc, out, err, 75, ["cannot commit", "connection to the database was lost"],
                                   outdir, before)

    def test_idle_in_transaction_timeout_while_plugins_write(self):
        """The server ends the session because the run's transaction stays idle while the
        plugins write (idle_in_transaction_session_timeout, common in production): exit 75,
        nothing saved, temporary files removed."""
        outdir = self.make_dir()
        before = self.state()
        tool = Tool(self.slow_args(outdir), self.db.odbc,
                    env_extra={"PGOPTIONS": "-c idle_in_transaction_session_timeout=1000"})
        self.addCleanup(tool.kill)
        rc, out, err = tool.finish()
        self.assert_all_or_nothing(rc, out, err, 75, ["idle-in-transaction timeout", "25P03"],
                                   outdir, before)

    def test_lock_timeout_from_connection_string(self):
        """report_run locked by another session, lock_timeout=1s set through psqlODBC's
        ConnSettings: the tool gives up after a second with exit 75."""
        outdir = self.make_dir()
        before = self.state()
        lock = LockHolder(self.db, "dyno_crm.report_run")
        self.addCleanup(lock.close)
        connect = drtest.odbc_set(self.db.odbc, "ConnSettings", "SET lock_timeout='1s'")
        started = time.monotonic()
        rc, out, err = drtest.run_tool([*RUN, "--output-dir", outdir], connect=connect)
        elapsed = time.monotonic() - started
        lock.close()
        self.assert_all_or_nothing(rc, out, err, 75, ["lock timeout", "55P03"], outdir, before)
        self.assertLess(elapsed, 30, "the lock timeout did not end the wait")

    def test_statement_timeout_from_pgoptions(self):
        """The fact table locked by another session, statement_timeout=1500 ms through
        PGOPTIONS (libpq under psqlODBC reads it): exit 75."""
        outdir = self.make_dir()
        before = self.state()
        lock = LockHolder(self.db, "dyno_crm.report_rep_performance_fact")
        self.addCleanup(lock.close)
        tool = Tool([*RUN, "--output-dir", outdir], self.db.odbc,
                    env_extra={"PGOPTIONS": "-c statement_timeout=1500"})
        self.addCleanup(tool.kill)
        rc, out, err = tool.finish()
        lock.close()
        self.assert_all_or_nothing(rc, out, err, 75, ["statement timeout", "57014"], outdir, before)

    def test_database_does_not_exist(self):
        outdir = self.make_dir()
        before = self.state()
        connect = drtest.odbc_set(self.db.odbc, "Database", "no_such_db_" + self.db.name)
        rc, out, err = drtest.run_tool([*RUN, "--output-dir", outdir], connect=connect)
        self.assert_all_or_nothing(rc, out, err, 69, ["no_such_db_" + self.db.name, "does not exist"],
                                   outdir, before)

    def test_unknown_odbc_driver(self):
        """A driver name unixODBC cannot load is a configuration error (78), not an
        unavailable database."""
        outdir = self.make_dir()
        before = self.state()
        connect = drtest.odbc_set(self.db.odbc, "Driver", "NoSuchOdbcDriver")
        rc, out, err = drtest.run_tool([*RUN, "--output-dir", outdir], connect=connect)
        self.assert_all_or_nothing(rc, out, err, 78, ["NoSuchOdbcDriver"], outdir, before)

    def test_unknown_dsn(self):
        outdir = self.make_dir()
        before = self.state()
        rc, out, err = drtest.run_tool(["--dsn", "no_such_dsn", *RUN, "--output-dir", outdir])
        self.assert_all_or_nothing(rc, out, err, 78, ["no_such_dsn", "IM002"], outdir, before)


class OutputFaultTests(FaultTestCase):
    """The output directory cannot take the files."""

    def mount_dir(self, options, what):
        target = os.path.join(self.make_dir(), "mnt")
        os.mkdir(target)
        mount_or_skip(self, ["-t", "tmpfs", "-o", options, "tmpfs"], target, what)
        return target

    def test_output_dir_read_only_tmpfs(self):
        outdir = self.mount_dir("ro,size=1m", "read-only output directory")
        before = self.state()
        rc, out, err = drtest.run_tool([*RUN, "--format", "csv,json", "--output-dir", outdir],
                                       connect=self.db.odbc)
        self.assert_all_or_nothing(rc, out, err, 73, [f"'{outdir}'", os.strerror(30)], outdir, before)

    def test_output_dir_read_only_bind_mount(self):
        """A writable directory made read-only by a bind mount (root ignores the mode bits,
        not a read-only mount)."""
        src = self.make_dir()
        outdir = os.path.join(self.make_dir(), "ro")
        os.mkdir(outdir)
        mount_or_skip(self, ["--bind", src], outdir, "read-only bind mount")
        p = subprocess.run(["mount", "-o", "remount,bind,ro", outdir], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        before = self.state()
        rc, out, err = drtest.run_tool([*RUN, "--output-dir", outdir], connect=self.db.odbc)
        self.assert_all_or_nothing(rc, out, err, 73, [f"'{outdir}'", os.strerror(30)], outdir, before)
        self.assertEqual(os.listdir(src), [])

    def fill(self, outdir, leave_bytes):
        """Fill the file system of OUTDIR up to LEAVE_BYTES free; returns the filler's name."""
        path = os.path.join(outdir, "filler")
        with open(path, "wb") as f:
            try:
                while True:
                    st = os.statvfs(outdir)
                    free = st.f_bavail * st.f_frsize
                    if free <= leave_bytes:
                        break
                    f.write(b"\0" * min(4096, free - leave_bytes))
                    f.flush()
            except OSError:
                pass
        st = os.statvfs(outdir)
        self.assertLessEqual(st.f_bavail * st.f_frsize, leave_bytes)
        return "filler"

    def test_output_dir_full(self):
        """No space at all: the plugins' writes fail (ENOSPC), exit 74, no temp file."""
        outdir = self.mount_dir("size=64k", "full output directory")
        filler = self.fill(outdir, 0)
        before = self.state()
        rc, out, err = drtest.run_tool([*RUN, "--format", "csv,json", "--output-dir", outdir],
                                       connect=self.db.odbc)
        self.assert_all_or_nothing(rc, out, err, 74, [os.strerror(28)], outdir, before, [filler])

    def test_output_dir_full_after_the_first_format(self):
        """One page free: the CSV (2.6 KB) fits, the JSON (6.6 KB) does not. Exit 74 and the
        CSV's temporary file is removed too."""
        control = self.make_dir()
        rc, out, err = drtest.run_tool([*RUN, "--format", "csv,json", "--output-dir", control,
                                        "--no-persist"], connect=self.db.odbc)
        _, paths = self.assert_run_ok(rc, out, err, nfiles=2)
        sizes = {os.path.splitext(p)[1]: os.path.getsize(p) for p in paths}
        self.assertLess(sizes[".csv"], 4096, sizes)
        self.assertGreater(sizes[".json"], 4096, sizes)
        outdir = self.mount_dir("size=64k", "almost full output directory")
        filler = self.fill(outdir, 4096)
        before = self.state()
        rc, out, err = drtest.run_tool([*RUN, "--format", "csv,json", "--output-dir", outdir],
                                       connect=self.db.odbc)
        self.assert_all_or_nothing(rc, out, err, 74, [os.strerror(28)], outdir, before, [filler])


class SignalTests(FaultTestCase):
    """SIGINT / SIGTERM mid-run: rolled back, temporary files removed, exit 128 + signal."""

    def check_signal_while_writing(self, sig):
        outdir = self.make_dir()
        before = self.state()
        tool = self.start_slow_run(outdir)
        tool.signal(sig)
        rc, out, err = tool.finish()
        self.assert_all_or_nothing(rc, out, err, 128 + sig,
                                   [f"interrupted by signal {sig}: nothing was saved or written"],
                                   outdir, before)

    def check_signal_while_waiting_for_a_lock(self, sig):
        outdir = self.make_dir()
        before = self.state()
        lock = LockHolder(self.db, "dyno_crm.report_rep_performance_fact")
        self.addCleanup(lock.close)
        tool = Tool([*RUN, "--output-dir", outdir], self.db.odbc)
        self.addCleanup(tool.kill)
        wait_until(lambda: any(r[2] == "Lock" for r in self.tool_sessions()), "the tool to wait for the lock")
        tool.signal(sig)
        rc, out, err = tool.finish(timeout=20)  # the statement is cancelled, not waited for
        lock.close()
        self.assert_all_or_nothing(rc, out, err, 128 + sig,
                                   [f"interrupted by signal {sig}: nothing was saved or written"],
                                   outdir, before)
        self.assertNotIn("canceling statement", err, "the message says what happened: a signal")

    def test_sigint_while_plugins_write(self):
        self.check_signal_while_writing(signal.SIGINT)

    def test_sigterm_while_plugins_write(self):
        self.check_signal_while_writing(signal.SIGTERM)

    def test_sigint_while_waiting_for_a_lock(self):
        self.check_signal_while_waiting_for_a_lock(signal.SIGINT)

    def test_sigterm_while_waiting_for_a_lock(self):
        self.check_signal_while_waiting_for_a_lock(signal.SIGTERM)


class ConcurrencyTests(FaultTestCase):

    def test_two_runs_same_tenant_and_period_at_once(self):
        """Two runs of one tenant and period started together (same output directory and
        file names): the run's lock keeps them from computing at once (the second waits
        within --lock-timeout, docs/cli.md "Two runs at once"); both complete, distinct run
        ids, each run's fact rows complete and right, each file on disk wholly one run's."""
        outdir = self.make_dir()
        runs_before = drtest.count_runs(self.db)
        tools = [Tool(self.slow_args(outdir, extra=("--lock-timeout", "60s")), self.db.odbc) for _ in range(2)]
        for t in tools:
            self.addCleanup(t.kill)
        # 2 runs x 2 formats: four staged files at once would mean both are mid-run
        most = 0
        while any(t.proc.poll() is None for t in tools):
            most = max(most, len(temp_files(outdir)))
            time.sleep(POLL)
        self.assertEqual(most, 2, "one run at a time stages its two files")
        results = [t.finish() for t in tools]
        run_ids = [self.assert_complete_run(*r, nfiles=2)[0] for r in results]
        self.assertEqual(len(set(run_ids)), 2, "two distinct run ids")
        self.assertEqual(drtest.count_runs(self.db), runs_before + 2)
        # same names: the file of the run renamed last is there, whole
        names = sorted(os.listdir(outdir))
        self.assertEqual(len(names), 2, names)
        self.assertEqual(temp_files(outdir), [])
        csv_path = os.path.join(outdir, next(n for n in names if n.endswith(".csv")))
        _, records = drtest.read_csv(csv_path)
        in_file = {r[0] for r in records[1:]}
        self.assertEqual(len(in_file), 1, "rows of two runs mixed in one file")
        (owner,) = in_file
        self.assertIn(owner, run_ids)
        conn = self.db.connect()
        try:
            expected = reference.expected_rows(conn, owner, T1, self.start, self.end)
        finally:
            conn.close()
        self.assertEqual(records[1:], reference.as_csv_rows(expected, TZ))


class ReliabilityDocTest(unittest.TestCase):
    """docs/reliability.md names a test for every row, every named test exists, and every
    test of test_faults / test_hostile is in the table (so the table cannot drift)."""

    DOC = os.path.join(drtest.REPO_ROOT, "docs", "reliability.md")
    REF = re.compile(r"`(test_\w+)\.(\w+)\.(test_\w+)`")

    def test_every_row_names_existing_tests(self):
        import importlib
        with open(self.DOC, encoding="utf-8") as f:
            doc = f.read()
        # the rows of the tables headed "| fault" and "| input" (not the tooling table)
        table_rows, in_table = [], False
        for line in doc.splitlines():
            if not line.startswith("|"):
                in_table = False
            elif line.startswith("| fault |") or line.startswith("| input |"):
                in_table = True
            elif in_table and not line.startswith("|---"):
                table_rows.append(line)
        self.assertGreater(len(table_rows), 30, "the tables of docs/reliability.md are missing")
        named = set()
        for row in table_rows:
            refs = self.REF.findall(row)
            self.assertTrue(refs, f"a row of docs/reliability.md names no test: {row}")
            for module, cls, method in refs:
                mod = importlib.import_module(module)
                klass = getattr(mod, cls, None)
                self.assertIsNotNone(klass, f"{module}.{cls} (docs/reliability.md) does not exist")
                self.assertTrue(callable(getattr(klass, method, None)),
                                f"{module}.{cls}.{method} (docs/reliability.md) does not exist")
                named.add((module, cls, method))
        for module in ("test_faults", "test_hostile"):
            mod = importlib.import_module(module)
            for cls_name, klass in vars(mod).items():
                if not (isinstance(klass, type) and issubclass(klass, unittest.TestCase)):
                    continue
                if klass.__module__ != module or klass is ReliabilityDocTest:
                    continue
                for method in dir(klass):
                    if method.startswith("test_") and callable(getattr(klass, method)):
                        self.assertIn((module, cls_name, method), named,
                                      f"{module}.{cls_name}.{method} is not in docs/reliability.md")


if __name__ == "__main__":
    unittest.main()
