"""The report's numbers: every fact row, in the database and in the CSV, against the
independent computation of reference.py, over tests/fixtures/edge_cases.sql."""
import datetime
import os
import unittest
import uuid

import drtest
import reference
from drtest import (ALICE, BOB, CAROL, DAVE, EAST, ERIN, FRANK, G_T2, HANK, IVY, JACK, LIAM,
                    NOBODY, T1, T2, WEST, ZOE)

FACT_SQL = (
    "SELECT run_id::text, tenant_id::text, principal_type, principal_id::text,"
    " period_start, period_end, deals_created_count::text, deals_closed_won_count::text,"
    " deals_closed_lost_count::text, total_amount_won::text, avg_deal_size_won::text,"
    " avg_time_to_close_days::text, win_rate::text"
    " FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s"
    " ORDER BY principal_type, principal_id")

# dynoreport_report_rows over an array of tenants, as text in the fact and totals columns' types.
ROWS_SQL = (
    "SELECT tenant_id::text, is_total, principal_type, principal_id::text,"
    " deals_created_count::text, deals_closed_won_count::text, deals_closed_lost_count::text,"
    " total_amount_won::numeric(14,2)::text, avg_deal_size_won::numeric(14,2)::text,"
    " avg_time_to_close_days::numeric(10,4)::text, win_rate::numeric(5,4)::text"
    " FROM dyno_crm.dynoreport_report_rows(%s::uuid[], %s, %s, %s)"
    " ORDER BY tenant_id, is_total, principal_type, principal_id")

ZERO_ROW = ["0", "0", "0", "0.00", None, None, None]

# --all-principals scenarios: (test name, tenant, period args, --tz, bounds, file label).
# bounds: ("period", SPEC) or ("range", FROM, TO), computed by reference.py with zoneinfo.
# A file label of None: not asserted (the spec does not fix it for --from/--to).
SCENARIOS = [
    ("march_new_york_dst_begins", T1, ["--period", "2026-03"], "America/New_York",
     ("period", "2026-03"), "2026-03"),
    ("november_new_york_dst_ends", T1, ["--period", "2026-11"], "America/New_York",
     ("period", "2026-11"), "2026-11"),
    ("march_utc", T1, ["--period", "2026-03"], "UTC", ("period", "2026-03"), "2026-03"),
    ("quarter_new_york", T1, ["--period", "2026-Q1"], "America/New_York",
     ("period", "2026-Q1"), "2026-Q1"),
    ("year_utc", T1, ["--period", "2026"], "UTC", ("period", "2026"), "2026"),
    ("dst_day_new_york", T1, ["--period", "2026-03-08"], "America/New_York",
     ("period", "2026-03-08"), "2026-03-08"),
    ("range_with_offsets_berlin", T1,
     ["--from", "2026-03-10T12:00:00+02:00", "--to", "2026-03-20T06:30:00-07:00"], "Europe/Berlin",
     ("range", "2026-03-10T12:00:00+02:00", "2026-03-20T06:30:00-07:00"), None),
    ("range_local_midnights_new_york", T1, ["--from", "2026-03-01", "--to", "2026-03-08"],
     "America/New_York", ("range", "2026-03-01", "2026-03-08"), None),
    ("tenant2_march_new_york", T2, ["--period", "2026-03"], "America/New_York",
     ("period", "2026-03"), "2026-03"),
]


def bounds_of(spec, tz):
    if spec[0] == "period":
        return reference.period_bounds(spec[1], tz)
    return reference.range_bounds(spec[1], spec[2], tz)


class ReportTests(drtest.FixtureTestCase):

    # ---- helpers -------------------------------------------------------------------

    def run_report(self, tenant, period_args, tz, principals=None, extra=(), outdir=None):
        outdir = outdir or self.make_dir()
        args = ["run", "--tenant", tenant, *period_args, "--tz", tz, "--output-dir", outdir]
        if principals is None:
            args.append("--all-principals")
        else:
            for kind, pid in principals:
                args += ["--principal", f"{kind}:{pid}"]
        rc, out, err = drtest.run_tool(args + list(extra), connect=self.db.odbc)
        run_id, paths = self.assert_run_ok(rc, out, err)
        self.assertEqual(sorted(os.listdir(outdir)), [os.path.basename(paths[0])],
                         "exactly the one CSV file, no temp files")
        self.assertEqual(os.path.dirname(paths[0]), outdir)
        return run_id, paths[0]

    def expected(self, run_id, tenant, start, end, principals=None):
        rows = reference.expected_rows(self.conn, run_id, tenant, start, end, principals)
        self.assertTrue(rows, "the scenario must produce rows (else it tests nothing)")
        return rows

    def db_rows(self, run_id):
        with self.conn.cursor() as cur:
            cur.execute(FACT_SQL, (run_id,))
            return [list(r) for r in cur.fetchall()]

    def check_db(self, run_id, expected):
        """All 13 columns of every fact row; timestamps compared as instants."""
        self.assertEqual(self.db_rows(run_id), expected)

    def check_csv(self, path, expected, tz, delimiter=None, bom=False, eol=b"\r\n"):
        got_bom, records = drtest.read_csv(path, delimiter)
        self.assertEqual(got_bom, bom)
        self.assertEqual(records[0], reference.COLUMNS)
        self.assertEqual(records[1:], reference.as_csv_rows(expected, tz))
        with open(path, "rb") as f:
            raw = f.read()
        lines = raw.split(eol)
        self.assertEqual(lines[-1], b"", "the file ends with a line ending")
        self.assertEqual(len(lines) - 1, len(expected) + 1, "one line per record, no blank lines")
        if eol == b"\r\n":
            self.assertNotIn(b"\n", raw.replace(b"\r\n", b""), "a bare LF in a CRLF file")
        else:
            self.assertNotIn(b"\r", raw)
        return raw

    def check_run_row(self, run_id, tenant, start, end, tz):
        with self.conn.cursor() as cur:
            cur.execute("SELECT tenant_id::text, report_type, period_start, period_end, time_zone,"
                        " parameters::text FROM dyno_crm.report_run WHERE id = %s", (run_id,))
            rows = cur.fetchall()
        self.assertEqual([r[:5] for r in rows], [(tenant, "rep_performance", start, end, tz)])
        self.assertNotIn(drtest.pg_password(), rows[0][5])

    # ---- the reference itself, checked by hand on the edge cases -------------------

    def test_reference_hand_checked_march_new_york(self):
        """Pins the edge cases of edge_cases.sql with numbers worked out by hand, so the
        independent computation is itself checked (NY March, all principals)."""
        start, end = reference.period_bounds("2026-03", "America/New_York")
        self.assertEqual(start.isoformat(), "2026-03-01T00:00:00-05:00")
        self.assertEqual(end.isoformat(), "2026-04-01T00:00:00-04:00")
        day_start, day_end = reference.period_bounds("2026-03-08", "America/New_York")
        self.assertEqual(day_end.astimezone(reference.UTC) - day_start.astimezone(reference.UTC),
                         datetime.timedelta(hours=23), "the DST day has 23 hours")
        nov_start, nov_end = reference.period_bounds("2026-11", "America/New_York")
        self.assertEqual((nov_start.isoformat(), nov_end.isoformat()),
                         ("2026-11-01T00:00:00-04:00", "2026-12-01T00:00:00-05:00"))
        deals, stages = reference.load_source(self.conn)
        m = reference.expected_metrics(deals, stages, T1, start, end)
        # owner alice != assignee bob (both count); 10.00 and 10.01 -> 10.005 -> 10.01;
        # days (2.5 + 1.3333..) / 2 = 1.91666.. ; d03 has no stage rows
        self.assertEqual(m[("USER", ALICE)], ["3", "2", "0", "20.01", "10.01", "1.9167", "1.0000"])
        # bob: d01 as assignee only; d52 and d53 (the range test's bounds) open in March
        self.assertEqual(m[("USER", BOB)], ["3", "1", "0", "10.00", "10.00", "2.5000", "1.0000"])
        # carol: only lost deals; one of them as assignee only
        self.assertEqual(m[("USER", CAROL)][:5], ["2", "0", "2", "0.00", None])
        self.assertEqual(m[("USER", CAROL)][6], "0.0000")
        # dave: owner = assignee counted once; zero and NULL won amounts; 2/3
        self.assertEqual(m[("USER", DAVE)], ["3", "2", "1", "0.00", "0.00", "1.2500", "0.6667"])
        self.assertEqual(m[("USER", ERIN)][1:3], ["1", "7"])
        self.assertEqual(m[("USER", ERIN)][6], "0.1250")
        self.assertEqual(m[("USER", FRANK)][6], "0.0313")          # 1/32 = 0.03125
        self.assertEqual(m[("USER", HANK)][5], "-0.0001")          # -0.00005 days
        self.assertEqual(m[("USER", LIAM)][5], "1.5001")           # 1.50005 days
        # ivy: d20 (start, won at once), d25 (last microsecond, lost at the end: open),
        # d26 (UTC end), d30 (03-09 04:00Z), d31 (03-08 05:00Z)
        self.assertEqual(m[("USER", IVY)], ["5", "1", "0", "1.00", "1.00", "0.0000", "1.0000"])
        # jack: d41 won (5 d), d42 lost (1.5 d), d43 won on the tie (1 d), d48 won (4 d);
        # d40, d44, d45, d46, d47, d49 open in March
        self.assertEqual(m[("USER", JACK)], ["10", "3", "1", "540.00", "180.00", "2.8750", "0.7500"])
        # east: d01 once (owner = assignee group), d05 as assignee
        self.assertEqual(m[("GROUP", EAST)], ["2", "1", "1", "10.00", "10.00", "1.7083", "0.5000"])
        self.assertEqual(m[("GROUP", WEST)][0], "9")                # d05 + erin's 8
        self.assertNotIn(("USER", ZOE), m)
        self.assertNotIn(("GROUP", G_T2), m)
        self.assertEqual(len(m), 12, sorted(m))                     # nobody's deal d50: no row
        # T2: alice separate from T1; the T1 stage row of d62 is ignored
        m2 = reference.expected_metrics(deals, stages, T2, start, end)
        self.assertEqual(m2[("USER", ALICE)], ["2", "1", "1", "1000.00", "1000.00", "0.7500", "0.5000"])
        self.assertEqual(m2[("USER", ZOE)], ["2", "0", "1", "0.00", None, "0.5000", "0.0000"])
        self.assertEqual(m2[("GROUP", EAST)], ["1", "0", "0", "0.00", None, None, None])

    # ---- --all-principals over several periods and zones (generated below) ----------

    def check_scenario(self, tenant, period_args, tz, spec, label):
        start, end = bounds_of(spec, tz)
        run_id, path = self.run_report(tenant, period_args, tz)
        if label is not None:
            self.assertEqual(os.path.basename(path), f"rep_performance_{tenant}_{label}.csv")
        else:
            self.assertTrue(os.path.basename(path).startswith(f"rep_performance_{tenant}_"), path)
            self.assertTrue(path.endswith(".csv"), path)
        expected = self.expected(run_id, tenant, start, end)
        self.check_run_row(run_id, tenant, start, end, tz)
        self.check_db(run_id, expected)
        self.check_csv(path, expected, tz)
        keys = [(r[2], r[3]) for r in expected]
        self.assertEqual(len(keys), len(set(keys)), "each principal exactly once")
        for kind, pid in keys:
            self.assertIn(kind, ("USER", "GROUP"))
            self.assertIsNotNone(pid)

    # ---- explicit principals -----------------------------------------------------------

    def test_explicit_principals_with_zero_rows(self):
        """Asked-for principals only; one without deals and one of T2 get a zero row."""
        tz = "America/New_York"
        start, end = reference.period_bounds("2026-03", tz)
        asked = [("USER", ALICE), ("GROUP", EAST), ("USER", NOBODY), ("USER", ZOE), ("GROUP", G_T2),
                 ("USER", HANK)]
        run_id, path = self.run_report(T1, ["--period", "2026-03"], tz, principals=asked)
        expected = self.expected(run_id, T1, start, end, asked)
        self.assertEqual(len(expected), len(asked))
        by_key = {(r[2], r[3]): r[6:] for r in expected}
        for key in (("USER", NOBODY), ("USER", ZOE), ("GROUP", G_T2)):
            self.assertEqual(by_key[key], ZERO_ROW, key)
        self.check_db(run_id, expected)
        self.check_csv(path, expected, tz)
        _, records = drtest.read_csv(path)
        self.assertIn([run_id, T1, "USER", NOBODY, "2026-03-01T00:00:00-05:00",
                       "2026-04-01T00:00:00-04:00", "0", "0", "0", "0.00", "", "", ""], records)

    def test_explicit_principals_comma_list_and_duplicates(self):
        """--principal A,B plus A again: one row per principal."""
        tz = "UTC"
        start, end = reference.period_bounds("2026-03", tz)
        rc, out, err = drtest.run_tool(
            ["run", "--tenant", T1, "--period", "2026-03", "--tz", tz,
             "--principal", f"USER:{DAVE},GROUP:{WEST}", "--principal", f"USER:{DAVE}",
             "--output-dir", (outdir := self.make_dir())], connect=self.db.odbc)
        run_id, paths = self.assert_run_ok(rc, out, err)
        expected = self.expected(run_id, T1, start, end, [("USER", DAVE), ("GROUP", WEST)])
        self.assertEqual(len(expected), 2)
        self.check_db(run_id, expected)
        self.check_csv(paths[0], expected, tz)
        self.assertEqual(os.listdir(outdir), [os.path.basename(paths[0])])

    def test_same_principal_id_in_other_tenant(self):
        """alice asked in T2 counts T2's deals only (and T1's alice row is different)."""
        tz = "America/New_York"
        start, end = reference.period_bounds("2026-03", tz)
        asked = [("USER", ALICE), ("GROUP", EAST), ("USER", CAROL)]
        run_id, path = self.run_report(T2, ["--period", "2026-03"], tz, principals=asked)
        expected = self.expected(run_id, T2, start, end, asked)
        self.assertEqual([r[6:] for r in expected],
                         [["1", "0", "0", "0.00", None, None, None],
                          ["2", "1", "1", "1000.00", "1000.00", "0.7500", "0.5000"],
                          ZERO_ROW])
        self.check_db(run_id, expected)
        self.check_csv(path, expected, tz)

    def batch_rows(self, tenants, start, end, principals=None):
        """dynoreport_report_rows over @tenants (a job's batch): facts {tenant: rows} and totals
        {tenant: {type: values}}, as text in the fact and totals columns' types."""
        with self.conn.cursor() as cur:
            cur.execute(ROWS_SQL, (tenants, start, end, principals))
            got = cur.fetchall()
        self.conn.rollback()
        facts, totals = {}, {}
        for tenant, is_total, kind, pid, *values in got:
            if is_total:
                totals.setdefault(tenant, {})[kind] = values
            else:
                facts.setdefault(tenant, []).append([kind, pid, *values])
        return facts, totals

    def test_a_batch_of_tenants_gives_each_tenant_its_own_numbers(self):
        """The report query over several tenants at once (what a job's batch calls) gives each
        tenant the fact rows and totals of the reference for that tenant alone, and the same
        as a call for that tenant alone: a stage row carrying another tenant's id counts for
        no deal even when that other tenant is in the batch; the same principal id in two
        tenants stays apart."""
        tz = "America/New_York"
        start, end = reference.period_bounds("2026-03", tz)
        deals, stage_rows = reference.load_source(self.conn)
        facts, totals = self.batch_rows([T1, T2], start, end)
        self.assertEqual(sorted(facts), sorted([T1, T2]))
        for tenant in (T1, T2):
            expected = [r[2:4] + r[6:] for r in reference.expected_rows(self.conn, None, tenant, start, end)]
            self.assertTrue(expected)
            self.assertEqual(sorted(facts[tenant]), sorted(expected), tenant)
            self.assertEqual(totals[tenant], reference.expected_totals(deals, stage_rows, tenant, start, end),
                             tenant)
            alone_facts, alone_totals = self.batch_rows([tenant], start, end)
            self.assertEqual((alone_facts[tenant], alone_totals[tenant]), (facts[tenant], totals[tenant]))
        # explicit principals: each of them for each tenant of the batch, zeros where it has no deals
        asked = [("USER", ALICE), ("GROUP", EAST)]
        facts, totals = self.batch_rows([T1, T2], start, end, ",".join(f"{k}:{p}" for k, p in asked))
        for tenant in (T1, T2):
            expected = [r[2:4] + r[6:] for r in reference.expected_rows(self.conn, None, tenant, start, end, asked)]
            self.assertEqual(sorted(facts[tenant]), sorted(expected), tenant)
            self.assertEqual(totals[tenant],
                             reference.expected_totals(deals, stage_rows, tenant, start, end, asked), tenant)

    def test_totals_take_each_deal_once_for_any_principal_list(self):
        """The totals are added up from the per-slot rows (schema 9): a deal counts through its
        owner when the owner is asked for, else through its assignee. For every owner and
        assignee pair on a deal of the fixture (users and teams), the owner alone, the
        assignee alone, both, and both with a principal the tenant does not have: the totals
        (and the rows) equal the reference, which takes each deal once by its principals."""
        tz = "UTC"
        start, end = reference.period_bounds("2026-03", tz)
        deals, stage_rows = reference.load_source(self.conn)
        lists = set()
        for d in deals:
            if d["tenant"] != T1:
                continue
            for kind, owner, assignee in (("USER", d["owner_user"], d["assignee_user"]),
                                          ("GROUP", d["owner_group"], d["assignee_group"])):
                pair = [(kind, p) for p in (owner, assignee) if p is not None]
                for chosen in (pair[:1], pair[1:], pair, pair + [("USER", str(uuid.UUID(int=7)))]):
                    if chosen:
                        lists.add(tuple(sorted(set(chosen))))
        self.assertGreater(len(lists), 5, "the fixture has too few owner/assignee pairs")
        for asked in sorted(lists):
            text = ",".join(f"{k}:{p}" for k, p in asked)
            facts, totals = self.batch_rows([T1], start, end, text)
            expected = [r[2:4] + r[6:] for r in reference.expected_rows(self.conn, None, T1, start, end,
                                                                         list(asked))]
            self.assertEqual(sorted(facts[T1]), sorted(expected), text)
            self.assertEqual(totals[T1], reference.expected_totals(deals, stage_rows, T1, start, end,
                                                                   list(asked)), text)

    def parallel_session(self):
        """An autocommit superuser session on the fixture database (LOAD needs one) in which
        starting parallel workers is free (parallel_setup_cost = 0), up to two per Gather:
        the small fixture then takes the report query's parallel plan."""
        conn = drtest.psycopg2.connect(drtest.superuser_dsn(dbname=self.db.name))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET parallel_setup_cost = 0")
            cur.execute("SET max_parallel_workers_per_gather = 2")
        return conn

    def test_the_parallel_plan_gives_the_serial_rows(self):
        """Schema 10 lets the two halves of the report query (the created deals' counts and the
        closed metrics) run at once in parallel workers: a Parallel Append under one Gather.
        On this small fixture the planner takes that plan when starting workers is free
        (parallel_setup_cost = 0, in a superuser session that also loads auto_explain to see
        the plan); its rows, for each tenant alone, all principals and a principal list, are
        the rows of the same call with parallel workers off. Fails when something in the
        halves keeps them out of a parallel plan (a CTE read, a LIMIT/OFFSET subquery). A
        batch of both tenants (a job's) takes no workers, and gives the same rows too. Since
        schema 11 one tenant's call launches one worker of the two planned: the leader runs
        the other half."""
        start, end = reference.period_bounds("2026-03", "America/New_York")
        conn = self.parallel_session()
        try:
            with conn.cursor() as cur:
                cur.execute("LOAD 'auto_explain'")
                for setting in ("auto_explain.log_min_duration = 0", "auto_explain.log_nested_statements = on",
                                "auto_explain.log_analyze = on", "auto_explain.log_level = notice",
                                "client_min_messages = notice"):
                    cur.execute("SET " + setting)
                for tenants in ([T1], [T2], [T1, T2]):
                    for principals in (None, f"USER:{ALICE},GROUP:{EAST},USER:{BOB}"):
                        case = (tenants, principals)
                        cur.execute("BEGIN")
                        del conn.notices[:]
                        cur.execute(ROWS_SQL, (tenants, start, end, principals))
                        parallel = cur.fetchall()
                        plans = "".join(conn.notices)
                        cur.execute("COMMIT")
                        if len(tenants) == 1:
                            self.assertIn("Parallel Append", plans, case)
                            self.assertIn("Workers Planned: 2", plans, case)
                            self.assertIn("Workers Launched: 1", plans, case)  # schema 11
                        else:
                            self.assertIn("HashAggregate", plans, case)
                            self.assertNotIn("Parallel", plans, case)
                        cur.execute("SET max_parallel_workers_per_gather = 0")
                        del conn.notices[:]
                        cur.execute(ROWS_SQL, (tenants, start, end, principals))
                        serial = cur.fetchall()
                        self.assertIn("HashAggregate", "".join(conn.notices), case)
                        self.assertNotIn("Parallel", "".join(conn.notices), case)
                        cur.execute("SET max_parallel_workers_per_gather = 2")
                        self.assertGreater(len(serial), 3, case)
                        self.assertEqual(parallel, serial, case)
        finally:
            conn.close()

    def test_one_tenant_lowers_the_worker_limit_and_never_raises_it(self):
        """Schema 11: a call for one tenant lowers max_parallel_workers to 1 for the rest of
        its transaction (the leader runs one half, one worker the other), never raises a
        lower value (0: no worker at all, the halves in turn), and leaves the limit alone
        when the leader takes no part in parallel plans (parallel_leader_participation
        off: then both halves need a worker). After the transaction the session's own value
        is back."""
        start, end = reference.period_bounds("2026-03", "America/New_York")
        conn = self.parallel_session()
        try:
            with conn.cursor() as cur:
                for session, leader, during in (("8", "on", "1"), ("0", "on", "0"), ("1", "on", "1"),
                                                ("8", "off", "8")):
                    case = (session, leader)
                    cur.execute("SET max_parallel_workers = " + session)
                    cur.execute("SET parallel_leader_participation = " + leader)
                    cur.execute("BEGIN")
                    cur.execute(ROWS_SQL, ([T1], start, end, None))
                    rows = cur.fetchall()
                    cur.execute("SHOW max_parallel_workers")
                    self.assertEqual(cur.fetchone()[0], during, case)
                    cur.execute("COMMIT")
                    cur.execute("SHOW max_parallel_workers")
                    self.assertEqual(cur.fetchone()[0], session, case)
                    self.assertGreater(len(rows), 3, case)
                # a batch (two tenants) leaves max_parallel_workers alone: it takes no workers
                cur.execute("SET max_parallel_workers = 8")
                cur.execute("SET parallel_leader_participation = on")
                cur.execute("BEGIN")
                cur.execute(ROWS_SQL, ([T1, T2], start, end, None))
                cur.fetchall()
                cur.execute("SHOW max_parallel_workers")
                self.assertEqual(cur.fetchone()[0], "8")
                cur.execute("SHOW max_parallel_workers_per_gather")
                self.assertEqual(cur.fetchone()[0], "0")
                cur.execute("COMMIT")
        finally:
            conn.close()

    # ---- persistence and export -------------------------------------------------------

    def test_no_persist_writes_file_but_no_run(self):
        tz = "America/New_York"
        start, end = reference.period_bounds("2026-03", tz)
        saved = drtest.report_rows(self.db)
        run_id, path = self.run_report(T1, ["--period", "2026-03"], tz, extra=["--no-persist"])
        # not one row in any report table: no run, no comparison run, no fact, name, total or view
        self.assert_nothing_saved(self.db, saved)
        with self.conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM dyno_crm.report_run WHERE id = %s", (run_id,))
            self.assertEqual(cur.fetchone()[0], 0)
        self.check_csv(path, self.expected(run_id, T1, start, end), tz)

    def test_export_rewrites_identical_csv(self):
        tz = "America/New_York"
        run_id, path = self.run_report(T1, ["--period", "2026-11"], tz)
        with open(path, "rb") as f:
            original = f.read()
        outdir = self.make_dir()
        saved = drtest.report_rows(self.db)
        rc, out, err = drtest.run_tool(["export", "--run-id", run_id, "--output-dir", outdir],
                                       connect=self.db.odbc)
        export_id, paths = self.assert_run_ok(rc, out, err)
        self.assertEqual(export_id, run_id)
        self.assertEqual(paths, [os.path.join(outdir, os.path.basename(path))])
        with open(paths[0], "rb") as f:
            self.assertEqual(f.read(), original)
        self.assertEqual(os.listdir(outdir), [os.path.basename(path)])
        self.assertEqual(drtest.report_rows(self.db), saved, "export must not add (or remove) rows")

    def test_export_of_a_run_with_hundreds_of_principals(self):
        # the saved principals list (12 KB here) is longer than one fetched cell may be;
        # export must still rebuild the JSON, whose head carries that list, byte for byte
        asked = [("USER", ALICE)] + [("USER", str(uuid.UUID(int=i + 1))) for i in range(299)]
        outdir = self.make_dir()
        run_id, path = self.run_report(T1, ["--period", "2026-03"], "UTC", principals=asked,
                                       extra=["--format", "json"], outdir=outdir)
        with open(path, "rb") as f:
            original = f.read()
        self.assertIn(f"USER:{ALICE},USER:00000000-0000-0000-0000-000000000001".encode(), original)
        again = self.make_dir()
        rc, out, err = drtest.run_tool(["export", "--run-id", run_id, "--format", "json",
                                        "--output-dir", again], connect=self.db.odbc)
        _, paths = self.assert_run_ok(rc, out, err)
        with open(paths[0], "rb") as f:
            self.assertEqual(f.read(), original)

    def test_export_unknown_run_id(self):
        outdir = self.make_dir()
        unknown = str(uuid.uuid4())
        saved = drtest.report_rows(self.db)
        rc, out, err = drtest.run_tool(["export", "--run-id", unknown, "--output-dir", outdir],
                                       connect=self.db.odbc)
        self.assertEqual(rc, 65, err)
        self.assertIn(unknown, err)
        self.assertEqual(out, "")
        self.assert_dir_empty(outdir)
        self.assert_nothing_saved(self.db, saved)

    # ---- CSV options -------------------------------------------------------------------

    def test_csv_options_semicolon_bom_lf(self):
        tz = "America/New_York"
        start, end = reference.period_bounds("2026-03", tz)
        run_id, path = self.run_report(
            T1, ["--period", "2026-03"], tz,
            extra=["--opt", "csv.delimiter=semicolon", "--opt", "csv.bom=true",
                   "--opt", "csv.line_ending=lf"])
        expected = self.expected(run_id, T1, start, end)
        raw = self.check_csv(path, expected, tz, delimiter=";", bom=True, eol=b"\n")
        self.assertTrue(raw.startswith(b"\xef\xbb\xbfrun_id;tenant_id;principal_type;"), raw[:40])
        self.assertNotIn(b",", raw, "comma delimiter used despite csv.delimiter=semicolon")
        self.check_db(run_id, expected)

    def test_formula_escape_not_applied_to_numbers(self):
        """hank's avg_time_to_close_days is -0.0001: a number starting with '-' stays as is,
        with the escaping on by default and when asked for explicitly."""
        tz = "America/New_York"
        start, end = reference.period_bounds("2026-03", tz)
        for extra in ([], ["--opt", "csv.formula_escape=true"]):
            with self.subTest(extra=extra):
                run_id, path = self.run_report(T1, ["--period", "2026-03"], tz,
                                               principals=[("USER", HANK)], extra=extra)
                expected = self.expected(run_id, T1, start, end, [("USER", HANK)])
                self.assertEqual(expected[0][6:], ["1", "1", "0", "5.55", "5.55", "-0.0001", "1.0000"])
                raw = self.check_csv(path, expected, tz)
                self.assertIn(b",5.55,5.55,-0.0001,1.0000\r\n", raw)
                self.assertNotIn(b"'", raw)


def _make_scenario_test(tenant, period_args, tz, spec, label):
    def test(self):
        self.check_scenario(tenant, period_args, tz, spec, label)
    test.__doc__ = f"--all-principals, {' '.join(period_args)} --tz {tz}, tenant {tenant[:8]}"
    return test


for _name, _tenant, _args, _tz, _spec, _label in SCENARIOS:
    setattr(ReportTests, f"test_all_principals_{_name}",
            _make_scenario_test(_tenant, _args, _tz, _spec, _label))


if __name__ == "__main__":
    unittest.main()
