"""Staged files by handle (issue 10, items 1 and 7, and the path-escaping part of 8), against
the real binary and PostgreSQL.

A run stages its files in a private directory it creates inside the output directory
(`.dynoreport-staging.XXXXXXXXXXXX`, mode 0700, locked with flock while the run lives,
holding a `.dynoreport` marker); the files are created there by handle (O_EXCL|O_NOFOLLOW),
the plugins get a /proc/self/fd/<staging fd>/<name> path that no other user can redirect,
what is published is checked (the regular file the run created, one link) and renamed into
place with renameat after the commit. Stale staging left by a killed run is removed by the
next run; a live run's is never touched.

These tests need root (CI runs as root): the attacker is a second user (nobody) in a forked
child, and two tests change ownership or mount namespaces. Not root is a failure, not a skip.
"""
import fcntl
import json
import mmap
import os
import pwd
import grp
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import openpyxl

import drtest
from drtest import T1

PERIOD = "2026-03"
TZ = "America/New_York"
RUN = ["run", "--tenant", T1, "--all-principals", "--period", PERIOD, "--tz", TZ]
STAGE_PREFIX = ".dynoreport-staging."
MARKER = ".dynoreport"
DEFAULT_BASE = f"rep_performance_{T1}_{PERIOD}"
ESC = b"\x1b"


def require_root():
    if os.geteuid() != 0:
        raise AssertionError("test_staging needs root: its attacker is a second user (nobody) and "
                             "some checks change ownership; run it as root (CI does)")


def nobody():
    """(uid, gid) of the unprivileged user the attacker runs as."""
    try:
        uid = pwd.getpwnam("nobody").pw_uid
    except KeyError as e:
        raise AssertionError("test_staging needs the user 'nobody'") from e
    for group in ("nogroup", "nobody"):
        try:
            return uid, grp.getgrnam(group).gr_gid
        except KeyError:
            continue
    return uid, pwd.getpwnam("nobody").pw_gid


def faulty_plugin_dir():
    d = os.environ.get("DYNOREPORT_TEST_PLUGIN_DIR", "")
    if not os.path.isfile(os.path.join(d, "faulty.so")):
        raise AssertionError(f"DYNOREPORT_TEST_PLUGIN_DIR={d!r} has no faulty.so (run via ctest)")
    return d


def run_bytes(args, connect=None, timeout=drtest.TOOL_TIMEOUT, preexec_fn=None, prefix=(), env_extra=None):
    """Run the tool with str-or-bytes arguments; returns (rc, stdout bytes, stderr bytes)."""
    cmd = [*prefix, *drtest.tool_command([], connect), *args]
    cmd = [os.fsencode(a) if isinstance(a, str) else a for a in cmd]
    env = drtest.tool_env()
    env.update(env_extra or {})
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, preexec_fn=preexec_fn)
    return p.returncode, p.stdout, p.stderr


def staging_dirs(outdir):
    """Names of staging directories (and of the old `.NAME.tmp-XXXXXX` files) in OUTDIR."""
    out = []
    for n in os.listdir(outdir):
        name = os.fsdecode(n)
        if name.startswith(STAGE_PREFIX) or (name.startswith(".") and ".tmp-" in name):
            out.append(name)
    return sorted(out)


def staged_files(outdir):
    """Files inside the staging directories of OUTDIR (what a run has staged), marker excluded."""
    found = []
    for name in staging_dirs(outdir):
        path = os.path.join(outdir, name)
        try:
            found += [os.path.join(name, f) for f in os.listdir(path) if f != MARKER]
        except (FileNotFoundError, NotADirectoryError):
            pass
    return sorted(found)


def wait_until(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def make_stale(outdir, name, files=("rep.csv",), marker=True, mode=0o700, owner=None):
    """A staging directory as a killed run leaves it."""
    path = os.path.join(outdir, name)
    os.mkdir(path)
    os.chmod(path, mode)
    if marker:
        open(os.path.join(path, MARKER), "w").close()
    for f in files:
        with open(os.path.join(path, f), "w") as fh:
            fh.write("half a report\n")
    if owner is not None:
        for f in os.listdir(path):
            os.chown(os.path.join(path, f), *owner)
        os.chown(path, *owner)
    return path


class Attacker:
    """A process running as nobody that, as fast as it can, replaces every entry of OUTDIR
    whose name looks staged (a leading dot) with a symlink to VICTIM, moves staging
    directories away and puts a symlink or a directory of its own (holding a symlink to
    VICTIM) at their name, and tries to create symlinks and FIFOs inside them. `hits`
    counts the staged-looking entries it attacked."""

    def __init__(self, outdir, victim, uid, gid):
        self.counter = mmap.mmap(-1, 8)  # shared with the child: entries it attacked
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                self._loop(outdir, victim)
            finally:
                os._exit(0)

    def _hit(self):
        n = int.from_bytes(self.counter[:8], "little") + 1
        self.counter[:8] = n.to_bytes(8, "little")

    def _loop(self, outdir, victim):
        while True:
            try:
                names = os.listdir(outdir)
            except OSError:
                continue
            for name in names:
                if not name.startswith(".") or name.endswith(".moved"):
                    continue
                path = os.path.join(outdir, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if st.st_uid == os.getuid():
                    continue  # one of ours already
                self._hit()
                swap_in_dir = self.hits % 2 == 0
                if stat.S_ISDIR(st.st_mode):
                    for inner in ("x", "rep.csv", f"{DEFAULT_BASE}.csv", f"{DEFAULT_BASE}.xlsx"):
                        for attempt in (lambda p: os.symlink(victim, p), os.mkfifo):
                            try:
                                attempt(os.path.join(path, inner))
                            except OSError:
                                pass
                    try:
                        for inner in os.listdir(path):
                            os.unlink(os.path.join(path, inner))
                    except OSError:
                        pass
                    try:  # move the directory away (same parent: allowed) and take its name
                        os.rename(path, path + ".moved")
                    except OSError:
                        pass
                else:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
                try:  # take the name: a link to the victim, or a directory of our own
                    if swap_in_dir:
                        os.mkdir(path, 0o777)
                        os.symlink(victim, os.path.join(path, "x"))
                    else:
                        os.symlink(victim, path)
                except OSError:
                    pass
                try:
                    os.mkfifo(path + ".fifo")
                except OSError:
                    pass

    @property
    def hits(self):
        return int.from_bytes(self.counter[:8], "little")

    def stop(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = 0


class StagingTestCase(drtest.FixtureTestCase):

    @classmethod
    def setUpClass(cls):
        require_root()
        super().setUpClass()
        cls.plugdir = faulty_plugin_dir()

    def runs(self):
        return drtest.count_runs(self.db)

    def fact_count(self, run_id):
        return self.db.query("SELECT count(*) FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s",
                             (run_id,))[0][0]

    def assert_report(self, path, run_id):
        """PATH is a regular file owned by root (not a link) holding run RUN_ID's rows, read
        back with the format's real parser."""
        st = os.lstat(path)
        self.assertTrue(stat.S_ISREG(st.st_mode), f"{path} is not a regular file: {oct(st.st_mode)}")
        self.assertEqual(st.st_uid, 0, f"{path} is not owned by root")
        self.assertEqual(st.st_nlink, 1, f"{path} has {st.st_nlink} links")
        nrows = self.fact_count(run_id)
        self.assertGreater(nrows, 0)
        if path.endswith(".csv"):
            _, records = drtest.read_csv(path)
            self.assertEqual(records[0][0], "run_id")
            rows = records[1:]
            self.assertEqual({r[0] for r in rows}, {run_id}, path)
        elif path.endswith(".xlsx"):
            wb = openpyxl.load_workbook(path, read_only=True)
            # the fact rows: the "Data" sheet beside the Report sheet (the plugin gets the view)
            rows = [r for r in wb["Data"].iter_rows(min_row=2, values_only=True) if r[0] is not None]
            wb.close()
            self.assertEqual({r[0] for r in rows}, {run_id}, path)
        elif path.endswith(".json"):
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            self.assertEqual(doc["run_id"], run_id)
            rows = doc["rows"]
            self.assertEqual({r["run_id"] for r in rows}, {run_id}, path)
        else:
            with open(path, encoding="utf-8") as f:
                rows = f.read().splitlines()[1:]  # faulty: a header line, then column 0 per row
            self.assertEqual(set(rows), {run_id}, path)
        self.assertEqual(len(rows), nrows, f"rows in {path}")

    def assert_no_staging(self, outdir):
        self.assertEqual(staging_dirs(outdir), [], f"staging left in {outdir}")

    def assert_message_names(self, err, path):
        self.assertIn(os.fsencode(path), err)


class AttackTests(StagingTestCase):
    """Issue 10 item 1: a second user who may write the output directory."""

    def test_second_user_swaps_staged_entries_for_symlinks_and_fifos(self):
        """The output directory is world-writable (a shared drop folder); an attacker running
        as nobody loops, as fast as it can, over every staged-looking entry: replaces it with a
        symlink to a root-owned victim file, moves staging directories away and plants links
        and FIFOs in their place and inside them; links and a FIFO also wait at the final
        names. Six runs as root with csv, xlsx, json (and the slow faulty plugin, so every run
        is attacked): each exits 0 without hanging, the victim is untouched, every published
        file is a regular root-owned file holding the run (read back), and no staging is left."""
        uid, gid = nobody()
        outdir = self.make_dir()
        os.chmod(outdir, 0o777)
        fd, victim = tempfile.mkstemp(prefix="victim-", dir="/tmp")
        self.addCleanup(os.remove, victim)
        os.write(fd, b"untouched\n")
        os.close(fd)
        os.chmod(victim, 0o644)
        before = os.stat(victim)
        formats = "csv,xlsx,json,faulty"
        exts = ("csv", "xlsx", "json", "txt")
        total_hits = 0
        for attempt in range(6):
            with self.subTest(run=attempt):
                # waiting at the final names, planted by the attacker before the run
                for ext in ("csv", "xlsx"):
                    p = os.path.join(outdir, f"{DEFAULT_BASE}.{ext}")
                    if os.path.lexists(p):
                        os.unlink(p)
                    os.symlink(victim, p)
                    os.lchown(p, uid, gid)
                p = os.path.join(outdir, f"{DEFAULT_BASE}.json")
                if os.path.lexists(p):
                    os.unlink(p)
                os.mkfifo(p)
                os.chown(p, uid, gid)
                runs_before = self.runs()
                attacker = Attacker(outdir, victim, uid, gid)
                self.addCleanup(attacker.stop)
                hits_before = attacker.hits
                try:
                    rc, out, err = run_bytes([*RUN, "--format", formats, "--plugin-dir", self.plugdir,
                                              "--opt", "faulty.sleep_ms=15", "--output-dir", outdir],
                                             connect=self.db.odbc, timeout=60)
                finally:
                    hits = attacker.hits - hits_before
                    attacker.stop()
                total_hits += hits
                self.assertEqual(rc, 0, f"stderr: {err!r}")
                self.assertGreater(hits, 0, "the attacker never saw the run's staging")
                with open(victim, "rb") as f:
                    self.assertEqual(f.read(), b"untouched\n", "the victim file was overwritten")
                now = os.stat(victim)
                self.assertEqual((now.st_ino, now.st_size, now.st_mtime_ns, now.st_mode),
                                 (before.st_ino, before.st_size, before.st_mtime_ns, before.st_mode))
                lines = out.decode().splitlines()
                self.assertEqual(len(lines), 1 + len(exts), out)
                run_id, paths = lines[0], lines[1:]
                self.assertEqual(self.runs(), runs_before + 1)
                self.assertEqual(sorted(paths), sorted(os.path.join(outdir, f"{DEFAULT_BASE}.{e}") for e in exts))
                for path in paths:
                    self.assert_report(path, run_id)
                # the tool left nothing but the reports: what else is there is the attacker's
                for n in os.listdir(outdir):
                    p = os.path.join(outdir, n)
                    st = os.lstat(p)
                    if p in paths:
                        continue
                    self.assertEqual(st.st_uid, uid, f"{p} ({oct(st.st_mode)}) left by the tool")
        self.assertGreater(total_hits, 0)


class StaleStagingTests(StagingTestCase):
    """Staging left by a killed run is removed by the next run; a live run's, another user's,
    or a private directory of ours that merely has the name, is not."""

    def plain_run(self, outdir, extra=()):
        return run_bytes([*RUN, "--format", "csv", "--output-dir", outdir, *extra], connect=self.db.odbc)

    def test_sigkill_mid_run_then_next_run_removes_the_staging(self):
        """kill -9 while the plugins write (faulty.sleep_ms): the staging directory stays
        (nothing can clean up after SIGKILL); the next run removes it and says so, and no run
        row of the killed run exists."""
        outdir = self.make_dir()
        runs_before = self.runs()
        cmd = drtest.tool_command([*RUN, "--format", "faulty,csv", "--plugin-dir", self.plugdir,
                                   "--opt", "faulty.sleep_ms=250", "--output-dir", outdir], self.db.odbc)
        proc = subprocess.Popen(cmd, env=drtest.tool_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        wait_until(lambda: len(staged_files(outdir)) == 2 or proc.poll() is not None, "the run's staged files")
        self.assertIsNone(proc.poll(), "the run ended before it could be killed")
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        (left,) = staging_dirs(outdir)
        self.assertEqual(len(staged_files(outdir)), 2)
        rc, out, err = self.plain_run(outdir)
        self.assertEqual(rc, 0, err)
        self.assertIn(b"removed ", err)
        self.assertIn(left.encode(), err)
        self.assertIn(b"the staging directory of an earlier run that did not end cleanly (2 staged files)", err)
        self.assert_no_staging(outdir)
        self.assertEqual(sorted(os.listdir(outdir)), [f"{DEFAULT_BASE}.csv"])
        # the killed run's transaction was rolled back with its connection
        wait_until(lambda: self.runs() == runs_before + 1, "the killed run's session to end", timeout=30)

    def test_stale_staging_removed_live_and_foreign_left_alone(self):
        """Three `.dynoreport-staging.*` directories: a stale one of ours (marker, a file, no
        lock) is removed; one whose lock the test holds (a live run) and one owned by nobody
        are untouched, files and all. Once the lock is released, the next run removes it."""
        outdir = self.make_dir()
        stale = make_stale(outdir, STAGE_PREFIX + "abc123", files=("a.csv", "b.json"))
        live = make_stale(outdir, STAGE_PREFIX + "live42")
        foreign = make_stale(outdir, STAGE_PREFIX + "x", owner=nobody())
        lockfd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
        self.addCleanup(lambda: os.close(lockfd) if lockfd >= 0 else None)
        fcntl.flock(lockfd, fcntl.LOCK_EX)
        rc, out, err = self.plain_run(outdir)
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.lexists(stale), "the stale staging directory is still there")
        self.assertIn(b"removed " + repr(stale).encode(), err)
        self.assertIn(b"(2 staged files)", err)
        self.assertEqual(sorted(os.listdir(live)), [MARKER, "rep.csv"], "a live run's staging was touched")
        self.assertEqual(sorted(os.listdir(foreign)), [MARKER, "rep.csv"], "another user's staging was touched")
        self.assertNotIn(b"live42", err)
        self.assertEqual(os.stat(foreign).st_uid, nobody()[0])
        # a -v run says why it left them alone
        rc, out, err = run_bytes(["-v", *RUN, "--format", "csv", "--output-dir", outdir], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertIn(b"left alone: " + repr(live).encode() + b" belongs to a run still in progress", err)
        self.assertIn(b"left alone: " + repr(foreign).encode() + b" is not a staging directory of this user", err)
        fcntl.flock(lockfd, fcntl.LOCK_UN)
        os.close(lockfd)
        lockfd = -1
        rc, out, err = self.plain_run(outdir)
        self.assertEqual(rc, 0, err)
        self.assertFalse(os.path.lexists(live), "released: the next run removes it")
        self.assertTrue(os.path.isdir(foreign))

    def test_private_directory_with_a_staging_name_is_not_emptied(self):
        """A directory of ours that someone who may rename entries of the output directory
        gave a staging name (no marker inside): its files are never removed."""
        outdir = self.make_dir()
        private = make_stale(outdir, STAGE_PREFIX + "renamed", files=("keep-me.txt",), marker=False)
        rc, out, err = self.plain_run(outdir)
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.listdir(private), ["keep-me.txt"])
        self.assertIn(b"warning: cannot remove " + repr(private).encode(), err)

    def test_links_and_files_with_a_staging_name_are_left_alone(self):
        """A symlink (to a directory holding a marker and a file) and a plain file named like
        staging: nothing is followed, nothing removed."""
        outdir = self.make_dir()
        target = self.make_dir()
        make_stale(target, "inner")
        os.symlink(os.path.join(target, "inner"), os.path.join(outdir, STAGE_PREFIX + "link"))
        with open(os.path.join(outdir, STAGE_PREFIX + "file"), "w") as f:
            f.write("x")
        rc, out, err = self.plain_run(outdir)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(os.listdir(os.path.join(target, "inner"))), [MARKER, "rep.csv"])
        self.assertEqual(sorted(os.listdir(outdir)), sorted([f"{DEFAULT_BASE}.csv", STAGE_PREFIX + "link",
                                                             STAGE_PREFIX + "file"]))


class ModeTests(StagingTestCase):
    """Published files keep following the umask (0666 & ~umask), as before."""

    def test_modes_follow_the_umask(self):
        for mask, expected in ((0o027, 0o640), (0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
            with self.subTest(umask=oct(mask)):
                outdir = self.make_dir()
                rc, out, err = run_bytes([*RUN, "--format", "csv,xlsx,json", "--output-dir", outdir],
                                         connect=self.db.odbc, preexec_fn=lambda m=mask: os.umask(m))
                self.assertEqual(rc, 0, err)
                paths = out.decode().splitlines()[1:]
                self.assertEqual(len(paths), 3)
                for p in paths:
                    self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), expected, p)
                self.assert_no_staging(outdir)


class TargetTests(StagingTestCase):
    """Issue 10 item 7: a directory at a final name is found before the commit."""

    def test_directory_at_a_final_name_exit_73_nothing_saved(self):
        """A directory stands where the JSON file goes: exit 73 before the commit, no run row,
        no file published for any format, no staging left, the message names the path."""
        outdir = self.make_dir()
        blocker = os.path.join(outdir, f"{DEFAULT_BASE}.json")
        os.mkdir(blocker)
        saved_before = drtest.report_rows(self.db)
        rc, out, err = run_bytes([*RUN, "--format", "csv,xlsx,json", "--output-dir", outdir],
                                 connect=self.db.odbc)
        self.assertEqual(rc, 73, err)
        self.assertEqual(out, b"")
        self.assertIn(b"cannot put the report at " + repr(blocker).encode() + b": a directory of that name", err)
        self.assert_nothing_saved(self.db, saved_before)
        self.assertEqual(os.listdir(outdir), [os.path.basename(blocker)])
        self.assertEqual(os.listdir(blocker), [])

    def test_directory_appearing_while_the_plugins_write_exit_73(self):
        """The directory appears at the CSV's name while the plugins write (after the early
        check): found right before the commit, exit 73, nothing saved or published."""
        outdir = self.make_dir()
        blocker = os.path.join(outdir, f"{DEFAULT_BASE}.csv")
        saved_before = drtest.report_rows(self.db)
        cmd = drtest.tool_command([*RUN, "--format", "faulty,csv", "--plugin-dir", self.plugdir,
                                   "--opt", "faulty.sleep_ms=100", "--output-dir", outdir], self.db.odbc)
        proc = subprocess.Popen(cmd, env=drtest.tool_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.communicate()))
        wait_until(lambda: len(staged_files(outdir)) == 2 or proc.poll() is not None, "the run's staged files")
        os.mkdir(blocker)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 73, err)
        self.assertEqual(out, b"")
        self.assertIn(repr(blocker).encode(), err)
        self.assert_nothing_saved(self.db, saved_before)
        self.assertEqual(os.listdir(outdir), [os.path.basename(blocker)])

    def test_links_and_fifos_at_final_names_are_replaced_not_followed(self):
        """A symlink to a file elsewhere, a dangling symlink and a FIFO at the final names:
        rename replaces them (nothing is followed, nothing hangs); the link target is untouched."""
        outdir = self.make_dir()
        elsewhere = os.path.join(self.make_dir(), "precious")
        with open(elsewhere, "w") as f:
            f.write("precious\n")
        os.symlink(elsewhere, os.path.join(outdir, f"{DEFAULT_BASE}.csv"))
        os.symlink("/nonexistent/x", os.path.join(outdir, f"{DEFAULT_BASE}.xlsx"))
        os.mkfifo(os.path.join(outdir, f"{DEFAULT_BASE}.json"))
        rc, out, err = run_bytes([*RUN, "--format", "csv,xlsx,json", "--output-dir", outdir],
                                 connect=self.db.odbc, timeout=60)
        self.assertEqual(rc, 0, err)
        lines = out.decode().splitlines()
        for p in lines[1:]:
            self.assert_report(p, lines[0])
        with open(elsewhere) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assert_no_staging(outdir)


class EscapedPathTests(StagingTestCase):
    """Issue 10 item 8: a directory named with terminal escape sequences is never printed raw."""

    NAMES = [b"\x1b]0;pwned\x07", b"\x1b[31mred\x1b[0m"]

    def escape_dir(self, name):
        outdir = os.path.join(os.fsencode(self.make_dir()), name)
        os.mkdir(outdir)
        return outdir

    def check_clean(self, err):
        self.assertNotIn(ESC, err, f"raw ESC in the message: {err!r}")
        self.assertNotIn(b"\x07", err)

    def test_failing_runs_print_no_escape_bytes(self):
        for name in self.NAMES:
            with self.subTest(name=name):
                # a directory at the final name (found before the commit): exit 73
                outdir = self.escape_dir(name)
                os.mkdir(os.path.join(outdir, f"{DEFAULT_BASE}.csv".encode()))
                rc, out, err = run_bytes([*RUN, "--format", "csv", "--output-dir", outdir], connect=self.db.odbc)
                self.assertEqual(rc, 73, err)
                self.assertIn(b"\\x1b", err)
                self.check_clean(err)
                # the output directory is missing: exit 73
                rc, out, err = run_bytes([*RUN, "--output-dir", os.path.join(outdir, b"missing\x1b[2J")],
                                         connect=self.db.odbc)
                self.assertEqual(rc, 73, err)
                self.check_clean(err)
                # a plugin that fails in end names nothing raw either
                outdir = self.escape_dir(name + b"2")
                rc, out, err = run_bytes([*RUN, "--format", "csv,faulty", "--plugin-dir", self.plugdir,
                                          "--opt", "faulty.fail_in=end", "--output-dir", outdir],
                                         connect=self.db.odbc)
                self.assertNotEqual(rc, 0)
                self.check_clean(err)
                self.assertEqual(os.listdir(outdir), [])

    def test_info_message_about_stale_staging_is_escaped(self):
        outdir = self.escape_dir(self.NAMES[0] + b"3")
        make_stale(os.fsdecode(outdir), STAGE_PREFIX + "old1")
        rc, out, err = run_bytes([*RUN, "--format", "csv", "--output-dir", outdir], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertIn(b"removed ", err)
        self.check_clean(err)


class NameMaxTests(StagingTestCase):
    """Staged names never exceed NAME_MAX: a file is staged under its own final name."""

    def test_255_byte_names_are_staged_and_published(self):
        """A template whose longest name (xlsx, json) is exactly 255 bytes: the old staged
        name `.NAME.tmp-XXXXXX` would have been 267 bytes (ENAMETOOLONG); now exit 0."""
        outdir = self.make_dir()
        tmpl = "r" * 250 + ".{ext}"
        rc, out, err = run_bytes([*RUN, "--format", "csv,xlsx,json", "--name", tmpl, "--output-dir", outdir],
                                 connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        lines = out.decode().splitlines()
        self.assertEqual(max(len(os.path.basename(p)) for p in lines[1:]), 255)
        for p in lines[1:]:
            self.assert_report(p, lines[0])
        self.assert_no_staging(outdir)

    def test_name_over_255_bytes_refused_before_database_work(self):
        """256 bytes: refused when the plan is built (exit 64), before any database work: the
        connection string points at a closed port, which would give 69."""
        outdir = self.make_dir()
        saved_before = drtest.report_rows(self.db)
        connect = drtest.odbc_set(self.db.odbc, "Port", "1")
        rc, out, err = run_bytes([*RUN, "--format", "csv,json", "--name", "r" * 251 + ".{ext}",
                                  "--output-dir", outdir], connect=connect)
        self.assertEqual(rc, 64, err)
        self.assertIn(b"longer than 255 bytes", err)
        self.assert_nothing_saved(self.db, saved_before)
        self.assertEqual(os.listdir(outdir), [])


class DropDirectoryTests(StagingTestCase):
    """An output directory the user may write but not read (a drop box, root's, mode 1733),
    the tool running as nobody: opened path-only, the run works, and it says what it
    cannot do there (sync the directory, find stale staging)."""

    def test_write_only_sticky_drop_directory(self):
        uid, gid = nobody()
        outdir = self.make_dir()
        os.chmod(outdir, 0o1733)

        def as_nobody():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        rc, out, err = run_bytes([*RUN, "--format", "csv,xlsx,json", "--output-dir", outdir],
                                 connect=self.db.odbc, preexec_fn=as_nobody)
        self.assertEqual(rc, 0, err)
        self.assertIn(b"warning: output directory " + repr(outdir).encode() + b" can be written but not read", err)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 4, out)
        for p in lines[1:]:
            st = os.lstat(p)
            self.assertTrue(stat.S_ISREG(st.st_mode))
            self.assertEqual(st.st_uid, uid, p)
        self.assertEqual(sorted(os.listdir(outdir)), sorted(os.path.basename(p) for p in lines[1:]))


class NoProcTests(StagingTestCase):
    """Without /proc/self/fd plugins get the plain path, which is safe only where no other
    user can rename our entries. The tool runs in a mount namespace where an empty directory
    covers its own /proc/PID/fd (the shell execs it, so the pid is the same); the rest of
    /proc stays, which the ASan runtime needs."""

    def run_without_proc(self, outdir):
        script = 'mount --bind "$0" /proc/$$/fd || exit 99; exec "$@"'
        return run_bytes([*RUN, "--format", "csv,xlsx,json", "--output-dir", outdir], connect=self.db.odbc,
                         prefix=["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                                 self.make_dir()])

    def test_without_proc_private_directory_works_shared_one_refused(self):
        outdir = self.make_dir()
        os.chmod(outdir, 0o755)
        rc, out, err = self.run_without_proc(outdir)
        self.assertNotEqual(rc, 99, f"cannot unmount /proc in a mount namespace: {err!r}")
        self.assertEqual(rc, 0, err)
        lines = out.decode().splitlines()
        for p in lines[1:]:
            self.assert_report(p, lines[0])
        self.assert_no_staging(outdir)
        shared = self.make_dir()
        os.chmod(shared, 0o777)
        saved_before = drtest.report_rows(self.db)
        rc, out, err = self.run_without_proc(shared)
        self.assertEqual(rc, 73, err)
        self.assertIn(b"/proc/self/fd is not available", err)
        self.assert_nothing_saved(self.db, saved_before)
        self.assertEqual(os.listdir(shared), [])
        sticky = self.make_dir()
        os.chmod(sticky, 0o1777)
        rc, out, err = self.run_without_proc(sticky)
        self.assertEqual(rc, 0, err)


if __name__ == "__main__":
    unittest.main()
