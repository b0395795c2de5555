"""Shared helpers of the dynoreport integration tests.

The tests run the built binary against a real PostgreSQL server through psqlODBC. They
need, from ctest (tests/CMakeLists.txt) or scripts/test:
  DYNOREPORT_BIN, DYNOREPORT_CSVDUMP, DYNOREPORT_SQL_DIR, DYNOREPORT_BUILD_PLUGIN_DIR
  DYNOREPORT_TEST_PG       libpq conninfo of a role that may CREATE DATABASE
  DYNOREPORT_TEST_CONNECT  the matching ODBC connection string
Without them every test class FAILS (it does not skip): a green run must mean tested.
Each module is its own ctest, integration_<module> (`ctest -R xlsx`); tests/CMakeLists.txt
registers every test_*.py. The tool always runs with DYNOREPORT_CONFIG naming an empty
file (see empty_config), so a configuration on the host never leaks into a test.
"""
import atexit
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
import unittest

try:
    import psycopg2
    import psycopg2.extensions
    import psycopg2.errors
except ImportError:  # reported by require_env(), so the tests fail with a clear message
    psycopg2 = None

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO_ROOT, "tests", "fixtures")
SOURCE_SCHEMA = os.path.join(FIXTURES, "crm_source_schema.sql")
EDGE_CASES = os.path.join(FIXTURES, "edge_cases.sql")

TOOL_TIMEOUT = 60  # seconds per dynoreport invocation

REQUIRED_ENV = {
    "DYNOREPORT_BIN": "path of the built dynoreport binary",
    "DYNOREPORT_CSVDUMP": "path of the built tests/tools/csvdump",
    "DYNOREPORT_SQL_DIR": "the sql/ directory of the source tree",
    "DYNOREPORT_BUILD_PLUGIN_DIR": "the build's plugin directory (holds csv.so)",
    "DYNOREPORT_TEST_PG": "libpq conninfo of the test server (role with CREATEDB)",
    "DYNOREPORT_TEST_CONNECT": "ODBC connection string of the same server and role",
}

# Fixed ids of tests/fixtures/edge_cases.sql.
T1 = "11111111-1111-4111-8111-111111111111"
T2 = "22222222-2222-4222-8222-222222222222"
ALICE = "a0000000-0000-4000-8000-000000000001"
BOB = "a0000000-0000-4000-8000-000000000002"
CAROL = "a0000000-0000-4000-8000-000000000003"
DAVE = "a0000000-0000-4000-8000-000000000004"
ERIN = "a0000000-0000-4000-8000-000000000005"
FRANK = "a0000000-0000-4000-8000-000000000006"
HANK = "a0000000-0000-4000-8000-000000000007"
IVY = "a0000000-0000-4000-8000-000000000008"
JACK = "a0000000-0000-4000-8000-000000000009"
LIAM = "a0000000-0000-4000-8000-00000000000a"
ZOE = "a0000000-0000-4000-8000-00000000000f"      # a user of T2 only
NOBODY = "a0000000-0000-4000-8000-0000000000ff"   # in no deal at all
EAST = "b0000000-0000-4000-8000-000000000001"
WEST = "b0000000-0000-4000-8000-000000000002"
G_T2 = "b0000000-0000-4000-8000-00000000000f"     # a group of T2 only


def require_env():
    """Return the environment the tests need, or raise AssertionError naming what is
    missing (so the test run fails instead of passing vacuously)."""
    problems = []
    if psycopg2 is None:
        problems.append("python module psycopg2 is not importable (apt-get install python3-psycopg2; "
                        "run the tests with /usr/bin/python3)")
    env = {}
    for name, what in REQUIRED_ENV.items():
        value = os.environ.get(name, "")
        if not value:
            problems.append(f"{name} is not set ({what})")
        env[name] = value
    for name in ("DYNOREPORT_BIN", "DYNOREPORT_CSVDUMP"):
        if env[name] and not os.access(env[name], os.X_OK):
            problems.append(f"{name}={env[name]!r} is not an executable file")
    if env["DYNOREPORT_SQL_DIR"] and not os.path.isdir(os.path.join(env["DYNOREPORT_SQL_DIR"], "migrations")):
        problems.append(f"DYNOREPORT_SQL_DIR={env['DYNOREPORT_SQL_DIR']!r} has no migrations/ folder")
    plugdir = env["DYNOREPORT_BUILD_PLUGIN_DIR"]
    if plugdir and not os.path.isfile(os.path.join(plugdir, "csv.so")):
        problems.append(f"DYNOREPORT_BUILD_PLUGIN_DIR={plugdir!r} has no csv.so")
    if problems:
        raise AssertionError(
            "the integration tests cannot run: " + "; ".join(problems) +
            ". Run them through ctest (it sets the DYNOREPORT_* paths) after `source` of a "
            "server environment (scripts/test, or dr_pg_start from scripts/lib/common.sh).")
    return env


# ---- connection strings -----------------------------------------------------------

def odbc_set(connect, key, value):
    """The ODBC connection string with KEY=VALUE replaced (or added); keys case-insensitive."""
    pattern = re.compile(r"(^|;)\s*" + re.escape(key) + r"\s*=[^;]*", re.IGNORECASE)
    if pattern.search(connect):
        return pattern.sub(lambda m: f"{m.group(1)}{key}={value}", connect, count=1)
    sep = "" if connect.endswith(";") or not connect else ";"
    return f"{connect}{sep}{key}={value};"


def odbc_get(connect, key):
    m = re.search(r"(?:^|;)\s*" + re.escape(key) + r"\s*=([^;]*)", connect, re.IGNORECASE)
    return m.group(1) if m else None


def pg_password():
    """The test role's password (from the libpq conninfo), to check it never leaks."""
    return psycopg2.extensions.parse_dsn(os.environ["DYNOREPORT_TEST_PG"]).get("password") or \
        odbc_get(os.environ["DYNOREPORT_TEST_CONNECT"], "Pwd")


class FreshDatabase:
    """A uniquely named database on the test server, for one test class."""

    def __init__(self, name, dsn, odbc):
        self.name, self.dsn, self.odbc = name, dsn, odbc

    def connect(self):
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        return conn

    def execute_file(self, path):
        with open(path, encoding="utf-8") as f:
            self.execute_script(f.read())

    def execute_script(self, script):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(script)
        conn.close()

    def query(self, sql, args=None):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def drop(self):
        drop_database(self.name)


def superuser_dsn(**params):
    """libpq conninfo of a superuser session on the test server (DYNOREPORT_TEST_PG_ADMIN,
    exported by dr_pg_start in scripts/lib/common.sh), with @params (dbname=..., options=...)
    put over it; a test that needs one fails when it is not set."""
    dsn = os.environ.get("DYNOREPORT_TEST_PG_ADMIN", "")
    if not dsn:
        raise AssertionError("DYNOREPORT_TEST_PG_ADMIN is not set (superuser libpq conninfo; "
                             "dr_pg_start in scripts/lib/common.sh exports it)")
    return psycopg2.extensions.make_dsn(dsn, **params) if params else dsn


def _admin_connect():
    conn = psycopg2.connect(os.environ["DYNOREPORT_TEST_PG"])
    conn.autocommit = True
    return conn


def fresh_database():
    """Create an empty database with a unique name; returns a FreshDatabase (libpq
    conninfo + ODBC connect string pointing at it). Drop it with .drop()."""
    require_env()
    name = f"drtest_{os.getpid()}_{secrets.token_hex(4)}"
    conn = _admin_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    dsn = psycopg2.extensions.make_dsn(os.environ["DYNOREPORT_TEST_PG"], dbname=name)
    odbc = odbc_set(os.environ["DYNOREPORT_TEST_CONNECT"], "Database", name)
    return FreshDatabase(name, dsn, odbc)


def drop_database(name):
    conn = _admin_connect()
    try:
        with conn.cursor() as cur:
            # a tool process killed by a timeout may have left a session behind; a
            # superuser session a test opened (admin_query) is not ours to end: it is
            # closing on its own, so the drop is retried for a few seconds instead
            for attempt in range(50):
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = %s AND pid <> pg_backend_pid() AND usename = current_user",
                            (name,))
                try:
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    return
                except psycopg2.errors.ObjectInUse:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
    finally:
        conn.close()


def fixture_database(init=True, script=None):
    """A fresh database with the CRM source tables and the edge-case data (or the SQL
    text SCRIPT instead), and (init) the dynoreport tables from `dynoreport db init`."""
    db = fresh_database()
    try:
        db.execute_file(SOURCE_SCHEMA)
        if script is None:
            db.execute_file(EDGE_CASES)
        else:
            db.execute_script(script)
        if init:
            rc, out, err = run_tool(["db", "init"], connect=db.odbc)
            if rc != 0:
                raise AssertionError(f"dynoreport db init failed with {rc}: {err}")
    except BaseException:
        db.drop()
        raise
    return db


# ---- running the tool ----------------------------------------------------------------

_empty_config = []  # the path empty_config() settled on, once per process


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def empty_config():
    """The path of an empty configuration file for the tool's DYNOREPORT_CONFIG. Without
    that variable the tool would read /etc/dynoreport/dynoreport.conf, so a configuration
    on the host could leak into a test. Under ctest $DYNOREPORT_CONFIG already names an
    empty file of the build directory (tests/CMakeLists.txt) and that one is used; else
    (a value naming anything but an empty file, or none) an empty file is made once for
    this process and removed at exit. Tests that need a configuration pass --config."""
    if not _empty_config:
        given = os.environ.get("DYNOREPORT_CONFIG", "")
        if given and os.path.isfile(given) and os.path.getsize(given) == 0:
            _empty_config.append(given)
        else:
            fd, path = tempfile.mkstemp(prefix="drtest-empty-", suffix=".conf")
            os.close(fd)
            atexit.register(_remove_quietly, path)
            _empty_config.append(path)
    return _empty_config[0]


def tool_env(plugin_path=True):
    """The tool's environment: no connection or plugin path from the caller's environment,
    an empty configuration file, the source tree's SQL, and (plugin_path) the build's
    plugins."""
    env = dict(os.environ)
    for name in ("DYNOREPORT_CONNECT", "DYNOREPORT_DSN", "DYNOREPORT_PLUGIN_PATH"):
        env.pop(name, None)
    env["DYNOREPORT_CONFIG"] = empty_config()
    env["DYNOREPORT_SQL_DIR"] = os.environ["DYNOREPORT_SQL_DIR"]
    if plugin_path:
        env["DYNOREPORT_PLUGIN_PATH"] = os.environ["DYNOREPORT_BUILD_PLUGIN_DIR"]
    return env


def tool_command(args, connect=None):
    """The command line running dynoreport [--connect CONNECT] ARGS, behind the wrapper
    named by DYNOREPORT_TEST_WRAPPER if set (e.g. "valgrind --error-exitcode=99 ...")."""
    cmd = shlex.split(os.environ.get("DYNOREPORT_TEST_WRAPPER", ""))
    cmd.append(os.environ["DYNOREPORT_BIN"])
    if connect is not None:
        cmd += ["--connect", connect]
    return cmd + list(args)


def run_tool(args, connect=None, plugin_path=True, timeout=TOOL_TIMEOUT):
    """Run dynoreport [--connect CONNECT] ARGS; returns (rc, stdout, stderr) as text.
    The build's plugins are found through DYNOREPORT_PLUGIN_PATH unless plugin_path is
    False."""
    cmd = tool_command(args, connect)
    p = subprocess.run(cmd, env=tool_env(plugin_path), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def read_csv(path, delimiter=None):
    """Parse a CSV file with tests/tools/csvdump (libcsv, strict); returns (bom, records)."""
    cmd = [os.environ["DYNOREPORT_CSVDUMP"], path]
    if delimiter is not None:
        cmd.append(delimiter)
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError(f"csvdump {path} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    lines = p.stdout.decode("utf-8").splitlines()
    head = json.loads(lines[0])
    return head["bom"], [json.loads(line) for line in lines[1:]]


# ---- assertions ------------------------------------------------------------------------

# The runs a user made, not the comparison runs the tool adds (works before and after
# the comparison_for column exists).
MAIN_RUNS = " WHERE to_jsonb(r) ->> 'comparison_for' IS NULL"


def count_runs(db):
    """Runs in dyno_crm.report_run, or None when the table does not exist. A run's
    comparison period is a report_run row of its own (comparison_for = the run): not counted."""
    if db.query("SELECT to_regclass('dyno_crm.report_run') IS NOT NULL")[0][0] is False:
        return None
    return db.query("SELECT count(*) FROM dyno_crm.report_run r" + MAIN_RUNS)[0][0]


def count_runs_for(db, tenant, start, end):
    """report_run rows of one tenant and period (instants), or None without the table."""
    if count_runs(db) is None:
        return None
    return db.query("SELECT count(*) FROM dyno_crm.report_run r" + MAIN_RUNS + " AND tenant_id = %s"
                    " AND period_start = %s AND period_end = %s", (tenant, start, end))[0][0]


def count_facts(db):
    """All fact rows, the comparison runs' included (a precise count of one run's rows must
    filter by its run_id: see count_run_facts)."""
    if db.query("SELECT to_regclass('dyno_crm.report_rep_performance_fact') IS NOT NULL")[0][0] is False:
        return None
    return db.query("SELECT count(*) FROM dyno_crm.report_rep_performance_fact")[0][0]


def count_run_facts(db, run_id):
    """The fact rows of run RUN_ID itself (not those of its comparison period)."""
    return db.query("SELECT count(*) FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s",
                    (run_id,))[0][0]


def comparison_of(db, run_id):
    """The id of the comparison run stored for RUN_ID (comparison_for = RUN_ID), or None."""
    rows = db.query("SELECT id::text FROM dyno_crm.report_run r WHERE to_jsonb(r) ->> 'comparison_for' = %s",
                    (run_id,))
    return rows[0][0] if rows else None


def report_tables(db):
    """The tables that hold what runs saved (dyno_crm.report_*: report_run with the
    comparison runs, the facts, the view's names, totals and titles), by name; [] before
    db init. Found in the catalog, so a table a later version adds is covered too."""
    return [r[0] for r in db.query(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'dyno_crm' AND c.relkind IN ('r', 'p') AND c.relname LIKE 'report\\_%'"
        " ORDER BY c.relname")]


def _run_family_filter(db, table, besides):
    """A WHERE clause (and its arguments) leaving out the rows of run BESIDES and of its
    comparison run in TABLE; ("", ()) without BESIDES."""
    if besides is None:
        return "", ()
    family = ("(SELECT f.id FROM dyno_crm.report_run f"
              " WHERE f.id = %s::uuid OR to_jsonb(f) ->> 'comparison_for' = %s)")
    if table == "report_run":
        return f" WHERE id NOT IN {family}", (besides, besides)
    has_run_id = db.query("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'dyno_crm'"
                          " AND table_name = %s AND column_name = 'run_id'", (table,))[0][0]
    if not has_run_id:
        return "", ()
    return f" WHERE run_id NOT IN {family}", (besides, besides)


def report_rows(db, besides=None):
    """{table: row count} of every report table (report_tables), comparison runs and their
    rows included: equal before and after means no row at all was added or removed. With
    BESIDES (a run id), the rows of that run and of its comparison run are left out, so
    equal means the run (and its comparison) is all that was added."""
    out = {}
    for t in report_tables(db):
        where, args = _run_family_filter(db, t, besides)
        out[t] = db.query(f'SELECT count(*) FROM dyno_crm."{t}"' + where, args or None)[0][0]
    return out


def report_checksums(db, besides=None):
    """{table: (row count, md5 of the rows)} of every report table; BESIDES as in report_rows."""
    out = {}
    for t in report_tables(db):
        where, args = _run_family_filter(db, t, besides)
        out[t] = db.query(f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
                          f' FROM dyno_crm."{t}" AS x' + where, args or None)[0]
    return out


class ToolTestCase(unittest.TestCase):
    """Base class: checks the environment, owns temp dirs, offers the assertions."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = require_env()

    def make_dir(self):
        d = tempfile.mkdtemp(prefix="drtest-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def write_config(self, body, name="dynoreport.conf"):
        """A configuration file NAME holding BODY in a directory of the test's; its path."""
        path = os.path.join(self.make_dir(), name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(body)
        return path

    def assert_dir_empty(self, path):
        """No files at all: no output, no leftover .name.tmp-XXXXXX, nothing hidden."""
        self.assertTrue(os.path.isdir(path), f"{path} is not a directory any more")
        self.assertEqual(sorted(os.listdir(path)), [], f"files left in {path}")

    def assert_no_run_for(self, db, tenant, start, end):
        """No report_run row at all for this tenant and period."""
        self.assertIn(count_runs_for(db, tenant, start, end), (0, None),
                      f"a report_run row exists for {tenant} {start} .. {end}")

    def assert_no_new_run(self, db, runs_before, facts_before=None):
        """The number of report_run (and fact) rows did not change."""
        self.assertEqual(count_runs(db), runs_before, "a report_run row was left behind")
        if facts_before is not None:
            self.assertEqual(count_facts(db), facts_before, "fact rows were left behind")

    def assert_nothing_saved(self, db, rows_before):
        """Not one row added to (or removed from) any report table: no run, no comparison
        run, no fact, name, total or view row. ROWS_BEFORE is report_rows(db) from before."""
        self.assertEqual(report_rows(db), rows_before, "rows were left behind in the report tables")

    def assert_one_new_run(self, db, rows_before, run_id):
        """RUN_ID is one new main run, and it and its comparison run are all that was added
        to the report tables since ROWS_BEFORE (report_rows(db) from before)."""
        self.assertEqual(db.query("SELECT count(*) FROM dyno_crm.report_run r" + MAIN_RUNS + " AND id = %s",
                                  (run_id,))[0][0], 1, f"no main report_run row {run_id}")
        self.assertEqual(report_rows(db, besides=run_id), rows_before,
                         "rows other than the new run's (and its comparison's) changed")

    def assert_run_ok(self, rc, out, err, nfiles=1):
        """Check a successful run's exit code and stdout; returns (run_id, [paths])."""
        self.assertEqual(rc, 0, f"dynoreport failed ({rc}): {err}")
        lines = out.splitlines()
        self.assertEqual(len(lines), 1 + nfiles, f"stdout: {out!r}")
        self.assertRegex(lines[0], r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        for path in lines[1:]:
            self.assertTrue(os.path.isabs(path) or os.path.exists(path), path)
            self.assertTrue(os.path.isfile(path), f"{path} printed but missing")
        return lines[0], lines[1:]


class FixtureTestCase(ToolTestCase):
    """A test class on a database of its own: the edge-case fixture and `db init`
    (cls.db, dropped after the class) and a psycopg2 connection to it (cls.conn). A
    subclass may make another database with make_database (a FreshDatabase)."""

    make_database = staticmethod(fixture_database)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = cls.make_database()
        cls.addClassCleanup(cls.db.drop)
        cls.conn = cls.db.connect()
        cls.addClassCleanup(cls.conn.close)
