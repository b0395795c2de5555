"""Secrets (issue 10, item 3) and the configuration line limit (item 8).

Attacks and faults reproduced here, each against the real server or a fake one, with the
built binary:
- a password with '}', ';', '=', '{' and blanks in password_file could not log in, and a
  password file could add connection attributes (`...};ConnSettings={CREATE TABLE ...`
  ran SQL): PasswordFileEscapingTests;
- the password of [connection] password_file was sent with a connection string from
  --connect, --dsn or the environment, to whatever server that named: a fake PostgreSQL
  server on 127.0.0.1 records what it receives (PasswordFileScopeTests);
- password files and configuration files that others can write (or read, for the
  password) were used: SecretFileModeTests (chmod / chown as root);
- a password typed in --connect is in ps for the whole run; a crashing plugin left a core
  file holding it; TCP keepalives were the kernel's two hours: ProcessTests, with a test
  plugin compiled here (it reports the process's dumpable flag and core limit, sleeps,
  or crashes);
- a data source with psqlODBC's CommLog / Debug on wrote the password and every
  statement into world-readable log files: DriverLogTests (a private odbcinst.ini and
  odbc.ini through ODBCSYSINI, the driver's Logdir pointing at a test directory);
- libinih's 198-byte lines (a job could list four principals): LongLineTests.
"""
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

import drtest
from drtest import ALICE, T1

PSQLODBC = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so"
RUN = ["run", "--tenant", T1, "--all-principals", "--period", "2026-03"]
# a password with everything ODBC quoting has to survive: '}' (also doubled), ';', '=',
# '{', blanks (also at both ends) - and no NUL or line break, which a first line cannot hold
HARD_PASSWORD = " p}a;s=s{w o}}rd;{x=}} "


def without_password(connect):
    """The ODBC connection string without its PWD / Password attribute."""
    return re.sub(r"(^|;)\s*(pwd|password)\s*=[^;]*;?", r"\1", connect, flags=re.IGNORECASE)


def write_private(path, text, mode=0o600):
    """Write TEXT (str or bytes) to PATH created with MODE (umask does not apply)."""
    data = text.encode() if isinstance(text, str) else text
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, mode)
    return path


def run_env(extra=None):
    """The tool's environment, never a password from libpq's own sources."""
    env = {"PGPASSFILE": "/nonexistent/pgpass"}
    env.update(extra or {})
    return env


def run(args, connect=None, env_extra=None, cwd=None, timeout=drtest.TOOL_TIMEOUT, preexec_fn=None):
    """(rc, stdout, stderr) of dynoreport [--connect CONNECT] ARGS."""
    env = drtest.tool_env()
    env.pop("PGPASSWORD", None)
    env.update(run_env(env_extra))
    p = subprocess.run(drtest.tool_command(args, connect), env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout, cwd=cwd, preexec_fn=preexec_fn)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def admin_execute(sql, args=None):
    conn = drtest.psycopg2.connect(drtest.superuser_dsn())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
    finally:
        conn.close()


class SecretsTestCase(drtest.FixtureTestCase):

    def write_config(self, text, mode=0o644):
        path = os.path.join(self.make_dir(), "dynoreport.conf")
        return write_private(path, text, mode)

    def password_file(self, text, mode=0o600):
        path = os.path.join(self.make_dir(), "password")
        return write_private(path, text, mode)

    def run_from_config(self, cfg, extra=(), **kw):
        """A run whose connection comes from the configuration file (no --connect)."""
        outdir = self.make_dir()
        return run(["--config", cfg, *RUN, "--output-dir", outdir, *extra], **kw)


# ---- 1. the password is quoted, whatever it holds ---------------------------------------

class PasswordFileEscapingTests(SecretsTestCase):
    """password_file went into the connection string as PWD={...} with its '}' not doubled."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drtest.superuser_dsn()  # fails the class when the superuser conninfo (to create a role) is not set
        # a role of its own, a member of the test role (so it may run reports on the
        # fixture), with the hard password; dropped after the class
        cls.role = f"drsec_{secrets.token_hex(4)}"
        admin_execute(f'CREATE ROLE "{cls.role}" LOGIN PASSWORD %s IN ROLE dynoreport', (HARD_PASSWORD,))
        cls.addClassCleanup(admin_execute, f'DROP ROLE IF EXISTS "{cls.role}"')
        cls.connect = drtest.odbc_set(without_password(cls.db.odbc), "Uid", cls.role)

    def test_password_with_braces_semicolons_and_blanks_logs_in(self):
        pw = self.password_file(HARD_PASSWORD + "\n")
        cfg = self.write_config(f"[connection]\nconnect = {self.connect}\npassword_file = {pw}\n")
        before = drtest.count_runs(self.db)
        rc, out, err = self.run_from_config(cfg)
        self.assertEqual(rc, 0, err)
        self.assertEqual(drtest.count_runs(self.db), before + 1)
        self.assertNotIn("p}a", err)
        # the run really went through the new role
        self.assertEqual(self.db.query("SELECT count(*) FROM pg_roles WHERE rolname = %s", (self.role,))[0][0], 1)

    def test_password_file_cannot_add_attributes(self):
        """The real password of the test role, then '}' and an attribute that runs SQL when
        the session starts: before the fix the tool logged in and created the table."""
        table = f"drsec_injected_{secrets.token_hex(3)}"
        attack = (f"{drtest.pg_password()}}};ConnSettings={{CREATE TABLE public.{table} (i int)}}"
                  f";UseDeclareFetch=0")
        pw = self.password_file(attack + "\n")
        cfg = self.write_config(f"[connection]\nconnect = {without_password(self.db.odbc)}\n"
                                f"password_file = {pw}\n")
        before = drtest.report_rows(self.db)
        rc, out, err = self.run_from_config(cfg)
        self.assertEqual(rc, 69, f"the attack's password must be refused as a whole: {err}")
        self.assertIn("password authentication failed", err)
        self.assertNotIn(drtest.pg_password(), err)
        self.assertNotIn("CREATE TABLE", err)
        self.assertEqual(self.db.query("SELECT to_regclass(%s) IS NULL", (f"public.{table}",))[0][0], True,
                         "the password file ran SQL")
        self.assert_nothing_saved(self.db, before)


# ---- 2. password_file goes with [connection] alone (a fake server records it) ------------

class FakePostgres:
    """Enough of the PostgreSQL protocol to see what a client sends: it answers SSL and
    GSSAPI requests with 'N', reads the startup packet, asks for a cleartext password
    (AuthenticationCleartextPassword), records the PasswordMessage, and sends an
    ErrorResponse (28P01). Every byte received is kept in .received."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.startups, self.passwords, self.received = [], [], bytearray()
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stopping = True
        self.thread.join(10)
        self.sock.close()

    def recv_exact(self, conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        self.received += data
        return data

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(10)
                try:
                    self.session(conn)
                except (EOFError, OSError):
                    pass

    def session(self, conn):
        while True:
            length = struct.unpack("!I", self.recv_exact(conn, 4))[0]
            body = self.recv_exact(conn, length - 4)
            code = struct.unpack("!I", body[:4])[0]
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                conn.sendall(b"N")
                continue
            if code == 80877102:  # CancelRequest
                return
            items = body[4:].split(b"\0")
            self.startups.append(dict(zip(items[0::2], items[1::2])))
            break
        conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
        try:
            kind = self.recv_exact(conn, 1)
            length = struct.unpack("!I", self.recv_exact(conn, 4))[0]
            body = self.recv_exact(conn, length - 4)
            if kind == b"p":
                self.passwords.append(body.rstrip(b"\0"))
        except EOFError:  # no password to give: libpq hangs up
            return
        fields = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed (fake server)\0\0"
        conn.sendall(b"E" + struct.pack("!I", len(fields) + 4) + fields)


def private_odbc_dir(tmp, driver_extra="", dsns=None, logdir=None):
    """An ODBCSYSINI directory: odbcinst.ini with psqlODBC as "PostgreSQL Unicode" (the
    section psqlODBC itself reads its driver-wide Debug / CommLog / Logdir from) and
    odbc.ini with DSNS ({name: {key: value}})."""
    lines = ["[PostgreSQL Unicode]", f"Driver={PSQLODBC}", "Description=dynoreport test"]
    if logdir:
        lines.append(f"Logdir={logdir}")
    lines += [line for line in driver_extra.splitlines() if line]
    with open(os.path.join(tmp, "odbcinst.ini"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(tmp, "odbc.ini"), "w") as f:
        for name, attrs in (dsns or {}).items():
            f.write(f"[{name}]\n" + "".join(f"{k}={v}\n" for k, v in attrs.items()))
    return tmp


class PasswordFileScopeTests(SecretsTestCase):
    """The configuration's password_file was appended to any connection string, also one
    from --connect or the environment pointing at another server: the fake server received
    it. It must only ever go with [connection]'s own connect / dsn."""

    SECRET = "the-password-of-the-report-role-" + secrets.token_hex(6)

    def setUp(self):
        self.fake = FakePostgres()
        self.addCleanup(self.fake.close)
        self.foreign = (f"Driver=PostgreSQL Unicode;Server=127.0.0.1;Port={self.fake.port};"
                        "Database=crm;Uid=report;")
        pw = self.password_file(self.SECRET + "\n")
        self.cfg = self.write_config(f"[connection]\nconnect = {without_password(self.db.odbc)}\n"
                                     f"password_file = {pw}\n")

    def assert_not_sent(self, rc, err):
        self.assertEqual(rc, 69, err)
        self.assertTrue(self.fake.startups, "the tool never reached the fake server")
        self.assertEqual(self.fake.passwords, [], "a password was sent to the foreign server")
        self.assertNotIn(self.SECRET.encode(), bytes(self.fake.received))

    def test_connect_option_does_not_get_the_password_file(self):
        rc, out, err = run(["--config", self.cfg, *RUN, "--output-dir", self.make_dir()], connect=self.foreign)
        self.assert_not_sent(rc, err)

    def test_environment_connection_does_not_get_the_password_file(self):
        rc, out, err = run(["--config", self.cfg, *RUN, "--output-dir", self.make_dir()],
                           env_extra={"DYNOREPORT_CONNECT": self.foreign})
        self.assert_not_sent(rc, err)

    def test_dsn_option_and_variable_do_not_get_the_password_file(self):
        tmp = self.make_dir()
        odbc = private_odbc_dir(tmp, dsns={"foreign": {"Driver": "PostgreSQL Unicode", "Servername": "127.0.0.1",
                                                       "Port": self.fake.port, "Database": "crm",
                                                       "Username": "report"}})
        for how in ("--dsn", "DYNOREPORT_DSN"):
            with self.subTest(how=how):
                args = ["--config", self.cfg, *RUN, "--output-dir", self.make_dir()]
                extra = {"ODBCSYSINI": odbc}
                if how == "--dsn":
                    args = ["--dsn", "foreign", *args]
                else:
                    extra["DYNOREPORT_DSN"] = "foreign"
                rc, out, err = run(args, env_extra=extra)
                self.assert_not_sent(rc, err)

    def test_password_typed_in_connect_is_the_one_sent(self):
        """The fake server does record a password when there is one to send (so the tests
        above can see a leak): the one typed in --connect, not the file's."""
        rc, out, err = run(["--config", self.cfg, *RUN, "--output-dir", self.make_dir()],
                           connect=self.foreign + "Pwd={typed};")
        self.assertEqual(rc, 69, err)
        self.assertEqual(self.fake.passwords, [b"typed"])
        self.assertNotIn(self.SECRET.encode(), bytes(self.fake.received))

    def test_password_in_connect_and_password_file_refused(self):
        pw = self.password_file(self.SECRET + "\n")
        cfg = self.write_config(f"[connection]\nconnect = {self.foreign}Pwd=x;\npassword_file = {pw}\n")
        rc, out, err = self.run_from_config(cfg)
        self.assertEqual(rc, 78, err)
        self.assertIn("keep one", err)
        self.assertEqual(self.fake.startups, [])


# ---- 3. who may read and write the secrets ------------------------------------------------

class SecretFileModeTests(SecretsTestCase):
    """libpq's .pgpass rule, ssh's StrictModes: a password file readable or writable by
    group or others, or owned by another user, is refused (78, naming file, owner and
    mode); so is a configuration file that names one (or holds a password) and that
    others may write. The tests run as root (CI): chown to nobody makes another owner."""

    def setUp(self):
        self.pw = self.password_file(drtest.pg_password() + "\n")
        self.body = f"[connection]\nconnect = {without_password(self.db.odbc)}\npassword_file = {self.pw}\n"

    def check_refused(self, cfg, texts):
        before = drtest.report_rows(self.db)
        rc, out, err = self.run_from_config(cfg)
        self.assertEqual(rc, 78, err)
        self.assertEqual(out, "")
        for text in texts:
            self.assertIn(text, err)
        self.assertNotIn(drtest.pg_password(), err)
        self.assert_nothing_saved(self.db, before)

    def test_private_files_work(self):
        cfg = self.write_config(self.body, 0o644)  # names a password file: others may read it
        rc, out, err = self.run_from_config(cfg)
        self.assertEqual(rc, 0, err)

    def test_password_file_readable_or_writable_by_others(self):
        cfg = self.write_config(self.body)
        for mode in (0o640, 0o604, 0o620, 0o602, 0o644, 0o660, 0o666):
            with self.subTest(mode=oct(mode)):
                os.chmod(self.pw, mode)
                self.check_refused(cfg, [f"the password file '{self.pw}'", f"mode {mode:04o}",
                                         "by group or others", "chmod 600"])

    @unittest.skipUnless(os.geteuid() == 0, "chown needs root")
    def test_password_file_of_another_user(self):
        os.chown(self.pw, 65534, 65534)
        self.check_refused(self.write_config(self.body),
                           [f"the password file '{self.pw}'", "uid 65534", "belongs to another user"])

    def test_configuration_writable_by_others(self):
        for mode in (0o664, 0o646, 0o666):
            with self.subTest(mode=oct(mode)):
                cfg = self.write_config(self.body, mode)
                self.check_refused(cfg, [cfg, "names a password file", f"mode {mode:04o}", "writable"])
        # a configuration with the password in 'connect' itself
        cfg = self.write_config(f"[connection]\nconnect = {self.db.odbc}\n", 0o666)
        self.check_refused(cfg, [cfg, "holds a password", "mode 0666"])

    @unittest.skipUnless(os.geteuid() == 0, "chown needs root")
    def test_configuration_of_another_user(self):
        cfg = self.write_config(self.body)
        os.chown(cfg, 65534, 65534)
        self.check_refused(cfg, [cfg, "uid 65534", "belongs to another user"])

    def test_relative_password_file_refused(self):
        cfg = self.write_config(self.body.replace(self.pw, "password"))
        rc, out, err = run(["--config", cfg, "plugins"])
        self.assertEqual(rc, 78, err)
        self.assertIn(f"{cfg}:3: cannot read the password file 'password': expected an absolute path", err)

    def test_not_checked_when_another_connection_is_used(self):
        """A user's own --connect does not read the service's password file at all."""
        os.chmod(self.pw, 0o644)
        rc, out, err = run(["--config", self.write_config(self.body, 0o666), *RUN, "--output-dir",
                            self.make_dir()], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)


# ---- 5. the process: ps, core dumps, keepalives --------------------------------------------

PROBE = r"""
/* Test plugin "probe": in open, writes the process's dumpable flag and core limits to the
   file of probe.report, sleeps probe.sleep_ms, then crashes if probe.crash=true. */
#include <dynoreport/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

static const char *const keys[] = {"report", "sleep_ms", "crash", NULL};

static dr_plugin_status p_open(const dr_open_args *args, void **handle)
{
    const char *report = dr_plugin_option(args, "report");
    const char *sleep_ms = dr_plugin_option(args, "sleep_ms");
    const char *crash = dr_plugin_option(args, "crash");
    FILE *out = fopen(args->path, "wb");
    if (out == NULL)
        return DR_PLUGIN_EIO;
    *handle = out;
    if (report) {
        struct rlimit rl;
        getrlimit(RLIMIT_CORE, &rl);
        FILE *r = fopen(report, "w");
        if (r) {
            fprintf(r, "dumpable=%d core=%lld/%lld\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0),
                    (long long)rl.rlim_cur, (long long)rl.rlim_max);
            fclose(r);
        }
    }
    if (sleep_ms) {
        long ms = atol(sleep_ms);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (crash && strcmp(crash, "true") == 0)
        raise(SIGSEGV); /* a real crash, also under UBSan (a null store would be reported instead) */
    return DR_PLUGIN_OK;
}

static dr_plugin_status p_row(void *handle, const dr_value *values)
{
    (void)values;
    fputs("row\n", (FILE *)handle);
    return DR_PLUGIN_OK;
}

static dr_plugin_status p_end(void *handle)
{
    return fflush((FILE *)handle) == 0 ? DR_PLUGIN_OK : DR_PLUGIN_EIO;
}

static void p_destroy(void *handle)
{
    if (handle)
        fclose((FILE *)handle);
}

static const dr_plugin desc = {
    .abi_major = DR_PLUGIN_ABI_MAJOR, .size = sizeof(dr_plugin), .name = "probe",
    .version = "0", .description = "secrets test probe", .extension = "probe",
    .option_keys = keys, .open = p_open, .row = p_row, .end = p_end, .destroy = p_destroy,
};

DR_PLUGIN_EXPORT const dr_plugin *dr_plugin_entry(void)
{
    return &desc;
}
"""


def unlimited_cores():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


class ProcessTests(SecretsTestCase):
    """What other local users and the kernel can get from a running dynoreport."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plugdir = tempfile.mkdtemp(prefix="drtest-probe-")
        cls.addClassCleanup(shutil.rmtree, cls.plugdir, True)
        os.chmod(cls.plugdir, 0o755)
        src = os.path.join(cls.plugdir, "probe.c")
        with open(src, "w") as f:
            f.write(PROBE)
        cc = shutil.which("cc") or shutil.which("gcc")
        flags = []
        csv = os.path.join(os.environ["DYNOREPORT_BUILD_PLUGIN_DIR"], "csv.so")
        if "libasan" in subprocess.run(["ldd", csv], capture_output=True, text=True).stdout:
            flags = ["-fsanitize=address,undefined"]
        p = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-shared", "-fPIC", *flags, "-I",
                            os.path.join(drtest.REPO_ROOT, "include"), src, "-o",
                            os.path.join(cls.plugdir, "probe.so")], capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError(f"compiling the probe plugin failed: {p.stderr}")
        os.remove(src)

    def probe_args(self, report, **opts):
        args = [*RUN, "--plugin-dir", self.plugdir, "--format", "probe", "--output-dir", self.make_dir(),
                "--opt", f"probe.report={report}"]
        for key, value in opts.items():
            args += ["--opt", f"probe.{key}={value}"]
        return args

    def start(self, args, connect, env_extra=None, **popen):
        env = drtest.tool_env()
        env.update(run_env())
        env.update(env_extra or {})
        proc = subprocess.Popen(drtest.tool_command(args, connect), env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.communicate()))
        return proc

    def wait_for(self, path, proc):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(path) and os.path.getsize(path) > 0:
                with open(path) as f:
                    return f.read()
            time.sleep(0.05)
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"the probe never reported ({proc.returncode}): {err!r}")

    def test_password_hidden_from_ps_keepalives_on_no_core_limit(self):
        report = os.path.join(self.make_dir(), "report")
        proc = self.start(self.probe_args(report, sleep_ms=4000), self.db.odbc)
        text = self.wait_for(report, proc)
        self.assertEqual(text.strip(), "dumpable=0 core=0/0")
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        self.assertNotIn(drtest.pg_password().encode(), cmdline, "the password is in ps")
        self.assertIn(b"Pwd=" + b"*" * len(drtest.pg_password()), cmdline)
        with open(f"/proc/{proc.pid}/limits") as f:
            self.assertRegex(f.read(), r"Max core file size\s+0\s+0\s")
        # the tool's connection to the server: TCP keepalive after 60 s, not the kernel's 2 h
        port = drtest.odbc_get(self.db.odbc, "Port")
        ss = subprocess.run(["ss", "-tnpoH", "state", "established", f"( dport = :{port} )"],
                            capture_output=True, text=True).stdout
        mine = [line for line in ss.splitlines() if f"pid={proc.pid}," in line]
        self.assertEqual(len(mine), 1, ss)
        m = re.search(r"timer:\(keepalive,(?:(\d+)min)?(?:(\d+)(?:\.\d+)?sec)?", mine[0])
        self.assertIsNotNone(m, mine[0])
        seconds = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
        self.assertLessEqual(seconds, 60, mine[0])
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(err.decode().count("the password in --connect"), 1, err)

    def test_crashing_plugin_leaves_no_core_file(self):
        cwd = self.make_dir()
        report = os.path.join(self.make_dir(), "report")
        # under ASan the crash must stay a crash: its SEGV handler would report and exit 1
        sanitizer = {"ASAN_OPTIONS": os.environ["ASAN_OPTIONS"] + ":handle_segv=0"} \
            if os.environ.get("ASAN_OPTIONS") else {}
        proc = self.start(self.probe_args(report, crash="true"), self.db.odbc, env_extra=sanitizer, cwd=cwd,
                          preexec_fn=unlimited_cores)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, -signal.SIGSEGV, err)
        with open(report) as f:
            self.assertEqual(f.read().strip(), "dumpable=0 core=0/0")
        left = os.listdir(cwd)
        holding = []
        for n in left:
            with open(os.path.join(cwd, n), "rb") as f:
                if drtest.pg_password().encode() in f.read():
                    holding.append(n)
        self.assertEqual(left, [], f"a core file was left behind (holding the password: {holding})")
        # the control: a process that does not turn core dumps off leaves one here
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        subprocess.run(["sh", "-c", "kill -SEGV $$"], cwd=cwd, preexec_fn=unlimited_cores)
        # a kernel that pipes cores elsewhere (core_pattern "|...") writes none here: then the
        # limits and the dumpable flag checked above are what shows that none is made
        if not pattern.startswith("|") and "/" not in pattern:
            self.assertNotEqual(os.listdir(cwd), [], "the control process left no core file here")

    def test_one_warning_for_a_password_in_connect(self):
        rc, out, err = run([*RUN, "--output-dir", self.make_dir()], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        lines = err.splitlines()
        self.assertEqual(sum("password in --connect" in line for line in lines), 1, err)
        self.assertIn("password_file", lines[-1])
        self.assertTrue(lines[-1].startswith("dynoreport: warning: "), err)
        # -q: errors only, so no warning either (the documented contract of -q)
        rc, out, err = run(["-q", *RUN, "--output-dir", self.make_dir()], connect=self.db.odbc)
        self.assertEqual((rc, err), (0, ""))
        # an error stays the first line
        rc, out, err = run(["run", "--tenant", "x"], connect=self.db.odbc)
        self.assertEqual(rc, 64)
        self.assertTrue(err.startswith("dynoreport: error: "), err)
        self.assertIn("password in --connect", err.splitlines()[-1])
        # no password on the command line: no warning
        rc, out, err = run([*RUN, "--output-dir", self.make_dir()],
                           env_extra={"DYNOREPORT_CONNECT": self.db.odbc})
        self.assertEqual(rc, 0, err)
        self.assertNotIn("warning", err)
        rc, out, err = run(["plugins"], connect="Driver=x;Uid=u;")
        self.assertNotIn("warning", err)


# ---- 6. psqlODBC's logs ----------------------------------------------------------------------

class DriverLogTests(SecretsTestCase):
    """psqlODBC's communication log (CommLog) and debug log (Debug) of a connection hold
    every statement, and the password (the PQconnectdbParams line of the CommLog, the
    connection string in the Debug log), in world-readable files (/tmp by default; the
    driver's Logdir here). The tool turns both off in its connection string unless the
    user sets them. (The driver-wide switches of odbcinst.ini are read when the driver is
    loaded, before any connection string: test_driver_wide_commlog_holds_no_secret.)"""

    def setUp(self):
        self.logdir = self.make_dir()
        self.odbc = self.make_dir()
        self.pw = self.password_file(drtest.pg_password() + "\n")

    def dsn(self, **extra):
        attrs = {"Driver": "PostgreSQL Unicode", "Servername": "127.0.0.1",
                 "Port": drtest.odbc_get(self.db.odbc, "Port"), "Database": self.db.name,
                 "Username": drtest.odbc_get(self.db.odbc, "Uid")}
        attrs.update(extra)
        return attrs

    def logs(self):
        names = sorted(os.listdir(self.logdir))
        logs = {}
        for n in names:
            with open(os.path.join(self.logdir, n), "rb") as f:
                logs[n] = f.read()
        return logs

    def run_dsn(self, connect_line):
        cfg = self.write_config(f"[connection]\n{connect_line}\npassword_file = {self.pw}\n")
        return self.run_from_config(cfg, env_extra={"ODBCSYSINI": self.odbc})

    def test_data_source_with_commlog_and_debug_writes_no_log(self):
        private_odbc_dir(self.odbc, logdir=self.logdir, dsns={"crm": self.dsn(CommLog=1, Debug=1)})
        rc, out, err = self.run_dsn("dsn = crm")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.logs(), {}, "psqlODBC wrote log files")

    def test_users_own_commlog_is_kept(self):
        """CommLog=1 set by the user in the connection string wins (and shows that the
        test would see a log file)."""
        private_odbc_dir(self.odbc, logdir=self.logdir, dsns={"crm": self.dsn()})
        rc, out, err = self.run_dsn("connect = DSN=crm;commlog=1")
        self.assertEqual(rc, 0, err)
        logs = self.logs()
        self.assertTrue(any(n.startswith("psqlodbc_") for n in logs), logs.keys())

    def test_driver_wide_commlog_holds_no_secret(self):
        """Debian's template registers the driver with CommLog=1: psqlODBC then logs
        outside connections (it opens its file for the PQfinish line at disconnect), which
        no connection string can stop; what it writes holds neither the password nor a
        statement, since the connection's own CommLog is off."""
        private_odbc_dir(self.odbc, driver_extra="CommLog=1", logdir=self.logdir, dsns={"crm": self.dsn()})
        rc, out, err = self.run_dsn("dsn = crm")
        self.assertEqual(rc, 0, err)
        for name, text in self.logs().items():
            self.assertNotIn(drtest.pg_password().encode(), text, name)
            self.assertNotIn(b"dyno_crm", text, name)


# ---- 7. long lines (libinih read 198 bytes) -------------------------------------------------

class LongLineTests(SecretsTestCase):

    def test_job_with_100_principals_on_one_line(self):
        outdir = self.make_dir()
        principals = [f"USER:{ALICE}"] + [f"USER:{uuid.UUID(int=i + 1, version=4)}" for i in range(99)]
        line = "principals = " + ", ".join(principals)
        self.assertGreater(len(line), 4096)
        cfg = self.write_config(f"[connection]\nconnect = {self.db.odbc}\n\n[job many]\ntenant = {T1}\n"
                                f"{line}\nperiod = 2026-03\noutput_dir = {outdir}\n", 0o600)
        before = drtest.count_runs(self.db)
        rc, out, err = run(["--config", cfg, "job", "many"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(drtest.count_runs(self.db), before + 1)
        run_id = out.splitlines()[0]
        self.assertEqual(self.db.query("SELECT count(DISTINCT principal_id) FROM dyno_crm.report_rep_performance_fact"
                                       " WHERE run_id = %s", (run_id,))[0][0], 100)  # a row each

    def test_long_connection_string_in_the_configuration(self):
        pw = self.password_file(drtest.pg_password() + "\n")
        connect = without_password(self.db.odbc) + "Description={" + "d" * 3600 + "};"
        cfg = self.write_config(f"[connection]\nconnect = {connect}\npassword_file = {pw}\n")
        self.assertGreater(len(connect), 3600)
        rc, out, err = self.run_from_config(cfg)
        self.assertEqual(rc, 0, err)

    def test_a_long_line_is_one_line(self):
        """libinih split a line at 199 bytes and read the tail as a line of its own (here
        a key 'tz'); now the whole line is the value of 'name'."""
        outdir = self.make_dir()
        name = "a" * 192 + "tz = UTC.{ext}"
        cfg = self.write_config(f"[defaults]\nname = {name}\n")
        rc, out, err = run(["--config", cfg, *RUN, "--output-dir", outdir], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.listdir(outdir), ["a" * 192 + "tz = UTC.csv"])


if __name__ == "__main__":
    unittest.main()
