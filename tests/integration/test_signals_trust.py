"""Signals that always work, trusted plugin paths and sane standard descriptors, against the
real binary and PostgreSQL (issue 10, items 4, 5 and 8).

- A plugin stuck forever (tests/plugins/hang.c: pause() in row or end), a server frozen
  with SIGSTOP: the first SIGINT/SIGTERM cannot end the run (the main thread never comes
  back to check), the second one ends it at once (within 2 s) with 128 + signal, the
  database keeps nothing and no staged file is left. SIGHUP is handled like SIGTERM (129).
- Plugins are loaded only from absolute directories that no one but root and the user
  running the tool can change, and only files under the same rule; dlopen runs a
  library's constructors, so the check comes first: hang.so's constructor creates the
  file named by $DYNOREPORT_TEST_MARKER, and for a refused plugin that file never exists.
- fds 0, 1 and 2 closed at start: the tool opens /dev/null for them (OpenSSH's
  sanitise_stdfd), so nothing it prints lands in the database socket.

Tests that change owners need root (CI runs as root); elsewhere they skip, saying so.
"""
import grp
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
import unittest

import drtest
from drtest import T1
from test_faults import RUN, FaultTestCase, LockHolder, Tool, wait_until

QUICK_EXIT = 2.0  # seconds a second signal may take to end the process


def tool_sessions(db):
    return db.query("SELECT pid, state, wait_event_type FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = 'dynoreport'"
                    " AND pid <> pg_backend_pid()")


def resume(pid):
    """SIGCONT to PID, if it still exists."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def start_mid_run(testcase, outdir, formats="faulty,csv"):
    """Start a slow run (faulty.sleep_ms) and return once it is mid-run: its files staged
    (whatever their form: .NAME.tmp-XXXXXX files or a staging directory), fact rows
    inserted, plugins writing, nothing committed."""
    existing = sorted(os.listdir(outdir))
    tool = Tool(testcase.slow_args(outdir, formats), testcase.db.odbc)
    testcase.addCleanup(tool.kill)
    wait_until(lambda: tool.proc.poll() is not None or (
        sorted(os.listdir(outdir)) != existing and
        any(r[1] == "idle in transaction" for r in testcase.tool_sessions())), "the run to be writing")
    if tool.proc.poll() is not None:
        testcase.fail(f"the run ended before the fault: {tool.finish()!r}")
    time.sleep(0.5)
    return tool


class SecondSignalTests(FaultTestCase):
    """The first signal asks the run to unwind; when it cannot (stuck in a plugin or in a
    frozen server), the second one ends the process at once, staged files removed."""

    def outdir_with_a_file(self):
        """An output directory holding a file of its own (it must survive untouched)."""
        outdir = self.make_dir()
        with open(os.path.join(outdir, "keep.txt"), "w", encoding="utf-8") as f:
            f.write("not the tool's\n")
        return outdir, sorted(os.listdir(outdir))

    def start_hung_run(self, outdir, existing, where):
        """A run with csv and the hang plugin, stuck in hang's WHERE: fact rows inserted (not
        committed), files staged, the main thread blocked for good."""
        tool = Tool([*RUN, "--plugin-dir", self.plugdir, "--format", "csv,hang", "--opt", f"hang.in={where}",
                     "--output-dir", outdir], self.db.odbc)
        self.addCleanup(tool.kill)
        wait_until(lambda: tool.proc.poll() is not None or (
            sorted(os.listdir(outdir)) != existing and
            any(r[1] == "idle in transaction" for r in self.tool_sessions())),
            "the run to stage its files and hang")
        if tool.proc.poll() is not None:
            self.fail(f"the run ended before it hung: {tool.finish()!r}")
        time.sleep(0.5)  # well inside the plugin's pause()
        return tool

    def signal_twice(self, tool, first, second):
        """FIRST does not end the stuck process; SECOND ends it within QUICK_EXIT seconds."""
        tool.signal(first)
        time.sleep(1.0)
        self.assertIsNone(tool.proc.poll(), "the first signal ended a process stuck in a plugin: "
                          "this test no longer shows the second one at work")
        tool.signal(second)
        started = time.monotonic()
        rc, out, err = tool.finish(timeout=QUICK_EXIT + 10)
        self.assertLess(time.monotonic() - started, QUICK_EXIT, "the second signal did not end it at once")
        return rc, out, err

    def assert_nothing_left(self, rc, out, err, code, sig, outdir, existing, before):
        self.assertEqual(rc, code, f"stderr: {err}")
        self.assertEqual(out, "", "nothing announced on stdout")
        self.assertIn(f"dynoreport: error: interrupted again by signal {int(sig)}: stopped at once", err)
        self.assertNotIn(drtest.pg_password(), err)
        # the server rolls back when the socket closes; then nothing of the run is left
        wait_until(lambda: not self.tool_sessions(), "the tool's session to end", timeout=10)
        self.assertEqual(self.state(), before, "rows were left behind in the report tables")
        self.assertEqual(sorted(os.listdir(outdir)), existing,
                         f"staged files (or a staging directory) left in {outdir}")

    def test_second_sigint_ends_a_plugin_stuck_in_row(self):
        outdir, existing = self.outdir_with_a_file()
        before = self.state()
        tool = self.start_hung_run(outdir, existing, "row")
        rc, out, err = self.signal_twice(tool, signal.SIGINT, signal.SIGINT)
        self.assert_nothing_left(rc, out, err, 130, signal.SIGINT, outdir, existing, before)

    def test_second_sigterm_ends_a_plugin_stuck_in_end(self):
        outdir, existing = self.outdir_with_a_file()
        before = self.state()
        tool = self.start_hung_run(outdir, existing, "end")
        rc, out, err = self.signal_twice(tool, signal.SIGTERM, signal.SIGTERM)
        self.assert_nothing_left(rc, out, err, 143, signal.SIGTERM, outdir, existing, before)

    def test_sighup_after_sigint_exits_129(self):
        """Any of the three signals is the second one; the exit code is the second's."""
        outdir, existing = self.outdir_with_a_file()
        before = self.state()
        tool = self.start_hung_run(outdir, existing, "row")
        rc, out, err = self.signal_twice(tool, signal.SIGINT, signal.SIGHUP)
        self.assert_nothing_left(rc, out, err, 129, signal.SIGHUP, outdir, existing, before)

    def test_second_sigint_ends_a_run_whose_server_is_frozen(self):
        """The tool's backend is stopped (SIGSTOP) while the tool's INSERT waits for a lock:
        the first SIGINT's cancel reaches a process that cannot act on it, the second one
        ends the tool."""
        if os.geteuid() != 0:
            self.skipTest("stopping the server's backend needs root (CI runs as root)")
        outdir, existing = self.outdir_with_a_file()
        before = self.state()
        lock = LockHolder(self.db, "dyno_crm.report_rep_performance_fact")
        self.addCleanup(lock.close)
        tool = Tool([*RUN, "--output-dir", outdir], self.db.odbc)
        self.addCleanup(tool.kill)
        pids = wait_until(lambda: [r[0] for r in self.tool_sessions() if r[2] == "Lock"],
                          "the tool to wait for the lock")
        os.kill(pids[0], signal.SIGSTOP)
        self.addCleanup(resume, pids[0])
        rc, out, err = self.signal_twice(tool, signal.SIGINT, signal.SIGINT)
        resume(pids[0])
        lock.close()
        self.assert_nothing_left(rc, out, err, 130, signal.SIGINT, outdir, existing, before)


class SighupTests(FaultTestCase):
    """SIGHUP (the terminal went away, `systemctl reload` by mistake) ends a run like
    SIGTERM: cancelled, rolled back, cleaned up, exit 129."""

    def test_sighup_while_waiting_for_a_lock(self):
        outdir = self.make_dir()
        before = self.state()
        lock = LockHolder(self.db, "dyno_crm.report_rep_performance_fact")
        self.addCleanup(lock.close)
        tool = Tool([*RUN, "--output-dir", outdir], self.db.odbc)
        self.addCleanup(tool.kill)
        wait_until(lambda: any(r[2] == "Lock" for r in self.tool_sessions()), "the tool to wait for the lock")
        tool.signal(signal.SIGHUP)
        rc, out, err = tool.finish(timeout=20)
        lock.close()
        self.assert_all_or_nothing(rc, out, err, 129, ["interrupted by signal 1: nothing was saved or written"],
                                   outdir, before)

    def test_sighup_while_plugins_write(self):
        outdir = self.make_dir()
        before = self.state()
        tool = start_mid_run(self, outdir)
        tool.signal(signal.SIGHUP)
        rc, out, err = tool.finish()
        self.assert_all_or_nothing(rc, out, err, 129, ["interrupted by signal 1: nothing was saved or written"],
                                   outdir, before)


# ---- trusted plugin paths ----------------------------------------------------------------

def other_user():
    """A passwd entry that is not the user running the tests (nobody when it exists)."""
    try:
        pw = pwd.getpwnam("nobody")
        if pw.pw_uid != os.geteuid():
            return pw
    except KeyError:
        pass
    return next(p for p in pwd.getpwall() if p.pw_uid not in (0, os.geteuid()))


def group_members(gid):
    """Users in group GID: as their primary group or listed in it."""
    names = set(grp.getgrgid(gid).gr_mem)
    names |= {p.pw_name for p in pwd.getpwall() if p.pw_gid == gid}
    return names


def shared_group():
    """A group with a member other than the user running the tests, that this user may
    chgrp a file to (any group for root), or None."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    candidates = [g.gr_gid for g in grp.getgrall()] if os.geteuid() == 0 else os.getgroups()
    for gid in candidates:
        try:
            if group_members(gid) - {me}:
                return gid
        except KeyError:
            continue
    return None


class TrustedPluginPathTests(drtest.FixtureTestCase):
    """A plugin directory or file others can change, or a relative directory, is refused
    with exit 78 naming it, before any of the library's code runs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.build_plugins = os.environ["DYNOREPORT_BUILD_PLUGIN_DIR"]
        cls.test_plugins = os.environ.get("DYNOREPORT_TEST_PLUGIN_DIR", "")
        if not os.path.isfile(os.path.join(cls.test_plugins, "hang.so")):
            raise AssertionError(f"DYNOREPORT_TEST_PLUGIN_DIR={cls.test_plugins!r} has no hang.so (run via ctest)")

    def plugin_dir(self, *plugins, parent=None):
        """A fresh directory (0755) under PARENT (default: a private temp dir) holding
        copies of PLUGINS (paths)."""
        d = os.path.join(parent or self.make_dir(), "plugins")
        os.mkdir(d)
        os.chmod(d, 0o755)
        for p in plugins:
            shutil.copy2(p, d)
            os.chmod(os.path.join(d, os.path.basename(p)), 0o755)
        return d

    @property
    def csv_so(self):
        return os.path.join(self.build_plugins, "csv.so")

    @property
    def hang_so(self):
        return os.path.join(self.test_plugins, "hang.so")

    def run_raw(self, args, env_extra=None, cwd=None, plugin_path=True):
        env = drtest.tool_env(plugin_path)
        env.update(env_extra or {})
        p = subprocess.run(drtest.tool_command(args, self.db.odbc), env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=drtest.TOOL_TIMEOUT, cwd=cwd)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def run_args(self, outdir, *extra, fmt="csv"):
        return ["run", "--tenant", T1, "--all-principals", "--period", "2026-03", "--format", fmt,
                "--output-dir", outdir, *extra]

    def assert_refused(self, args, texts, env_extra=None, cwd=None, plugin_path=True):
        outdir = self.make_dir()
        before = drtest.report_rows(self.db)
        rc, out, err = self.run_raw(self.run_args(outdir, *args), env_extra, cwd, plugin_path)
        self.assertEqual(rc, 78, f"stderr: {err}")
        self.assertEqual(out, "")
        self.assertRegex(err, r"(?m)^dynoreport: error: ")
        for t in texts:
            self.assertIn(t, err)
        self.assert_dir_empty(outdir)
        self.assert_nothing_saved(self.db, before)
        return err

    def assert_accepted(self, args, env_extra=None, cwd=None, fmt="csv"):
        outdir = self.make_dir()
        rc, out, err = self.run_raw(self.run_args(outdir, *args, "--no-persist", fmt=fmt), env_extra, cwd)
        self.assert_run_ok(rc, out, err, nfiles=1)

    def test_world_writable_plugin_dir_refused(self):
        d = self.plugin_dir(self.csv_so)
        os.chmod(d, 0o777)
        err = self.assert_refused(["--plugin-dir", d], [f"plugin directory '{d}'", "writable by everyone",
                                                        "mode 0777"])
        self.assertNotIn("csv.so", err, "the directory is named, not a file in it")
        # sticky does not help the plugin directory itself: anyone may still add a NAME.so
        os.chmod(d, 0o1777)
        self.assert_refused(["--plugin-dir", d], [f"'{d}'", "writable by everyone", "mode 1777"])
        # `plugins` lists it with the reason, exit 0
        rc, out, err = self.run_raw(["plugins", "--plugin-dir", d], plugin_path=False)
        self.assertEqual(rc, 0, err)
        self.assertIn(d, out)
        self.assertIn("writable by everyone", out)
        os.chmod(d, 0o755)
        self.assert_accepted(["--plugin-dir", d])

    def test_writable_directory_above_refused_unless_sticky(self):
        parent = os.path.join(self.make_dir(), "shared")
        os.mkdir(parent)
        d = self.plugin_dir(self.csv_so, parent=parent)
        os.chmod(parent, 0o777)
        self.assert_refused(["--plugin-dir", d], [f"'{parent}' on its path is writable by everyone"])
        os.chmod(parent, 0o1777)  # as /tmp: others cannot rename or remove what they do not own
        self.assert_accepted(["--plugin-dir", d])

    def test_group_writable_so_refused(self):
        """A .so writable by a group that has another member: refused. Writable by the
        owner's private group only (a umask of 002 with user-private groups): accepted."""
        d = self.plugin_dir(self.csv_so)
        so = os.path.join(d, "csv.so")
        own_gid = os.stat(so).st_gid
        os.chmod(so, 0o775)
        if group_members(own_gid) <= {pwd.getpwuid(os.geteuid()).pw_name}:
            with self.subTest("owner's private group"):
                self.assert_accepted(["--plugin-dir", d])
        gid = shared_group()
        if gid is None:
            self.skipTest("no group with another member to chgrp the plugin to")
        os.chown(so, -1, gid)
        self.assert_refused(["--plugin-dir", d], [f"cannot load plugin '{so}'", "writable by group",
                                                  f"gid {gid}, mode 0775", "members other than its owner"])

    def test_group_writable_plugin_dir_refused(self):
        gid = shared_group()
        if gid is None:
            self.skipTest("no group with another member to chgrp the directory to")
        d = self.plugin_dir(self.csv_so)
        os.chmod(d, 0o775)
        os.chown(d, -1, gid)
        self.assert_refused(["--plugin-dir", d], [f"plugin directory '{d}'", "writable by group",
                                                  f"gid {gid}, mode 0775"])

    def test_so_owned_by_another_user_refused(self):
        if os.geteuid() != 0:
            self.skipTest("chown to another user needs root (CI runs as root)")
        other = other_user()
        d = self.plugin_dir(self.csv_so)
        so = os.path.join(d, "csv.so")
        os.chown(so, other.pw_uid, -1)
        self.assert_refused(["--plugin-dir", d], [f"cannot load plugin '{so}'",
                                                  f"owned by '{other.pw_name}' uid {other.pw_uid}"])
        # the directory too
        os.chown(so, 0, -1)
        os.chown(d, other.pw_uid, -1)
        self.assert_refused(["--plugin-dir", d], [f"plugin directory '{d}'", f"uid {other.pw_uid}"])

    def test_relative_plugin_dir_refused(self):
        """--plugin-dir, plugin_dir in the configuration and DYNOREPORT_PLUGIN_PATH entries
        must be absolute; the working directory holds a loadable plugins/csv.so, which a
        relative directory would have picked up."""
        cwd = self.make_dir()
        self.plugin_dir(self.csv_so, parent=cwd)
        self.assert_refused(["--plugin-dir", "plugins"], ["plugin directory 'plugins' is relative"], cwd=cwd)
        self.assert_refused(["--plugin-dir", "./plugins"], ["'./plugins' is relative"], cwd=cwd)
        cfg = os.path.join(self.make_dir(), "dynoreport.conf")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write("[defaults]\nplugin_dir = plugins\n")
        outdir = self.make_dir()
        rc, out, err = self.run_raw(["--config", cfg, *self.run_args(outdir)], cwd=cwd)
        self.assertEqual(rc, 78, err)
        self.assertIn("'plugins' is relative", err)
        self.assert_dir_empty(outdir)
        # an environment entry, even one after the directory that has the format
        self.assert_refused([], ["'plugins' is relative"], cwd=cwd,
                            env_extra={"DYNOREPORT_PLUGIN_PATH": f"{self.build_plugins}:plugins"})

    def test_constructor_of_a_refused_plugin_never_runs(self):
        """hang.so's constructor creates $DYNOREPORT_TEST_MARKER when it is loaded. In a
        world-writable directory, or group-writable itself, it is refused and the marker
        never appears; from a trusted directory (the control) it does."""
        marker = os.path.join(self.make_dir(), "constructor-ran")
        env = {"DYNOREPORT_TEST_MARKER": marker}
        d = self.plugin_dir(self.hang_so)
        os.chmod(d, 0o777)
        outdir = self.make_dir()
        rc, out, err = self.run_raw(self.run_args(outdir, "--plugin-dir", d, fmt="hang"), env)
        self.assertEqual(rc, 78, err)
        self.assertIn(f"plugin directory '{d}'", err)
        self.assertFalse(os.path.exists(marker), "the refused plugin's constructor ran")
        rc, out, err = self.run_raw(["plugins", "--plugin-dir", d], env, plugin_path=False)
        self.assertEqual(rc, 0, err)
        self.assertIn("writable by everyone", out)
        self.assertFalse(os.path.exists(marker), "`plugins` ran the refused plugin's constructor")
        os.chmod(d, 0o755)
        gid = shared_group()
        if gid is not None:
            so = os.path.join(d, "hang.so")
            os.chmod(so, 0o775)
            os.chown(so, -1, gid)
            rc, out, err = self.run_raw(self.run_args(outdir, "--plugin-dir", d, fmt="hang"), env)
            self.assertEqual(rc, 78, err)
            self.assertIn(f"cannot load plugin '{so}'", err)
            self.assertFalse(os.path.exists(marker), "the refused plugin's constructor ran")
            os.chmod(so, 0o755)
        # the control: trusted, it is loaded and its constructor runs
        rc, out, err = self.run_raw(["plugins", "--plugin-dir", d], env, plugin_path=False)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^hang\s+0\.0\.1")
        self.assertTrue(os.path.exists(marker), "the control: the constructor did not run")

    def test_link_into_an_untrusted_directory_refused(self):
        """NAME.so may be a symbolic link; the directory of its target is checked too."""
        open_dir = self.plugin_dir(self.csv_so)
        os.chmod(open_dir, 0o777)
        d = self.plugin_dir()
        os.symlink(os.path.join(open_dir, "csv.so"), os.path.join(d, "csv.so"))
        self.assert_refused(["--plugin-dir", d], ["(a link to '", f"its directory '{open_dir}'",
                                                  "writable by everyone"])
        os.chmod(open_dir, 0o755)
        self.assert_accepted(["--plugin-dir", d])

    def test_fifo_named_like_a_plugin_refused_without_hanging(self):
        d = self.plugin_dir()
        os.mkfifo(os.path.join(d, "csv.so"))
        self.assert_refused(["--plugin-dir", d], ["not a regular file"])

    def test_plugin_dir_longer_than_path_max_refused(self):
        """dr_plugin_find cut paths at 4096 bytes without a word (the cut path was then
        simply not found, and csv came from the next directory); now an error naming it."""
        deep = "/" + "/".join(["d" * 200] * 25)  # 5025 bytes
        self.assert_refused(["--plugin-dir", deep], ["plugin directory '/ddd", "longer than 4095 bytes"])
        # a directory that fits, but not with /csv.so after it
        edge = "/" + "/".join(["e" * 200] * 20)
        edge += "/" + "e" * (4090 - len(edge) - 1)
        self.assertEqual(len(edge), 4090)
        self.assert_refused(["--plugin-dir", edge], ["the path of csv.so in it would be longer than 4095 bytes"])

    def test_build_and_test_plugin_dirs_are_trusted(self):
        """The directories the build makes pass (owned by the user, 0755, or 0775 with a
        user-private group under a umask of 002)."""
        rc, out, err = self.run_raw(["plugins", "--plugin-dir", self.test_plugins])
        self.assertEqual(rc, 0, err)
        self.assertNotIn("writable", out)
        self.assertNotIn("owned by", out)
        self.assertRegex(out, r"(?m)^csv\s")
        self.assertRegex(out, r"(?m)^hang\s")


# ---- fds 0, 1 and 2 ------------------------------------------------------------------------

def server_log():
    """The test server's log file: scripts/lib/common.sh keeps postgres.log in the
    directory of the server's socket, which DYNOREPORT_TEST_PG_ADMIN names. None for a
    server elsewhere (not started by the scripts)."""
    host = drtest.psycopg2.extensions.parse_dsn(os.environ.get("DYNOREPORT_TEST_PG_ADMIN", "")).get("host", "")
    dirs = [os.environ.get("DR_PG_DIR", ""), host if host.startswith("/") else ""]
    for d in dirs:
        if d and os.path.isfile(os.path.join(d, "postgres.log")):
            return os.path.join(d, "postgres.log")
    if host.startswith("/"):
        raise AssertionError(f"no postgres.log in {host}, the test server's socket directory: the test needs "
                             "it to see whether the tool wrote into its database connection")
    return None


class StandardFdTests(drtest.FixtureTestCase):
    """Started with fd 0, 1 or 2 closed (a daemon that closed them, `>&-` in a crontab):
    the tool opens /dev/null in their place before anything else, so no file or socket
    it opens later becomes its stdout."""

    def run_closed(self, fds, outdir):
        def close_fds():
            for fd in fds:
                os.close(fd)
        log = server_log()
        log_size = os.path.getsize(log) if log else 0
        ids_sql = "SELECT id::text FROM dyno_crm.report_run r" + drtest.MAIN_RUNS
        before = {r[0] for r in self.db.query(ids_sql)}
        p = subprocess.run(drtest.tool_command(["run", "--tenant", T1, "--all-principals", "--period", "2026-03",
                                                "--format", "csv", "--output-dir", outdir], self.db.odbc),
                           env=drtest.tool_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL if 2 in fds else subprocess.PIPE,
                           preexec_fn=close_fds, timeout=drtest.TOOL_TIMEOUT)
        err = p.stderr.decode("utf-8", "replace") if p.stderr else ""
        self.assertEqual(p.returncode, 0, f"fds {fds} closed: stderr: {err}")
        self.assertNotIn("error", err)
        new = {r[0] for r in self.db.query(ids_sql)} - before
        self.assertEqual(len(new), 1, "the run was not saved (or more than one)")
        (run_id,) = new
        nfacts = self.db.query("SELECT count(*) FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s",
                               (run_id,))[0][0]
        self.assertGreater(nfacts, 0)
        names = os.listdir(outdir)
        self.assertEqual(len(names), 1, names)
        _, records = drtest.read_csv(os.path.join(outdir, names[0]))
        self.assertEqual({r[0] for r in records[1:]}, {run_id})
        self.assertEqual(len(records) - 1, nfacts)
        if log:
            # the run id printed into the database socket made the server drop the session
            with open(log, "rb") as f:
                f.seek(log_size)
                tail = f.read().decode("utf-8", "replace")
            self.assertNotIn("invalid frontend message type", tail)
            self.assertNotIn("unexpected EOF on client connection", tail)
        wait_until(lambda: not tool_sessions(self.db), "the tool's session to end", timeout=10)

    def test_run_with_stdout_closed(self):
        self.run_closed((1,), self.make_dir())

    def test_run_with_stdin_stdout_and_stderr_closed(self):
        self.run_closed((0, 1, 2), self.make_dir())


if __name__ == "__main__":
    unittest.main()
