"""The tool's database session and schema operations against a hostile or busy database.

- Pinned search_path (issue 10, item 2): objects planted in a writable public schema
  (better-matching overloads of functions the report calls, operators, a view shadowing
  pg_catalog.pg_type for psqlODBC's own first query) with search_path = public, pg_catalog
  on the role and the database must never run: run, export and db init give the output of
  a clean database and no planted object records a call.
- Bounded waits (item 4): the session's statement_timeout, lock_timeout and
  idle_in_transaction_session_timeout, built in and from [connection]; exit 75 naming the
  setting when one is hit; a bad value is exit 78 naming file, line and key.
- Schema operations (item 6): db init --with-source-indexes builds CONCURRENTLY, with a
  bounded wait, without blocking CRM writes, and drops an INVALID leftover; db init checks
  the objects it owns, repairs what it can and names what it cannot (exit 78).
- Years before 1 (item 8): --from 0001-01-01T00:00+01:00 is an instant of 1 BC.

Independent checks go through psycopg2; after objects are planted, only superuser
sessions (DYNOREPORT_TEST_PG_ADMIN) look at the database, since a session of the report
role would itself pick up what was planted.
"""
import json
import os
import shutil
import tempfile
import time

import drtest
from drtest import T1
from test_faults import LockHolder, Tool, faulty_plugin_dir, wait_until

PERIOD = "2026-03"
RUN = ["run", "--tenant", T1, "--all-principals", "--period", PERIOD, "--tz", "America/New_York"]
HOSTILE_PATH = "public, pg_catalog"

# Every planted object records its call (a row, and a sequence step that no rollback
# undoes) and then answers like the built-in one, so that a hijack changes nothing visible
# but the record. The recorder runs as the superuser that planted it.
PLANT_SQL = r"""
CREATE TABLE public.planted_calls (what text, usr text, at timestamptz DEFAULT clock_timestamp());
CREATE SEQUENCE public.planted_seq;
CREATE FUNCTION public.planted_record(w text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ BEGIN PERFORM nextval('public.planted_seq');
               INSERT INTO public.planted_calls (what, usr) VALUES (w, session_user); RETURN true; END $$;
GRANT EXECUTE ON FUNCTION public.planted_record(text) TO PUBLIC;

CREATE FUNCTION public.jsonb_build_object(text, jsonb, text, text, text, text, text, jsonb) RETURNS jsonb
    LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('jsonb_build_object')
                      THEN pg_catalog.jsonb_build_object($1, $2, $3, $4, $5, $6, $7, $8) END $$;
CREATE FUNCTION public.to_jsonb(text) RETURNS jsonb LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('to_jsonb') THEN pg_catalog.to_jsonb($1) END $$;
CREATE FUNCTION public.string_to_array(text, text) RETURNS text[] LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('string_to_array') THEN pg_catalog.string_to_array($1, $2) END $$;
CREATE FUNCTION public.split_part(text, text, integer) RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('split_part') THEN pg_catalog.split_part($1, $2, $3) END $$;
CREATE FUNCTION public.to_char(timestamptz, text) RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('to_char') THEN pg_catalog.to_char($1, $2) END $$;
CREATE FUNCTION public.lpad(text, integer, text) RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('lpad') THEN pg_catalog.lpad($1, $2, $3) END $$;
CREATE FUNCTION public.gen_random_uuid() RETURNS uuid LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('gen_random_uuid') THEN pg_catalog.gen_random_uuid() END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('now') THEN pg_catalog.now() END $$;
CREATE FUNCTION public.set_config(text, text, boolean) RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('set_config') THEN pg_catalog.set_config($1, $2, $3) END $$;
CREATE FUNCTION public.round(numeric, integer) RETURNS numeric LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('round') THEN pg_catalog.round($1, $2) END $$;

CREATE FUNCTION public.planted_uuid_eq(uuid, uuid) RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('=(uuid,uuid)') THEN pg_catalog.uuid_eq($1, $2) END $$;
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.planted_uuid_eq);
CREATE FUNCTION public.planted_text_eq(text, text) RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('=(text,text)') THEN pg_catalog.texteq($1, $2) END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.planted_text_eq);
CREATE FUNCTION public.planted_textcat(text, text) RETURNS text LANGUAGE sql VOLATILE SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('||(text,text)') THEN pg_catalog.textcat($1, $2) END $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.planted_textcat);
CREATE FUNCTION public.planted_tstz_ge(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql VOLATILE
    SET search_path = pg_catalog
    AS $$ SELECT CASE WHEN public.planted_record('>=(timestamptz,timestamptz)')
                      THEN pg_catalog.timestamptz_ge($1, $2) END $$;
CREATE OPERATOR public.>= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.planted_tstz_ge);

-- psqlODBC's first query after connecting: select oid, typbasetype from pg_type where typname = 'lo'
CREATE VIEW public.pg_type AS
    SELECT t.* FROM (SELECT public.planted_record('pg_type view') AS r OFFSET 0) AS s
    CROSS JOIN LATERAL (SELECT * FROM pg_catalog.pg_type WHERE s.r) AS t;
GRANT SELECT ON public.pg_type TO PUBLIC;

-- PostgreSQL 14 and older (and databases upgraded from there): everyone may create in public
GRANT CREATE ON SCHEMA public TO PUBLIC;
"""

# What a session of the tool sees of its own settings: a trigger on report_run writes them
# down, for every row inserted: the run's own (comparison_for NULL) and, since schema
# version 5, the one of its comparison period (comparison_for = the run).
SETTINGS_SPY_SQL = r"""
CREATE TABLE public.session_seen (search_path text, statement_timeout text, lock_timeout text,
                                  idle_timeout text, app text, comparison_for uuid);
GRANT INSERT ON public.session_seen TO PUBLIC;
CREATE FUNCTION public.session_spy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.session_seen VALUES (pg_catalog.current_setting('search_path'),
        pg_catalog.current_setting('statement_timeout'), pg_catalog.current_setting('lock_timeout'),
        pg_catalog.current_setting('idle_in_transaction_session_timeout'),
        pg_catalog.current_setting('application_name'), NEW.comparison_for);
    RETURN NULL;
END $$;
CREATE TRIGGER session_spy AFTER INSERT ON dyno_crm.report_run FOR EACH ROW EXECUTE FUNCTION public.session_spy();
"""

SOURCE_INDEXES = {
    "ix_dynoreport_deal_tenant_created":
        "CREATE INDEX ix_dynoreport_deal_tenant_created ON dyno_crm.deal USING btree (tenant_id, created_at)"
        " INCLUDE (id, amount, owned_by_user_id, assigned_user_id, owned_by_group_id, assigned_group_id)",
    "ix_dynoreport_dpss_tenant_entered_current":
        "CREATE INDEX ix_dynoreport_dpss_tenant_entered_current ON dyno_crm.deal_pipeline_stage_state"
        " USING btree (tenant_id, entered_at) INCLUDE (deal_id, pipeline_stage_id) WHERE (is_current = true)",
}


def admin_dsn(db):
    # ALTER DATABASE ... SET search_path reaches superusers too: the checks see pg_catalog first
    return drtest.superuser_dsn(dbname=db.name, options="-c search_path=pg_catalog,public")


def admin_query(db, sql, args=None):
    conn = drtest.psycopg2.connect(admin_dsn(db))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def role_of(db):
    return drtest.psycopg2.extensions.parse_dsn(db.dsn)["user"]


def write_config(testcase, text):
    fd, path = tempfile.mkstemp(prefix="drtest-dbs-", suffix=".conf")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    testcase.addCleanup(os.remove, path)
    return path


def csv_without_run_id(path):
    bom, records = drtest.read_csv(path)
    return bom, [r[1:] for r in records]


def plant(db):
    admin_query(db, PLANT_SQL)
    role = role_of(db)
    admin_query(db, f'ALTER ROLE "{role}" IN DATABASE "{db.name}" SET search_path = {HOSTILE_PATH}')
    admin_query(db, f'ALTER DATABASE "{db.name}" SET search_path = {HOSTILE_PATH}')


def planted_calls(db):
    """(calls counted by the sequence, even rolled back; the rows recorded)."""
    last, called = admin_query(db, "SELECT last_value, is_called FROM public.planted_seq")[0]
    rows = admin_query(db, "SELECT what, usr FROM public.planted_calls ORDER BY at")
    return (last if called else 0), rows


class PinnedSearchPathTests(drtest.ToolTestCase):
    """search_path = public, pg_catalog on the role and the database, public writable, and
    hostile overloads, operators and a pg_type view in it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = drtest.fixture_database()
        cls.addClassCleanup(cls.db.drop)
        # the clean reference, before anything is planted
        cls.clean_dir = tempfile.mkdtemp(prefix="drtest-dbs-clean-")
        cls.addClassCleanup(shutil.rmtree, cls.clean_dir, True)
        rc, out, err = drtest.run_tool([*RUN, "--format", "csv", "--output-dir", cls.clean_dir],
                                       connect=cls.db.odbc)
        if rc != 0:
            raise AssertionError(f"the clean run failed ({rc}): {err}")
        cls.clean_run_id, cls.clean_csv = out.splitlines()[0], out.splitlines()[1]
        export_dir = os.path.join(cls.clean_dir, "export")
        os.mkdir(export_dir)
        rc, out, err = drtest.run_tool(["export", "--run-id", cls.clean_run_id, "--format", "csv",
                                        "--output-dir", export_dir], connect=cls.db.odbc)
        if rc != 0:
            raise AssertionError(f"the clean export failed ({rc}): {err}")
        with open(out.splitlines()[-1], "rb") as f:
            cls.clean_export = f.read()
        plant(cls.db)

    def assert_nothing_planted_ran(self):
        count, rows = planted_calls(self.db)
        self.assertEqual((count, rows), (0, []), "a planted object ran")

    def test_the_hostile_setup_is_in_force(self):
        """The role's own sessions do get public first (so the setup would bite) and do pick
        up the planted objects; the calls of this check are then forgotten."""
        conn = drtest.psycopg2.connect(self.db.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW search_path")
                self.assertEqual(cur.fetchone()[0], HOSTILE_PATH)
                cur.execute("SELECT string_to_array('a,b', ',')")
                conn.commit()
        finally:
            conn.close()
        count, rows = planted_calls(self.db)
        self.assertGreater(count, 0)
        admin_query(self.db, "TRUNCATE public.planted_calls; SELECT setval('public.planted_seq', 1, false)")

    def test_run_export_and_db_init_call_nothing_planted(self):
        """db init, run and export under the hostile search_path: exit 0, the output of the
        clean database, and no planted object called (psqlODBC's connect-time query
        included, through the startup packet's search_path)."""
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool([*RUN, "--format", "csv", "--output-dir", outdir], connect=self.db.odbc)
        run_id, paths = self.assert_run_ok(rc, out, err)
        self.assertEqual(csv_without_run_id(paths[0]), csv_without_run_id(self.clean_csv),
                         "the run differs from the clean database's")
        self.assertEqual(os.path.basename(paths[0]), os.path.basename(self.clean_csv))
        exdir = self.make_dir()
        rc, out, err = drtest.run_tool(["export", "--run-id", self.clean_run_id, "--format", "csv",
                                        "--output-dir", exdir], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        with open(out.splitlines()[-1], "rb") as f:
            self.assertEqual(f.read(), self.clean_export, "the export differs from the clean one")
        # the saved run's parameters went through jsonb_build_object / to_jsonb: pg_catalog's
        params = admin_query(self.db, "SELECT parameters::text FROM dyno_crm.report_run WHERE id = %s",
                             (run_id,))[0][0]
        self.assertEqual(params, '{"period": "2026-03", "formats": ["csv"], "time_zone": '
                                 '"America/New_York", "principals": "all"}')
        self.assert_nothing_planted_ran()

    def test_db_init_on_a_hostile_database_binds_to_pg_catalog(self):
        """db init on a new database that is already hostile: nothing it creates (defaults,
        check constraints, functions) depends on a planted object, none ran, and a run there
        works."""
        db = drtest.fresh_database()
        self.addCleanup(db.drop)
        db.execute_file(drtest.SOURCE_SCHEMA)
        db.execute_file(drtest.EDGE_CASES)
        plant(db)
        rc, out, err = drtest.run_tool(["db", "init", "--with-source-indexes"], connect=db.odbc)
        self.assertEqual(rc, 0, err)
        deps = admin_query(db, """
            SELECT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d
            WHERE d.refobjid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'public'::regnamespace
                                 UNION SELECT oid FROM pg_operator WHERE oprnamespace = 'public'::regnamespace)
              AND pg_describe_object(d.classid, d.objid, d.objsubid) LIKE '%dyno_crm.%'""")
        self.assertEqual(deps, [], "objects of db init depend on planted ones")
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool([*RUN, "--format", "csv", "--output-dir", outdir], connect=db.odbc)
        self.assert_run_ok(rc, out, err)
        count, rows = planted_calls(db)
        self.assertEqual((count, rows), (0, []), "a planted object ran")

    def test_functions_pin_their_own_search_path(self):
        """The tool's SQL functions carry SET search_path = pg_catalog, pg_temp (migrations 003,
        004, 006 and 007): called by a session with the hostile search_path they run nothing planted."""
        rows = admin_query(self.db, "SELECT p.oid::regprocedure::text, p.proconfig FROM pg_proc p"
                                    " WHERE p.pronamespace = 'dyno_crm'::regnamespace ORDER BY 1")
        self.assertEqual(rows, [
            ("dyno_crm.dynoreport_compact(timestamp with time zone)", ["search_path=pg_catalog, pg_temp"]),
            ("dyno_crm.dynoreport_day_words(timestamp without time zone,boolean)",
             ["search_path=pg_catalog, pg_temp"]),
            ("dyno_crm.dynoreport_iso8601(timestamp with time zone)", ["search_path=pg_catalog, pg_temp"]),
            ("dyno_crm.dynoreport_period_title(text,boolean,timestamp without time zone,"
             "timestamp without time zone)", ["search_path=pg_catalog, pg_temp"]),
            ("dyno_crm.dynoreport_report_rows(uuid[],timestamp with time zone,timestamp with time zone,text)",
             ["search_path=pg_catalog, pg_temp", "jit=off", "enable_nestloop=off", "parallel_tuple_cost=0.01",
              "min_parallel_index_scan_size=1TB", "plan_cache_mode=force_custom_plan"]),
            ("dyno_crm.dynoreport_report_store(uuid[],uuid[],uuid[],timestamp with time zone,timestamp with time zone,"
             "timestamp with time zone,timestamp with time zone,text)", ["search_path=pg_catalog, pg_temp"]),
            ("dyno_crm.dynoreport_timestamptz(text)", ["search_path=pg_catalog, pg_temp"]),
        ])
        conn = drtest.psycopg2.connect(admin_dsn(self.db))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f"SET search_path = {HOSTILE_PATH}")
                cur.execute("SET TimeZone = 'UTC'")
                cur.execute("SELECT dyno_crm.dynoreport_iso8601(pg_catalog.timestamptz '2026-03-01 12:00:00.5+00'),"
                            " dyno_crm.dynoreport_compact(pg_catalog.timestamptz '2026-03-01 12:00+00'),"
                            " dyno_crm.dynoreport_timestamptz('0000-12-31T23:00:00+00:00')::pg_catalog.text")
                self.assertEqual(cur.fetchone(), ("2026-03-01T12:00:00.500000+00:00", "20260301T120000",
                                                  "0001-12-31 23:00:00+00 BC"))
                cur.execute("SELECT dyno_crm.dynoreport_period_title('month', false,"
                            " pg_catalog.timestamp '2026-03-01', pg_catalog.timestamp '2026-04-01'),"
                            " dyno_crm.dynoreport_period_title('day', true, pg_catalog.timestamp '2026-03-01',"
                            " pg_catalog.timestamp '2026-03-16'),"
                            " dyno_crm.dynoreport_day_words(pg_catalog.timestamp '2026-03-05 08:30', true)")
                self.assertEqual(cur.fetchone(), ("March 2026", "1 Mar 2026 – 15 Mar 2026", "5 Mar 2026 08:30"))
        finally:
            conn.close()
        self.assert_nothing_planted_ran()


class SessionTimeoutTests(drtest.FixtureTestCase):
    """The bounds of the tool's session: built in, kept when the server or the connection set
    them, overridden by [connection]; each one hit gives exit 75 naming it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        admin_query(cls.db, SETTINGS_SPY_SQL)

    def seen_after_run(self, extra_args=(), env_extra=None, config=None):
        admin_query(self.db, "TRUNCATE public.session_seen")
        outdir = self.make_dir()
        args = (["--config", config] if config else []) + [*RUN, "--output-dir", outdir, *extra_args]
        tool = Tool(args, self.db.odbc, env_extra=env_extra)
        self.addCleanup(tool.kill)
        rc, out, err = tool.finish()
        self.assert_run_ok(rc, out, err)
        rows = admin_query(self.db, "SELECT search_path, statement_timeout, lock_timeout, idle_timeout, app,"
                                    " comparison_for IS NULL FROM public.session_seen")
        # one run: one row of its own, and the comparison period's (if any) seen by the same
        # session with the same settings
        self.assertEqual([r[5] for r in rows].count(True), 1, rows)
        self.assertEqual({r[:5] for r in rows}, {rows[0][:5]}, "the comparison's insert saw other settings")
        return rows[0][:5]

    def test_built_in_bounds(self):
        """Nobody set anything: 30 min per statement, 1 min per lock wait, 10 min idle in a
        transaction; and the pinned search_path."""
        self.assertEqual(self.seen_after_run(),
                         ("pg_catalog, pg_temp", "30min", "1min", "10min", "dynoreport"))

    def test_bounds_of_the_connection_and_the_role_are_kept(self):
        """PGOPTIONS (which the startup packet keeps next to the pinned search_path) and ALTER
        ROLE settings win over the built-in bounds; the search_path is pinned all the same."""
        seen = self.seen_after_run(env_extra={"PGOPTIONS": "-c lock_timeout=5s -c statement_timeout=7s "
                                                           "-c search_path=public"})
        self.assertEqual(seen, ("pg_catalog, pg_temp", "7s", "5s", "10min", "dynoreport"))
        role = role_of(self.db)
        admin_query(self.db, f'ALTER ROLE "{role}" IN DATABASE "{self.db.name}" SET statement_timeout = \'2h\'')
        self.addCleanup(admin_query, self.db,
                        f'ALTER ROLE "{role}" IN DATABASE "{self.db.name}" RESET statement_timeout')
        self.assertEqual(self.seen_after_run(),
                         ("pg_catalog, pg_temp", "2h", "1min", "10min", "dynoreport"))

    def test_bounds_from_the_configuration(self):
        """[connection] statement_timeout / lock_timeout / idle_in_transaction_session_timeout
        win over everything, also over PGOPTIONS; 0 disables a bound."""
        config = write_config(self, "[connection]\nstatement_timeout = 45min\nlock_timeout = 0\n"
                                    "idle_in_transaction_session_timeout = 90s   # a comment\n")
        seen = self.seen_after_run(config=config, env_extra={"PGOPTIONS": "-c lock_timeout=5s"})
        self.assertEqual(seen, ("pg_catalog, pg_temp", "45min", "0", "90s", "dynoreport"))

    def test_bad_timeout_values_are_refused(self):
        """A bad value is exit 78 naming file, line and key, before anything connects."""
        for value in ("5 parsecs", "-1s", "", "1.5.2s", "0.1us", "99999999999", "25d", "s", "1e3", "30MIN"):
            with self.subTest(value=value):
                config = write_config(self, f"[connection]\n# bounds\nlock_timeout = {value}\n")
                rc, out, err = drtest.run_tool(["--config", config, *RUN, "--output-dir", self.make_dir()],
                                               connect=self.db.odbc)
                self.assertEqual(rc, 78, err)
                self.assertIn(f"{config}:3:", err)
                self.assertIn("'lock_timeout'", err)
                self.assertEqual(out, "")
        config = write_config(self, "[connection]\nstatement_timeout = 1s\nstatement_timeout = 2s\n")
        rc, out, err = drtest.run_tool(["--config", config, *RUN, "--output-dir", self.make_dir()],
                                       connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn(f"{config}:3:", err)
        self.assertIn("set twice", err)

    def test_lock_timeout_from_the_configuration(self):
        """report_run locked by another session, lock_timeout = 1s in [connection]: exit 75
        after about a second, naming lock_timeout; no run saved, no file."""
        outdir = self.make_dir()
        before = (drtest.count_runs(self.db), drtest.count_facts(self.db))
        lock = LockHolder(self.db, "dyno_crm.report_run")
        self.addCleanup(lock.close)
        config = write_config(self, "[connection]\nlock_timeout = 1s\n")
        started = time.monotonic()
        rc, out, err = drtest.run_tool(["--config", config, *RUN, "--output-dir", outdir], connect=self.db.odbc)
        elapsed = time.monotonic() - started
        lock.close()
        self.assertEqual(rc, 75, err)
        self.assertEqual(out, "")
        self.assertIn("55P03", err)
        self.assertIn("raise lock_timeout in [connection]", err)
        self.assertLess(elapsed, 15, "the lock timeout did not end the wait")
        self.assertEqual((drtest.count_runs(self.db), drtest.count_facts(self.db)), before)
        self.assert_dir_empty(outdir)

    def test_statement_timeout_from_the_configuration(self):
        """The fact table locked by another session, statement_timeout = 1500 (ms) and no lock
        bound in [connection]: exit 75 naming statement_timeout; no run saved."""
        outdir = self.make_dir()
        before = (drtest.count_runs(self.db), drtest.count_facts(self.db))
        lock = LockHolder(self.db, "dyno_crm.report_rep_performance_fact")
        self.addCleanup(lock.close)
        config = write_config(self, "[connection]\nstatement_timeout = 1500\nlock_timeout = 0\n")
        started = time.monotonic()
        rc, out, err = drtest.run_tool(["--config", config, *RUN, "--output-dir", outdir], connect=self.db.odbc)
        elapsed = time.monotonic() - started
        lock.close()
        self.assertEqual(rc, 75, err)
        self.assertIn("statement timeout", err)
        self.assertIn("57014", err)
        self.assertIn("raise statement_timeout in [connection]", err)
        self.assertLess(elapsed, 15)
        self.assertEqual((drtest.count_runs(self.db), drtest.count_facts(self.db)), before)
        self.assert_dir_empty(outdir)

    def test_idle_in_transaction_timeout_from_the_configuration(self):
        """The run idles in its transaction while a slow plugin writes, and [connection] allows
        1 s of that: the server ends the session, exit 75 naming the setting, nothing saved,
        temporary files removed."""
        outdir = self.make_dir()
        before = (drtest.count_runs(self.db), drtest.count_facts(self.db))
        config = write_config(self, "[connection]\nidle_in_transaction_session_timeout = 1s\n")
        rc, out, err = drtest.run_tool(["--config", config, *RUN, "--plugin-dir", faulty_plugin_dir(),
                                        "--format", "faulty,csv", "--opt", "faulty.sleep_ms=250",
                                        "--output-dir", outdir], connect=self.db.odbc)
        self.assertEqual(rc, 75, err)
        self.assertIn("idle-in-transaction timeout", err)
        self.assertIn("raise idle_in_transaction_session_timeout in [connection]", err)
        self.assertEqual((drtest.count_runs(self.db), drtest.count_facts(self.db)), before)
        self.assert_dir_empty(outdir)


class SourceIndexTests(drtest.ToolTestCase):
    """db init --with-source-indexes on a CRM that is in use."""

    def setUp(self):
        self.db = drtest.fixture_database()
        self.addCleanup(self.db.drop)

    def indexes(self):
        return dict(admin_query(self.db, """
            SELECT c.relname, pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relnamespace = 'dyno_crm'::regnamespace AND c.relname LIKE 'ix_dynoreport_%'"""))

    def test_open_crm_transaction_bounded_wait_writes_not_blocked(self):
        """A CRM transaction that touched dyno_crm.deal stays open during db init
        --with-source-indexes (lock_timeout 4 s): db init gives up with exit 75 within the bound,
        naming the index and the table; meanwhile a CRM INSERT into dyno_crm.deal completes at
        once. After the transaction ends, db init builds both indexes, valid."""
        blocker = drtest.psycopg2.connect(self.db.dsn)
        self.addCleanup(blocker.close)
        with blocker.cursor() as cur:
            cur.execute("UPDATE dyno_crm.deal SET title = title WHERE id = (SELECT id FROM dyno_crm.deal LIMIT 1)")
        tool = Tool(["db", "init", "--with-source-indexes"], self.db.odbc,
                    env_extra={"PGOPTIONS": "-c lock_timeout=4s"})
        self.addCleanup(tool.kill)
        started = time.monotonic()
        wait_until(lambda: admin_query(self.db, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                                                " AND application_name = 'dynoreport' AND wait_event_type = 'Lock'",
                                       (self.db.name,))[0][0] > 0 or tool.proc.poll() is not None,
                   "db init to wait for the open transaction", timeout=20)
        # a CRM write from a third session while db init waits: it must not queue behind it
        writer = drtest.psycopg2.connect(self.db.dsn)
        self.addCleanup(writer.close)
        t0 = time.monotonic()
        with writer.cursor() as cur:
            cur.execute("SET statement_timeout = '3s'")
            cur.execute("INSERT INTO dyno_crm.deal (id, tenant_id, created_at) VALUES"
                        " (gen_random_uuid(), %s, now())", (T1,))
        writer.commit()
        self.assertLess(time.monotonic() - t0, 2, "a CRM write waited behind db init")
        self.assertIsNone(tool.proc.poll(), "db init ended before the write was tried")
        rc, out, err = tool.finish()
        elapsed = time.monotonic() - started
        self.assertEqual(rc, 75, err)
        self.assertLess(elapsed, 20, "db init did not give up within its bound")
        for text in ("ix_dynoreport_deal_tenant_created", "dyno_crm.deal", "lock_timeout",
                     "CRM writes were not blocked", "INVALID", "try again"):
            self.assertIn(text, err.replace("Try again", "try again"))
        self.assertEqual(self.indexes(), {"ix_dynoreport_deal_tenant_created":
                                          SOURCE_INDEXES["ix_dynoreport_deal_tenant_created"] + " INVALID"})
        blocker.rollback()
        rc, out, err = drtest.run_tool(["db", "init", "--with-source-indexes"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.indexes(), SOURCE_INDEXES)

    def test_invalid_index_is_dropped_and_rebuilt(self):
        """An INVALID index of the tool's name, left by a build that failed (a unique index
        on duplicate tenant ids, built CONCURRENTLY), is dropped and built right."""
        conn = drtest.psycopg2.connect(admin_dsn(self.db))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                with self.assertRaises(drtest.psycopg2.IntegrityError):
                    cur.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_dynoreport_deal_tenant_created"
                                " ON dyno_crm.deal (tenant_id)")
        finally:
            conn.close()
        self.assertEqual(self.indexes(), {"ix_dynoreport_deal_tenant_created":
                                          "CREATE UNIQUE INDEX ix_dynoreport_deal_tenant_created ON dyno_crm.deal"
                                          " USING btree (tenant_id) INVALID"})
        rc, out, err = drtest.run_tool(["db", "init", "--with-source-indexes"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.indexes(), SOURCE_INDEXES)
        rc, out, err = drtest.run_tool(["db", "init", "--with-source-indexes"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.indexes(), SOURCE_INDEXES)


# The schema version this build needs (DR_SCHEMA_VERSION, core/schema.h) and describes in
# sql/schema_objects_check.sql, and the tables it owns there besides dynoreport_schema_version.
SCHEMA_VERSION = 11
OWNED_TABLES = ["report_run", "report_rep_performance_fact", "report_run_view", "report_run_principal_name",
                "report_run_total", "report_delivery"]


def sql_dir_copy(testcase, migrations_upto=None):
    """A copy of the SQL directory the tool reads (DYNOREPORT_SQL_DIR), with the migrations
    after migrations_upto left out; removed after the test."""
    path = tempfile.mkdtemp(prefix="drtest-dbs-sql-")
    testcase.addCleanup(shutil.rmtree, path, True)
    path = os.path.join(path, "sql")
    shutil.copytree(os.environ["DYNOREPORT_SQL_DIR"], path)
    if migrations_upto is not None:
        for name in os.listdir(os.path.join(path, "migrations")):
            if int(name.split("_")[0]) > migrations_upto:
                os.remove(os.path.join(path, "migrations", name))
    return path


class ObjectCheckTests(drtest.ToolTestCase):
    """db init checks the objects it owns, not only the version table."""

    def setUp(self):
        self.db = drtest.fixture_database()
        self.addCleanup(self.db.drop)

    def run_ok(self):
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool([*RUN, "--format", "csv", "--output-dir", outdir], connect=self.db.odbc)
        return self.assert_run_ok(rc, out, err)

    def catalog(self, xmin=False):
        """Everything db init owns, as (object, definition[, xmin of its catalog row]): with
        xmin, a needless repair shows."""
        rows = admin_query(self.db, """
            WITH owned AS (SELECT oid FROM pg_class WHERE relnamespace = 'dyno_crm'::regnamespace
                                                      AND relname = ANY (%s))
            SELECT 'f ' || p.oid::regprocedure::text, md5(p.prosrc) || coalesce(p.proconfig::text, ''), p.xmin::text
              FROM pg_proc p WHERE p.pronamespace = 'dyno_crm'::regnamespace
            UNION ALL
            SELECT 'c ' || conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid), xmin::text
              FROM pg_constraint WHERE connamespace = 'dyno_crm'::regnamespace
            UNION ALL
            SELECT 'a ' || attrelid::regclass::text || '.' || attname,
                   format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END, xmin::text
              FROM pg_attribute WHERE attnum > 0 AND NOT attisdropped AND attrelid IN (SELECT oid FROM owned)
            UNION ALL
            SELECT 'i ' || indexname, indexdef, '' FROM pg_indexes WHERE schemaname = 'dyno_crm'
               AND tablename = ANY (%s)
            UNION ALL
            SELECT 'd ' || adrelid::regclass::text || '.' || adnum, pg_get_expr(adbin, adrelid), xmin::text
              FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM owned)
            ORDER BY 1""", (OWNED_TABLES, OWNED_TABLES))
        return [r if xmin else r[:2] for r in rows]

    def test_catalog_covers_every_owned_table(self):
        """The listing this class compares holds every table of the schema's version: the
        columns of all five, the partial unique index of comparison_for, the new keys."""
        objects = [name for name, _ in self.catalog()]
        for table in OWNED_TABLES:
            self.assertTrue(any(o.startswith(f"a dyno_crm.{table}.") for o in objects), table)
        self.assertIn("a dyno_crm.report_run.comparison_for", objects)
        self.assertIn(("i ux_report_run_comparison_for",
                       "CREATE UNIQUE INDEX ux_report_run_comparison_for ON dyno_crm.report_run USING btree"
                       " (comparison_for) WHERE (comparison_for IS NOT NULL)"), self.catalog())
        self.assertIn("c dyno_crm.report_run.fk_report_run_comparison_for", objects)
        self.assertEqual(len([o for o in objects if o.startswith("f ")]), 7)

    def test_clean_db_init_changes_nothing(self):
        before = self.catalog(xmin=True)
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("repaired", err)
        self.assertEqual(self.catalog(xmin=True), before)

    def test_dropped_function_is_recreated(self):
        """DROP FUNCTION dyno_crm.dynoreport_iso8601 (migration 004): run refuses (exit 78, 'db
        init'); db init creates it again and runs work."""
        before = self.catalog()
        admin_query(self.db, "DROP FUNCTION dyno_crm.dynoreport_iso8601(timestamptz)")
        rc, out, err = drtest.run_tool([*RUN, "--output-dir", self.make_dir()], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("dyno_crm.dynoreport_iso8601(timestamp with time zone)", err)
        self.assertIn("db init", err)
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertIn("function dyno_crm.dynoreport_iso8601(timestamp with time zone) is missing", err)
        self.assertEqual(self.catalog(), before)
        self.run_ok()

    def test_dropped_functions_of_both_function_migrations_are_recreated(self):
        """dynoreport_day_words (006; dynoreport_period_title, which the report view calls,
        calls it and stays, as a SQL function's body records no dependency) and
        dynoreport_timestamptz (004) dropped: run refuses naming both; one db init runs 004
        and 006 again and restores both, the rest as it was."""
        before = self.catalog()
        admin_query(self.db, "DROP FUNCTION dyno_crm.dynoreport_day_words(timestamp, boolean);"
                             " DROP FUNCTION dyno_crm.dynoreport_timestamptz(text)")
        rc, out, err = drtest.run_tool([*RUN, "--output-dir", self.make_dir()], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("functions dyno_crm.dynoreport_day_words(timestamp without time zone, boolean), "
                      "dyno_crm.dynoreport_timestamptz(text) of the dynoreport schema are missing", err)
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertIn("found and repaired 2 objects", err)
        self.assertEqual(self.catalog(), before)
        self.run_ok()

    def test_rerun_only_of_a_function_only_migration(self):
        """A migration that the catalogue names for a function but that holds more than CREATE
        OR REPLACE FUNCTION (here 006 with a DELETE appended) is not run again: exit 78
        naming it, nothing deleted, nothing changed."""
        run_id, _ = self.run_ok()
        sql_dir = sql_dir_copy(self)
        with open(os.path.join(sql_dir, "migrations", "006_report_view_functions.sql"), "a", encoding="utf-8") as f:
            f.write("\nDELETE FROM dyno_crm.report_run_view;\n")
        admin_query(self.db, "DROP FUNCTION dyno_crm.dynoreport_period_title(text, boolean, timestamp, timestamp)")
        before = self.catalog(xmin=True)
        tool = Tool(["db", "init"], self.db.odbc, env_extra={"DYNOREPORT_SQL_DIR": sql_dir})
        self.addCleanup(tool.kill)
        rc, out, err = tool.finish()
        self.assertEqual(rc, 78, err)
        self.assertIn("006_report_view_functions.sql' is named as a function-only migration", err)
        self.assertIn("is not CREATE OR REPLACE FUNCTION", err)
        self.assertIn("function dyno_crm.dynoreport_period_title(", err)
        self.assertEqual(self.catalog(xmin=True), before)
        self.assertEqual(admin_query(self.db, "SELECT count(*) FROM dyno_crm.report_run_view WHERE run_id = %s",
                                     (run_id,)), [(1,)])
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.run_ok()

    def test_changed_function_is_replaced(self):
        """A function whose body or SET clause was changed by hand is put back (004's and 006's
        alike)."""
        before = self.catalog()
        admin_query(self.db, "CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_compact(ts timestamptz) RETURNS text"
                             " LANGUAGE sql STABLE AS $$ SELECT 'broken'::text $$;"
                             " CREATE OR REPLACE FUNCTION dyno_crm.dynoreport_period_title(field text, is_range boolean,"
                             " s timestamp, e timestamp) RETURNS text LANGUAGE sql STABLE"
                             " SET search_path = pg_catalog, pg_temp AS $$ SELECT 'broken'::text $$")
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertIn("function dyno_crm.dynoreport_period_title(text, boolean, timestamp without time zone, "
                      "timestamp without time zone) differs from its definition (body)", err)
        self.assertEqual(admin_query(self.db, "SET TimeZone = 'UTC'; SELECT dyno_crm.dynoreport_compact("
                                              "'2026-03-01 12:00+00'), (SELECT proconfig FROM pg_proc WHERE"
                                              " oid = 'dyno_crm.dynoreport_compact(timestamptz)'::regprocedure),"
                                              " dyno_crm.dynoreport_period_title('quarter', false,"
                                              " '2026-04-01', '2026-07-01')"),
                         [("20260301T120000", ["search_path=pg_catalog, pg_temp"], "Q2 2026")])
        self.assertEqual(self.catalog(), before)

    def test_changed_column_type_is_refused(self):
        """A column of the fact table changed to numeric(20,2) (and a check dropped): db init
        exits 78 naming table.column and both types, and changes nothing."""
        admin_query(self.db, "ALTER TABLE dyno_crm.report_rep_performance_fact"
                             " ALTER COLUMN total_amount_won TYPE numeric(20,2), DROP CONSTRAINT ck_rrp_win_rate")
        before = self.catalog(xmin=True)
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("column dyno_crm.report_rep_performance_fact.total_amount_won is numeric(20,2), "
                      "expected numeric(14,2)", err)
        self.assertIn("nothing was changed", err)
        self.assertEqual(self.catalog(xmin=True), before)

    def test_dropped_column_and_table_are_refused(self):
        admin_query(self.db, "ALTER TABLE dyno_crm.report_run DROP COLUMN tool_version")
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("column dyno_crm.report_run.tool_version is missing", err)
        admin_query(self.db, "DROP TABLE dyno_crm.report_rep_performance_fact")
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("table dyno_crm.report_rep_performance_fact is missing", err)
        # those of migration 005: the column (its key and index go with it) and a table
        admin_query(self.db, "ALTER TABLE dyno_crm.report_run DROP COLUMN comparison_for;"
                             " DROP TABLE dyno_crm.report_run_principal_name")
        before = self.catalog(xmin=True)
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("column dyno_crm.report_run.comparison_for is missing", err)
        self.assertIn("table dyno_crm.report_run_principal_name is missing", err)
        self.assertIn("(and more it could repair)", err)
        self.assertEqual(self.catalog(xmin=True), before)

    def test_changed_column_type_and_index_of_005_are_refused(self):
        """report_run_total.total_amount_won of another type, and ux_report_run_comparison_for
        built again without its WHERE (so on all rows): exit 78 naming both, nothing changed."""
        admin_query(self.db, "ALTER TABLE dyno_crm.report_run_total ALTER COLUMN total_amount_won TYPE numeric(14,2);"
                             " DROP INDEX dyno_crm.ux_report_run_comparison_for;"
                             " CREATE UNIQUE INDEX ux_report_run_comparison_for ON dyno_crm.report_run (comparison_for)")
        before = self.catalog(xmin=True)
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("column dyno_crm.report_run_total.total_amount_won is numeric(14,2), expected numeric(18,2)",
                      err)
        self.assertIn("index dyno_crm.ux_report_run_comparison_for is 'CREATE UNIQUE INDEX ux_report_run_comparison_for"
                      " ON dyno_crm.report_run USING btree (comparison_for)', expected", err)
        self.assertIn("nothing was changed", err)
        self.assertEqual(self.catalog(xmin=True), before)

    def test_dropped_and_changed_constraints_are_restored(self):
        """Dropped check constraints, a foreign key without ON DELETE CASCADE, a lost NOT NULL,
        a lost default and a dropped index come back as the migrations made them: those of
        001 and those of 005 (the comparison run's key and partial unique index, the view's
        check and default, the totals' key). Deleting a run then deletes its comparison run,
        view and totals again."""
        before = self.catalog()
        admin_query(self.db, """
            ALTER TABLE dyno_crm.report_rep_performance_fact DROP CONSTRAINT ck_rrp_win_rate,
                DROP CONSTRAINT ck_rrp_counts, DROP CONSTRAINT fk_rrp_run,
                ADD CONSTRAINT fk_rrp_run FOREIGN KEY (run_id, tenant_id) REFERENCES dyno_crm.report_run (id, tenant_id),
                ALTER COLUMN deals_created_count DROP NOT NULL;
            ALTER TABLE dyno_crm.report_run DROP CONSTRAINT ck_report_run_period,
                DROP CONSTRAINT fk_report_run_comparison_for,
                ALTER COLUMN parameters DROP DEFAULT;
            DROP INDEX dyno_crm.ix_rrp_period;
            DROP INDEX dyno_crm.ux_report_run_comparison_for;
            ALTER TABLE dyno_crm.report_run_view DROP CONSTRAINT ck_report_run_view_compare,
                ALTER COLUMN compare_title DROP DEFAULT;
            ALTER TABLE dyno_crm.report_run_total DROP CONSTRAINT fk_report_run_total_run,
                ADD CONSTRAINT fk_report_run_total_run FOREIGN KEY (run_id, tenant_id)
                    REFERENCES dyno_crm.report_run (id, tenant_id) NOT VALID;
            ALTER TABLE dyno_crm.report_run_principal_name ALTER COLUMN name DROP NOT NULL""")
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertIn("found and repaired 13 objects", err)
        self.assertEqual(self.catalog(), before)
        self.assertEqual(admin_query(self.db, "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid ="
                                              " 'dyno_crm.report_run'::regclass ORDER BY adnum"),
                         [("now()",), ("'{}'::jsonb",)])
        self.assertEqual(admin_query(self.db, "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid ="
                                              " 'dyno_crm.report_run_view'::regclass ORDER BY adnum"),
                         [("''::text",), ("''::text",)])
        run_id, _ = self.run_ok()
        counts = """SELECT (SELECT count(*) FROM dyno_crm.report_run WHERE comparison_for = %(r)s),
                           (SELECT count(*) FROM dyno_crm.report_run_view WHERE run_id = %(r)s),
                           (SELECT count(*) FROM dyno_crm.report_run_total WHERE run_id = %(r)s)"""
        self.assertEqual(admin_query(self.db, counts, {"r": run_id})[0][:2], (1, 1))
        admin_query(self.db, "DELETE FROM dyno_crm.report_run WHERE id = %s", (run_id,))
        self.assertEqual(admin_query(self.db, counts, {"r": run_id}), [(0, 0, 0)])

    def test_constraint_that_rows_break_is_refused(self):
        """A dropped check constraint that rows written meanwhile break: db init exits 78,
        naming the constraint, and leaves it to the operator."""
        run_id, _ = self.run_ok()
        admin_query(self.db, "ALTER TABLE dyno_crm.report_rep_performance_fact DROP CONSTRAINT ck_rrp_win_rate;"
                             " UPDATE dyno_crm.report_rep_performance_fact SET win_rate = 2 WHERE run_id = %s",
                    (run_id,))
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("constraint ck_rrp_win_rate of dyno_crm.report_rep_performance_fact is missing", err)
        self.assertIn("could not repair it", err)

    def test_run_needs_the_current_schema_version(self):
        """A database where db init last ran with an older dynoreport (version 2): run
        refuses with exit 78; db init brings it to version 6 (003 to 006 applied again over
        the objects they made: each is safe to apply twice)."""
        admin_query(self.db, "DELETE FROM dyno_crm.dynoreport_schema_version WHERE version > 2")
        rc, out, err = drtest.run_tool([*RUN, "--output-dir", self.make_dir()], connect=self.db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn("schema version 2", err)
        self.assertIn(f"needs version {SCHEMA_VERSION}", err)
        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertIn(f"schema at version {SCHEMA_VERSION} ({SCHEMA_VERSION - 2} migrations applied now)", err)
        self.assertNotIn("repaired", err)
        migrations = sorted(f for f in os.listdir(os.path.join(drtest.REPO_ROOT, "sql", "migrations"))
                            if f.endswith(".sql"))
        self.assertEqual(int(migrations[-1].split("_")[0]), SCHEMA_VERSION,
                         "a new migration needs DR_SCHEMA_VERSION, schema_objects_check.sql and this test updated")
        with open(os.path.join(drtest.REPO_ROOT, "core", "schema.h"), encoding="utf-8") as f:
            self.assertIn(f"#define DR_SCHEMA_VERSION {SCHEMA_VERSION}\n", f.read())
        self.run_ok()

    def test_upgrade_from_version_4(self):
        """A database that an older dynoreport brought to version 4 (migrations 001-004 only),
        with a run saved: run refuses (needs version 6); db init applies 005 and 006 and the
        result is what a new database gets, nothing to repair; the old run is kept, with no
        comparison run; runs work."""
        db = drtest.fixture_database(init=False)
        self.addCleanup(db.drop)
        fresh = self.catalog()
        self.db = db
        old_sql = sql_dir_copy(self, migrations_upto=4)
        tool = Tool(["db", "init"], db.odbc, env_extra={"DYNOREPORT_SQL_DIR": old_sql})
        self.addCleanup(tool.kill)
        rc, out, err = tool.finish()
        self.assertEqual(rc, 0, err)
        self.assertIn("schema at version 4 (4 migrations applied now)", err)
        admin_query(db, "INSERT INTO dyno_crm.report_run (id, tenant_id, report_type, period_start, period_end,"
                        " period_label, time_zone, tool_version) VALUES ('00000000-0000-4000-8000-0000000000f4',"
                        " %s, 'rep_performance', '2026-02-01', '2026-03-01', '2026-02', 'UTC', '0.1.0')", (T1,))
        rc, out, err = drtest.run_tool([*RUN, "--output-dir", self.make_dir()], connect=db.odbc)
        self.assertEqual(rc, 78, err)
        self.assertIn(f"schema version 4, and this dynoreport needs version {SCHEMA_VERSION}", err)
        rc, out, err = drtest.run_tool(["db", "init"], connect=db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertIn(f"schema at version {SCHEMA_VERSION} ({SCHEMA_VERSION - 4} migrations applied now)", err)
        self.assertNotIn("repaired", err)
        self.assertEqual(self.catalog(), fresh)
        self.assertEqual(admin_query(db, "SELECT comparison_for FROM dyno_crm.report_run"), [(None,)])
        self.run_ok()


class EraTests(drtest.ToolTestCase):
    """Periods that start before the year 1 in UTC (1 BC is the ISO 8601 year 0000)."""

    TENANT = "e0000000-0000-4000-8000-000000000001"
    OWNER = "e0000000-0000-4000-8000-0000000000a1"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = drtest.fixture_database()
        cls.addClassCleanup(cls.db.drop)
        won = cls.db.query("SELECT id FROM dyno_crm.pipeline_stage WHERE stage_state = 'DONE_SUCCESS' LIMIT 1")[0][0]
        conn = cls.db.connect()
        try:
            with conn.cursor() as cur:
                # created 1 BC Dec 31 23:30 UTC, won 1 AD Jan 15 00:00 UTC (14 days 30 minutes)
                cur.execute("INSERT INTO dyno_crm.deal (id, tenant_id, amount, created_at, owned_by_user_id)"
                            " VALUES ('e0000000-0000-4000-8000-0000000000d1', %s, 100.00,"
                            " '0001-12-31 23:30:00+00 BC', %s)", (cls.TENANT, cls.OWNER))
                cur.execute("INSERT INTO dyno_crm.deal_pipeline_stage_state (deal_id, tenant_id, pipeline_stage_id,"
                            " entered_at, is_current) VALUES ('e0000000-0000-4000-8000-0000000000d1', %s, %s,"
                            " '0001-01-15 00:00:00+00', true)", (cls.TENANT, won))
        finally:
            conn.close()

    def run_range(self, *extra, formats="csv"):
        outdir = self.make_dir()
        rc, out, err = drtest.run_tool(["run", "--tenant", self.TENANT, "--all-principals", *extra,
                                        "--format", formats, "--output-dir", outdir], connect=self.db.odbc)
        return rc, out, err

    def test_range_starting_in_1_bc(self):
        """--from 0001-01-01T00:00+01:00 --to 0001-02-01 (UTC): the run works, the start is
        0000-12-31T23:00:00+00:00 in the CSV, the JSON and the file name, the saved run holds
        the instant of 1 BC, the deal created in 1 BC counts, and export gives the same CSV."""
        rc, out, err = self.run_range("--from", "0001-01-01T00:00+01:00", "--to", "0001-02-01",
                                      formats="csv,json,xlsx")
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=3)
        csv_path = [p for p in paths if p.endswith(".csv")][0]
        self.assertTrue(os.path.basename(csv_path).endswith("_00001231T230000_00010201T000000.csv"), csv_path)
        _, records = drtest.read_csv(csv_path)
        self.assertEqual(records[1:], [[run_id, self.TENANT, "USER", self.OWNER, "0000-12-31T23:00:00+00:00",
                                        "0001-02-01T00:00:00+00:00", "1", "1", "0", "100.00", "100.00",
                                        "14.0208", "1.0000"]])
        json_path = [p for p in paths if p.endswith(".json")][0]
        with open(json_path, encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual((doc["period_start"], doc["period_end"], doc["period"]),
                         ("0000-12-31T23:00:00+00:00", "0001-02-01T00:00:00+00:00",
                          "00001231T230000_00010201T000000"))
        self.assertEqual(self.db.query("SET TimeZone = 'UTC'; SELECT period_start::text, period_end::text, period_label"
                                       " FROM dyno_crm.report_run WHERE id = %s", (run_id,)),
                         [("0001-12-31 23:00:00+00 BC", "0001-02-01 00:00:00+00", "00001231T230000_00010201T000000")])
        exdir = self.make_dir()
        rc, out, err = drtest.run_tool(["export", "--run-id", run_id, "--format", "csv", "--output-dir", exdir],
                                       connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        with open(out.splitlines()[-1], "rb") as a, open(csv_path, "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_year_1_in_zones_west_and_east_of_utc(self):
        """--from 0001-01-01 --to 0001-02-01 in a zone west of UTC (New York, local mean time
        -04:56:02) and east of it (Tokyo, +09:18:59, whose start is an instant of 1 BC): the
        bounds are local midnights, written with their offsets; the 1 BC deal is in Tokyo's
        month only."""
        for tz, offset, rows in (("America/New_York", "-04:56:02", 0), ("Asia/Tokyo", "+09:18:59", 1)):
            with self.subTest(tz=tz):
                rc, out, err = self.run_range("--from", "0001-01-01", "--to", "0001-02-01", "--tz", tz)
                run_id, paths = self.assert_run_ok(rc, out, err)
                _, records = drtest.read_csv(paths[0])
                self.assertEqual(len(records) - 1, rows)
                for r in records[1:]:
                    self.assertEqual(r[4:6], [f"0001-01-01T00:00:00{offset}", f"0001-02-01T00:00:00{offset}"])
                got = self.db.query("SELECT period_start = %s::timestamp AT TIME ZONE %s,"
                                    " period_end = %s::timestamp AT TIME ZONE %s"
                                    " FROM dyno_crm.report_run WHERE id = %s",
                                    ("0001-01-01", tz, "0001-02-01", tz, run_id))
                self.assertEqual(got, [(True, True)])
                self.assertTrue(os.path.basename(paths[0]).endswith("_00010101T000000_00010201T000000.csv"))


if __name__ == "__main__":
    import unittest
    unittest.main()
