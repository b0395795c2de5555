"""The manager's view of a run (issue 11): names from the configured [names] queries, the
honest totals (each deal once), the comparison period (a run of its own), the period in
words and the currency, all stored with the run; and the XLSX "Report" sheet of a real run.

The real binary against a real PostgreSQL through ODBC, on the edge cases of
tests/fixtures/edge_cases.sql plus tenant T3 of tests/fixtures/manager_view.sql (deals
from September 2025 to 2027, so that every period kind and its previous and year-ago
periods have rows) and the CRM directory of tests/fixtures/names_directory.sql, queried
by tests/fixtures/names/{principals,tenant}.sql. Every expected number comes from
reference.py (per deal, in Python, periods from zoneinfo); the names from the directory
tables read directly.
"""
import datetime as dt
import json
import os
import unittest

import openpyxl

import drtest
import reference
from drtest import ALICE, BOB, CAROL, EAST, JACK, NOBODY, T1, T2, WEST

T3 = "33333333-3333-4333-8333-333333333333"
JUERGEN = "3a000000-0000-4000-8000-000000000001"   # Jürgen Müller
AMELIE = "3a000000-0000-4000-8000-000000000002"    # Amélie Dubois
OLIVER = "3a000000-0000-4000-8000-000000000003"    # Oliver Smith
HANNAH = "3a000000-0000-4000-8000-000000000004"    # new in October 2026
FRANCOIS = "3a000000-0000-4000-8000-000000000005"  # gone in October 2026
GRETA = "3a000000-0000-4000-8000-000000000007"     # named, no deals
NAMELESS = "6a6b6c6d-0000-4000-8000-000000000006"  # no directory row
EMPTY = "8a8b8c8d-0000-4000-8000-000000000008"     # directory name ''
NORD = "3b000000-0000-4000-8000-000000000001"      # Vertrieb Nord
PARIS = "3b000000-0000-4000-8000-000000000002"     # Équipe Paris
NULLTEAM = "c3c3c3c3-0000-4000-8000-000000000003"  # directory name NULL
IDLETEAM = "3b000000-0000-4000-8000-000000000004"  # named, no deals
T3_NAME = "Müller & Söhne GmbH"

MANAGER_VIEW = os.path.join(drtest.FIXTURES, "manager_view.sql")
NAMES_DIRECTORY = os.path.join(drtest.FIXTURES, "names_directory.sql")
PRINCIPALS_SQL = os.path.join(drtest.FIXTURES, "names", "principals.sql")
TENANT_SQL = os.path.join(drtest.FIXTURES, "names", "tenant.sql")

NAME_COLUMNS = reference.COLUMNS + ["principal_name", "tenant_name"]

FACT_SQL = (
    "SELECT principal_type, principal_id::text, deals_created_count::text, deals_closed_won_count::text,"
    " deals_closed_lost_count::text, total_amount_won::text, avg_deal_size_won::text,"
    " avg_time_to_close_days::text, win_rate::text, tenant_id::text, period_start, period_end"
    " FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s ORDER BY principal_type, principal_id")

TOTAL_SQL = (
    "SELECT principal_type, deals_created_count::text, deals_closed_won_count::text,"
    " deals_closed_lost_count::text, total_amount_won::text, avg_deal_size_won::text,"
    " avg_time_to_close_days::text, win_rate::text, tenant_id::text"
    " FROM dyno_crm.report_run_total WHERE run_id = %s ORDER BY principal_type")

VIEW_TABLES = ("report_run_view", "report_run_principal_name", "report_run_total")

# The comparison scenarios of tenant T3: (name, period arguments, --tz, bounds spec).
# Bounds spec: ("period", SPEC) or ("range", FROM, TO), computed by reference.py.
COMPARE_SCENARIOS = [
    ("month_utc", ["--period", "2026-10"], "UTC", ("period", "2026-10")),
    # October in Berlin has a DST change, and so has October 2025 (year-ago)
    ("month_berlin", ["--period", "2026-10"], "Europe/Berlin", ("period", "2026-10")),
    ("quarter_utc", ["--period", "2026-Q4"], "UTC", ("period", "2026-Q4")),
    ("week_utc", ["--period", "2026-W41"], "UTC", ("period", "2026-W41")),
    # W43 2026 holds the end of DST in Berlin (a 169-hour week); W43 2025 does too
    ("week_berlin_dst", ["--period", "2026-W43"], "Europe/Berlin", ("period", "2026-W43")),
    ("day_utc", ["--period", "2026-10-05"], "UTC", ("period", "2026-10-05")),
    ("year_utc", ["--period", "2026"], "UTC", ("period", "2026")),
    ("range_utc", ["--from", "2026-10-01", "--to", "2026-10-15"], "UTC",
     ("range", "2026-10-01", "2026-10-15")),
    ("range_with_times_utc", ["--from", "2026-10-01T08:30", "--to", "2026-10-15T18:00"], "UTC",
     ("range", "2026-10-01T08:30", "2026-10-15T18:00")),
    # no DST change between 17 September and 15 October: both readings of "its own
    # length" (elapsed or wall-clock) agree
    ("range_berlin", ["--from", "2026-10-01", "--to", "2026-10-15"], "Europe/Berlin",
     ("range", "2026-10-01", "2026-10-15")),
]


def bounds_of(spec, tz):
    if spec[0] == "period":
        return reference.period_bounds(spec[1], tz)
    return reference.range_bounds(spec[1], spec[2], tz)


def comparison_of(spec, tz, mode):
    """(start, end, label, title) of the comparison period, or None for 'none'."""
    if spec[0] == "period":
        other = reference.compare_spec(spec[1], mode)
        if other is None:
            return None
        start, end = reference.period_bounds(other, tz)
        return start, end, other, reference.period_title(other)
    start, end = bounds_of(spec, tz)
    cmp = reference.range_comparison_bounds(start, end, tz, mode)
    if cmp is None:
        return None
    return cmp[0], cmp[1], reference.range_label(*cmp, tz), reference.range_title(*cmp, tz)


def title_of(spec, tz):
    if spec[0] == "period":
        return reference.period_title(spec[1])
    return reference.range_title(*bounds_of(spec, tz), tz)


class ReferenceOfTheViewTests(unittest.TestCase):
    """The reference's comparison periods, titles and fallbacks, checked by hand (no
    database, no tool): the tests below trust them."""

    def test_comparison_bounds_by_hand(self):
        cases = [
            # spec, tz, mode, start, end
            ("2026-10", "Europe/Berlin", "previous", "2026-09-01T00:00:00+02:00", "2026-10-01T00:00:00+02:00"),
            ("2026-10", "Europe/Berlin", "year-ago", "2025-10-01T00:00:00+02:00", "2025-11-01T00:00:00+01:00"),
            ("2026-01", "UTC", "previous", "2025-12-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
            ("2026-Q1", "UTC", "previous", "2025-10-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
            ("2026-Q4", "UTC", "previous", "2026-07-01T00:00:00+00:00", "2026-10-01T00:00:00+00:00"),
            ("2026-Q4", "UTC", "year-ago", "2025-10-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
            ("2026-W41", "Europe/Berlin", "previous", "2026-09-28T00:00:00+02:00", "2026-10-05T00:00:00+02:00"),
            ("2026-W41", "Europe/Berlin", "year-ago", "2025-10-06T00:00:00+02:00", "2025-10-13T00:00:00+02:00"),
            ("2026-W01", "UTC", "previous", "2025-12-22T00:00:00+00:00", "2025-12-29T00:00:00+00:00"),
            ("2026-W53", "UTC", "year-ago", "2025-12-29T00:00:00+00:00", "2026-01-05T00:00:00+00:00"),
            ("2026-10-05", "UTC", "previous", "2026-10-04T00:00:00+00:00", "2026-10-05T00:00:00+00:00"),
            ("2026-10-05", "UTC", "year-ago", "2025-10-05T00:00:00+00:00", "2025-10-06T00:00:00+00:00"),
            ("2026-03-09", "America/New_York", "previous", "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"),
            ("2024-02-29", "UTC", "year-ago", "2023-02-28T00:00:00+00:00", "2023-03-01T00:00:00+00:00"),
            ("2026", "UTC", "previous", "2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
            ("2026", "UTC", "year-ago", "2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        ]
        for spec, tz, mode, start, end in cases:
            with self.subTest(spec=spec, tz=tz, mode=mode):
                s, e = reference.comparison_bounds(spec, tz, mode)
                self.assertEqual((s.isoformat(), e.isoformat()), (start, end))
                self.assertIsNone(reference.comparison_bounds(spec, tz, "none"))
        ranges = [
            ("2026-10-01", "2026-10-15", "UTC", "previous", "2026-09-17T00:00:00+00:00", "2026-10-01T00:00:00+00:00"),
            ("2026-10-01", "2026-10-15", "UTC", "year-ago", "2025-10-01T00:00:00+00:00", "2025-10-15T00:00:00+00:00"),
            ("2026-10-01T08:30", "2026-10-15T18:00", "UTC", "previous",
             "2026-09-16T23:00:00+00:00", "2026-10-01T08:30:00+00:00"),
            ("2024-02-29", "2024-03-10", "UTC", "year-ago", "2023-02-28T00:00:00+00:00", "2023-03-10T00:00:00+00:00"),
        ]
        for a, b, tz, mode, start, end in ranges:
            with self.subTest(range=(a, b), mode=mode):
                s, e = reference.range_comparison_bounds(*reference.range_bounds(a, b, tz), tz, mode)
                self.assertEqual((s.isoformat(), e.isoformat()), (start, end))

    def test_titles_by_hand(self):
        self.assertEqual([reference.period_title(s) for s in
                          ("2026-10", "2026-Q3", "2026-W41", "2026-W01", "2026-10-05", "2026")],
                         ["October 2026", "Q3 2026", "Week 41, 2026", "Week 1, 2026", "5 Oct 2026", "2026"])
        tz = "America/New_York"
        self.assertEqual(reference.range_title(*reference.range_bounds("2026-10-01", "2026-10-16", tz), tz),
                         "1 Oct 2026 \u2013 15 Oct 2026")
        # an offset given: the bounds in words are wall-clock in the report's zone
        self.assertEqual(reference.range_title(*reference.range_bounds(
            "2026-10-01", "2026-10-15T12:00+02:00", tz), tz), "1 Oct 2026 00:00 \u2013 15 Oct 2026 06:00")
        self.assertEqual(reference.range_label(*reference.range_bounds(
            "2026-10-01", "2026-10-15T12:00+02:00", tz), tz), "20261001T000000_20261015T060000")

    def test_fallback_names(self):
        self.assertEqual(reference.fallback_name("USER", "1A2B3C4D-0000-4000-8000-000000000000"), "[user 1a2b3c4d]")
        self.assertEqual(reference.fallback_name("GROUP", NULLTEAM), "[team c3c3c3c3]")
        self.assertEqual(reference.tenant_fallback(T1), "[tenant 11111111]")


class ManagerViewTests(drtest.FixtureTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db.execute_file(MANAGER_VIEW)
        cls.db.execute_file(NAMES_DIRECTORY)
        cls.deals, cls.stages = reference.load_source(cls.conn)

    # ---- helpers -----------------------------------------------------------------------

    def write_config(self, body):
        path = os.path.join(self.make_dir(), "dynoreport.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(body)
        return path

    def names_config(self, principals=PRINCIPALS_SQL, tenant=TENANT_SQL, extra=""):
        """A configuration with the [names] queries (and `extra`, e.g. a [defaults])."""
        return self.write_config(f"[names]\nprincipals = {principals}\ntenant = {tenant}\n\n{extra}")

    def write_query(self, text, name="query.sql"):
        path = os.path.join(self.make_dir(), name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def tool(self, args, config=None):
        pre = [] if config is None else ["--config", config]
        return drtest.run_tool(pre + list(args), connect=self.db.odbc)

    def run_report(self, tenant=T3, period_args=("--period", "2026-10"), tz="UTC", principals=None,
                   compare=None, config=None, formats=None, opts=(), extra=(), outdir=None):
        """A successful run; returns (run_id, {extension: path})."""
        outdir = outdir or self.make_dir()
        args = ["run", "--tenant", tenant, *period_args, "--tz", tz, "--output-dir", outdir]
        if principals is None:
            args.append("--all-principals")
        else:
            for kind, pid in principals:
                args += ["--principal", f"{kind}:{pid}"]
        if compare is not None:
            args += ["--compare", compare]
        if formats is not None:
            args += ["--format", formats]
        for opt in opts:
            args += ["--opt", opt]
        rc, out, err = self.tool(args + list(extra), config)
        nfiles = len(formats.split(",")) if formats else 1
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=nfiles)
        return run_id, {os.path.splitext(p)[1][1:]: p for p in paths}

    def q(self, sql, args=None):
        return self.db.query(sql, args)

    def comparison_run(self, run_id):
        """The report_run row whose comparison_for is run_id, as a dict, or None."""
        rows = self.q("SELECT id::text, tenant_id::text, report_type, period_start, period_end, period_label,"
                      " time_zone FROM dyno_crm.report_run WHERE comparison_for = %s", (run_id,))
        self.assertLessEqual(len(rows), 1, "more than one comparison run")
        if not rows:
            return None
        return dict(zip(("id", "tenant", "report_type", "start", "end", "label", "tz"), rows[0]))

    def facts(self, run_id):
        return {(r[0], r[1]): list(r[2:9]) for r in self.q(FACT_SQL, (run_id,))}

    def fact_rows(self, run_id):
        return self.q(FACT_SQL, (run_id,))

    def totals(self, run_id, tenant):
        rows = self.q(TOTAL_SQL, (run_id,))
        for r in rows:
            self.assertEqual(r[8], tenant, "report_run_total.tenant_id")
        return {r[0]: list(r[1:8]) for r in rows}

    def stored_names(self, run_id):
        return {(k, i): n for k, i, n in self.q(
            "SELECT principal_type, principal_id::text, name FROM dyno_crm.report_run_principal_name"
            " WHERE run_id = %s", (run_id,))}

    def view(self, run_id):
        rows = self.q("SELECT tenant_id::text, tenant_name, period_title, compare, compare_title, currency"
                      " FROM dyno_crm.report_run_view WHERE run_id = %s", (run_id,))
        self.assertEqual(len(rows), 1, f"report_run_view rows of {run_id}: {rows}")
        return dict(zip(("tenant", "tenant_name", "period_title", "compare", "compare_title", "currency"), rows[0]))

    def directory(self, tenant):
        """The directory's names of a tenant, read directly: {(type, id): name or None}."""
        return {(k, i): n for k, i, n in self.q(
            "SELECT 'USER', person_id::text, full_name FROM mv_directory.person WHERE tenant_id = %s"
            " UNION ALL SELECT 'GROUP', team_id::text, label FROM mv_directory.team WHERE tenant_id = %s",
            (tenant, tenant))}

    @staticmethod
    def shown(directory, key):
        """The name a principal shows: its directory name, or the fallback without one."""
        name = directory.get(key)
        return name if name else reference.fallback_name(*key)

    def expected(self, tenant, start, end, principals=None):
        return reference.expected_metrics(self.deals, self.stages, tenant, start, end, principals)

    def expected_totals(self, tenant, start, end, principals=None):
        return reference.expected_totals(self.deals, self.stages, tenant, start, end, principals)

    def counts(self):
        """Rows of report_run, the fact table and every table of the view."""
        out = {"report_run": drtest.count_runs(self.db), "facts": drtest.count_facts(self.db)}
        for table in VIEW_TABLES:
            out[table] = self.q(f"SELECT count(*) FROM dyno_crm.{table}")[0][0]
        return out

    def csv_with_names(self, path):
        _, records = drtest.read_csv(path)
        self.assertEqual(records[0], NAME_COLUMNS)
        return records[1:]

    def assert_names_stored(self, run_id, tenant, keys):
        """report_run_principal_name holds a name for principals of the run or its comparison
        only (keys), each the directory's name; a principal without a name may be absent
        or stored with its fallback, never with an empty name."""
        directory = self.directory(tenant)
        stored = self.stored_names(run_id)
        self.assertLessEqual(set(stored), set(keys), "names stored for principals outside the run")
        for key in keys:
            if directory.get(key):
                self.assertEqual(stored.get(key), directory[key], key)
            elif key in stored:
                self.assertEqual(stored[key], reference.fallback_name(*key), key)
        for rows in self.q("SELECT tenant_id::text FROM dyno_crm.report_run_principal_name WHERE run_id = %s",
                           (run_id,)):
            self.assertEqual(rows[0], tenant)

    # ---- the reference on the edge cases, by hand ----------------------------------------

    def test_reference_totals_hand_checked_edge_cases(self):
        """T1, March in New York: 67 deals have a user, 68 user rows' created counts (d01 is
        alice's and bob's); 10 deals have a group, 11 group rows (d05 is west's and east's)."""
        start, end = reference.period_bounds("2026-03", "America/New_York")
        totals = self.expected_totals(T1, start, end)
        # won: d01 d02 d06 d07 d09 d20 d41 d43 d48 erin#1 frank#1; lost: d04 d05 d08 d0a d42,
        # erin 7, frank 31; amount 10 + 10.01 + 0 + 0 + 5.55 + 1 + 200 + 300 + 40 + 101 + 50
        self.assertEqual(totals["USER"][:5], ["67", "11", "43", "717.56", "65.23"])
        self.assertEqual(totals["USER"][6], "0.2037")              # 11 / 54
        # d01 won (10.00), d05 lost, erin's 8 (one won, 101.00)
        self.assertEqual(totals["GROUP"][:5], ["10", "2", "8", "111.00", "55.50"])
        self.assertEqual(totals["GROUP"][6], "0.2000")
        rows = self.expected(T1, start, end)
        self.assertEqual(reference.sum_of_rows(rows, "USER")[:2], (68, 12))
        self.assertEqual(reference.sum_of_rows(rows, "GROUP")[0], 11)
        # an explicit list: only the listed principals' deals, each once
        listed = self.expected_totals(T1, start, end, [("USER", ALICE), ("USER", BOB), ("GROUP", WEST)])
        self.assertEqual(listed["USER"][:4], ["5", "2", "0", "20.01"])  # d01 d02 d03 d52 d53
        self.assertEqual(listed["GROUP"][:4], ["9", "1", "8", "101.00"])  # d05, erin's 8
        self.assertEqual(self.expected_totals(T1, start, end, [("USER", NOBODY)]),
                         {"USER": ["0", "0", "0", "0.00", None, None, None]})

    # ---- which read-back ---------------------------------------------------------------

    def test_view_read_only_for_outputs_that_need_it(self):
        """ABI 1.3 (wants_view): csv and json ask for the report view for their names only,
        so a run whose outputs take no names reads the fact rows alone (the view's statement
        and its joins are not run), one with csv.names=true or an xlsx reads the view; the
        csv without names is the same file either way."""
        cases = (("csv", (), "the fact rows"), ("csv,json", (), "the fact rows"),
                 ("csv", ("csv.names=true",), "the report view"),
                 ("json", ("json.names=true",), "the report view"),
                 ("csv,xlsx", (), "the report view"))
        csv_files = {}
        for formats, opts, source in cases:
            with self.subTest(formats=formats, opts=opts):
                outdir = self.make_dir()
                args = ["-v", "run", "--tenant", T3, "--period", "2026-10", "--tz", "UTC",
                        "--all-principals", "--output-dir", outdir, "--format", formats]
                for opt in opts:
                    args += ["--opt", opt]
                rc, out, err = self.tool(args)
                self.assertEqual(rc, 0, err)
                self.assertRegex(err, r"read back: [0-9.]+ ms \([0-9]+ rows, from " + source + ";", err)
                if not opts and "csv" in formats.split(","):
                    path = [p for p in out.split("\n") if p.endswith(".csv")][0]
                    with open(path, encoding="utf-8") as f:
                        csv_files[formats] = [line.split(",", 1)[1] for line in f]  # without the run id
        self.assertEqual(csv_files["csv"], csv_files["csv,xlsx"])

    # ---- names ---------------------------------------------------------------------------

    def test_names_from_configured_queries(self):
        """Names as the queries give them (mixed-case types, upper-case text ids), non-ASCII
        intact; the fallback for a principal without a directory row, with a NULL name and
        with an empty name; names stored for the run's and the comparison's principals
        only (François is only in September), never another tenant's."""
        cfg = self.names_config()
        run_id, paths = self.run_report(config=cfg, formats="csv,json", compare="previous",
                                        opts=["csv.names=true", "json.names=true"])
        start, end = reference.period_bounds("2026-10", "UTC")
        expected = self.expected(T3, start, end)
        cmp = self.comparison_run(run_id)
        self.assertIsNotNone(cmp)
        cexpected = self.expected(T3, cmp["start"], cmp["end"])
        for key in (("USER", NAMELESS), ("USER", EMPTY), ("GROUP", NULLTEAM), ("USER", HANNAH),
                    ("USER", JUERGEN), ("GROUP", PARIS)):
            self.assertIn(key, expected, "the fixture must put these principals in October")
        self.assertIn(("USER", FRANCOIS), cexpected)
        self.assertNotIn(("USER", FRANCOIS), expected)

        directory = self.directory(T3)
        self.assert_names_stored(run_id, T3, set(expected) | set(cexpected))
        stored = self.stored_names(run_id)
        self.assertEqual(stored[("USER", JUERGEN)], "Jürgen Müller")
        self.assertEqual(stored[("GROUP", PARIS)], "Équipe Paris")
        self.assertEqual(stored[("USER", FRANCOIS)], "François Lefèvre", "a comparison-only principal")
        for key in (("USER", GRETA), ("GROUP", IDLETEAM)):
            self.assertNotIn(key, stored, "a named principal in neither period")
        self.assertNotIn("Wrong Tenant", stored.values())
        self.assertNotEqual(stored.get(("USER", EMPTY)), "")
        self.assertEqual(self.view(run_id)["tenant_name"], T3_NAME)

        # CSV: the 13 columns as always, then principal_name and tenant_name
        rows = self.csv_with_names(paths["csv"])
        self.assertEqual([r[:13] for r in rows],
                         reference.as_csv_rows([[run_id, T3, k, p, start, end] + m
                                                for (k, p), m in expected.items()], "UTC"))
        shown = {(r[2], r[3]): r[13] for r in rows}
        self.assertEqual(shown, {key: self.shown(directory, key) for key in expected})
        self.assertEqual(shown[("USER", NAMELESS)], "[user 6a6b6c6d]")
        self.assertEqual(shown[("USER", EMPTY)], "[user 8a8b8c8d]")
        self.assertEqual(shown[("GROUP", NULLTEAM)], "[team c3c3c3c3]")
        self.assertEqual({r[14] for r in rows}, {T3_NAME})
        with open(paths["csv"], "rb") as f:
            self.assertIn("Jürgen Müller".encode("utf-8"), f.read())

        # JSON: the same two keys at the end of each row object
        with open(paths["json"], encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual({(r["principal_type"], r["principal_id"]): r["principal_name"] for r in doc["rows"]},
                         shown)
        self.assertEqual({r["tenant_name"] for r in doc["rows"]}, {T3_NAME})
        self.assertEqual(list(doc["rows"][0])[-2:], ["principal_name", "tenant_name"])

    def test_tenant_without_a_name_row_and_other_tenants_names(self):
        """T1 has no company row: '[tenant 11111111]'. Its users' names come from T1's rows of
        the directory (an apostrophe in one), not from T3's."""
        run_id, paths = self.run_report(tenant=T1, period_args=("--period", "2026-03"),
                                        tz="America/New_York", config=self.names_config(),
                                        opts=["csv.names=true"])
        self.assertEqual(self.view(run_id)["tenant_name"], "[tenant 11111111]")
        rows = self.csv_with_names(paths["csv"])
        shown = {(r[2], r[3]): r[13] for r in rows}
        self.assertEqual(shown[("USER", ALICE)], "Alice Martin")
        self.assertEqual(shown[("USER", JACK)], "Jack O'Neill")
        self.assertEqual(shown[("GROUP", EAST)], "East Coast")
        self.assertEqual(shown[("USER", CAROL)], reference.fallback_name("USER", CAROL))
        self.assertEqual({r[14] for r in rows}, {"[tenant 11111111]"})

    def test_no_names_section_gives_fallbacks(self):
        run_id, paths = self.run_report(opts=["csv.names=true"])
        rows = self.csv_with_names(paths["csv"])
        self.assertTrue(rows)
        for r in rows:
            self.assertEqual(r[13], reference.fallback_name(r[2], r[3]))
            self.assertEqual(r[14], "[tenant 33333333]")
        self.assertEqual(self.view(run_id)["tenant_name"], "[tenant 33333333]")
        for name in self.stored_names(run_id).values():
            self.assertRegex(name, r"^\[(user|team) [0-9a-f]{8}\]$")

    def test_default_csv_unchanged_with_names_configured(self):
        """Without csv.names the CSV is the 13-column fact layout, [names] or not."""
        run_id, paths = self.run_report(config=self.names_config())
        start, end = reference.period_bounds("2026-10", "UTC")
        _, records = drtest.read_csv(paths["csv"])
        self.assertEqual(records[0], reference.COLUMNS)
        self.assertEqual(records[1:], reference.as_csv_rows(
            reference.expected_rows(self.conn, run_id, T3, start, end), "UTC"))

    def test_bad_names_queries_are_configuration_errors(self):
        """Each bad query: exit 78, the file named on stderr, nothing saved, no file."""
        good_p, good_t = PRINCIPALS_SQL, TENANT_SQL
        bad_principals = {
            "syntax": "SELEC 'USER', person_id, full_name FROM mv_directory.person WHERE tenant_id = :tenant::uuid",
            "two_columns": "SELECT 'USER', person_id FROM mv_directory.person WHERE tenant_id = :tenant::uuid",
            "four_columns": ("SELECT 'USER', person_id, full_name, 1 FROM mv_directory.person"
                             " WHERE tenant_id = :tenant::uuid"),
            "not_a_uuid": ("SELECT 'USER', 'user-0001', full_name FROM mv_directory.person"
                           " WHERE tenant_id = :tenant::uuid"),
            "unknown_table": "SELECT 'USER', id, name FROM mv_directory.nosuch WHERE tenant_id = :tenant::uuid",
        }
        bad_tenant = {
            "syntax": "SELECT company_name FROM WHERE tenant_id = :tenant::uuid",
            "two_columns": "SELECT company_name, tenant_id FROM mv_directory.company WHERE tenant_id = :tenant::uuid",
            # forgets to filter on the tenant: every company, two rows
            "two_rows": "SELECT company_name FROM mv_directory.company WHERE :tenant::uuid IS NOT NULL",
        }
        cases = [(f"principals_{k}", self.write_query(v, f"principals_{k}.sql"), good_t)
                 for k, v in bad_principals.items()]
        cases += [(f"tenant_{k}", good_p, self.write_query(v, f"tenant_{k}.sql")) for k, v in bad_tenant.items()]
        missing = os.path.join(self.make_dir(), "missing_principals.sql")
        cases.append(("principals_missing_file", missing, good_t))
        before = self.counts()
        for name, p, t in cases:
            with self.subTest(case=name):
                outdir = self.make_dir()
                cfg = self.names_config(p, t)
                rc, out, err = self.tool(["run", "--tenant", T3, "--all-principals", "--period", "2026-10",
                                          "--tz", "UTC", "--output-dir", outdir], cfg)
                self.assertEqual(rc, 78, f"stdout={out!r} stderr={err!r}")
                self.assertIn(p if name.startswith("principals") else t, err, "the file is named")
                self.assertEqual(out, "")
                self.assert_dir_empty(outdir)
                self.assertEqual(self.counts(), before, "something was saved")

    def test_names_query_others_can_change_is_refused(self):
        """A names query is SQL the report role runs: like a password file (libpq's .pgpass,
        ssh's StrictModes), a query file that group or others may write, or that another
        user owns, is refused (78, file, owner and mode named) and nothing is saved."""
        import shutil
        before = self.counts()
        for name, setup in (("world_writable", lambda f: os.chmod(f, 0o666)),
                            ("group_writable", lambda f: os.chmod(f, 0o664)),
                            ("other_owner", lambda f: os.chown(f, 65534, -1))):
            with self.subTest(case=name):
                query = os.path.join(self.make_dir(), f"{name}.sql")
                shutil.copyfile(PRINCIPALS_SQL, query)
                os.chmod(query, 0o644)
                setup(query)
                outdir = self.make_dir()
                rc, out, err = self.tool(["run", "--tenant", T3, "--all-principals", "--period", "2026-10",
                                          "--tz", "UTC", "--output-dir", outdir], self.names_config(query))
                self.assertEqual(rc, 78, err)
                self.assertIn(query, err)
                self.assertIn("names query", err)
                self.assertEqual(out, "")
                self.assert_dir_empty(outdir)
                self.assertEqual(self.counts(), before, "something was saved")

    # ---- export reproduces what was stored ---------------------------------------------

    def rename_in_directory(self):
        """Rename Jürgen and T3 in the CRM directory (undone after the test)."""
        self.q("UPDATE mv_directory.person SET full_name = 'Jürgen Neumann'"
               " WHERE tenant_id = %s AND person_id = %s", (T3, JUERGEN))
        self.q("UPDATE mv_directory.company SET company_name = 'Neumann AG' WHERE tenant_id = %s", (T3,))
        self.addCleanup(self.q, "UPDATE mv_directory.company SET company_name = %s WHERE tenant_id = %s",
                        (T3_NAME, T3))
        self.addCleanup(self.q, "UPDATE mv_directory.person SET full_name = 'Jürgen Müller'"
                        " WHERE tenant_id = %s AND person_id = %s", (T3, JUERGEN))

    def export(self, run_id, formats, config, opts=()):
        """export --run-id into a new directory; returns {extension: path}. Saves nothing."""
        outdir = self.make_dir()
        before = self.counts()
        args = ["export", "--run-id", run_id, "--format", formats, "--output-dir", outdir]
        for opt in opts:
            args += ["--opt", opt]
        rc, out, err = self.tool(args, config)
        export_id, paths = self.assert_run_ok(rc, out, err, nfiles=len(formats.split(",")))
        self.assertEqual(export_id, run_id)
        self.assertEqual(self.counts(), before, "export saved something")
        return {os.path.splitext(p)[1][1:]: p for p in paths}

    def test_export_reproduces_names_after_rename_and_without_names(self):
        cfg = self.names_config()
        run_id, paths = self.run_report(config=cfg, formats="csv,json",
                                        opts=["csv.names=true", "json.names=true"])
        original = self.csv_with_names(paths["csv"])
        with open(paths["json"], encoding="utf-8") as f:
            original_rows = json.load(f)["rows"]
        self.assertIn("Jürgen Müller", {r[13] for r in original})
        self.rename_in_directory()
        for label, config in (("with [names]", cfg), ("without [names]", None)):
            with self.subTest(config=label):
                exported = self.export(run_id, "csv,json", config, ["csv.names=true", "json.names=true"])
                self.assertEqual(self.csv_with_names(exported["csv"]), original)
                with open(exported["json"], encoding="utf-8") as f:
                    self.assertEqual(json.load(f)["rows"], original_rows)
        # a new run takes the new names; the old run keeps its own
        new_id, new_paths = self.run_report(config=cfg, opts=["csv.names=true"])
        renamed = self.csv_with_names(new_paths["csv"])
        self.assertIn("Jürgen Neumann", {r[13] for r in renamed})
        self.assertEqual({r[14] for r in renamed}, {"Neumann AG"})
        self.assertEqual(self.stored_names(run_id)[("USER", JUERGEN)], "Jürgen Müller")
        self.assertEqual(self.view(run_id)["tenant_name"], T3_NAME)

    def test_export_reproduces_the_report_sheet(self):
        """The XLSX Report sheet of an export, after a rename and without [names], holds the
        same cells as the run's own (layout-independent: cell by cell)."""
        cfg = self.names_config(extra="[defaults]\ncurrency = EUR\n")
        run_id, paths = self.run_report(config=cfg, formats="xlsx", compare="previous")
        original = sheet_values(paths["xlsx"], "Report")
        self.assertTrue(any(isinstance(v, str) and "Jürgen Müller" in v for v in original.values()))
        self.rename_in_directory()
        for label, config in (("with [names]", cfg), ("without [names]", None)):
            with self.subTest(config=label):
                exported = self.export(run_id, "xlsx", config)
                self.assertEqual(sheet_values(exported["xlsx"], "Report"), original)

    # ---- totals --------------------------------------------------------------------------

    def check_totals(self, run_id, tenant, start, end, principals=None):
        got = self.totals(run_id, tenant)
        want = self.expected_totals(tenant, start, end, principals)
        self.assertEqual(got, want)
        return got

    def test_totals_all_principals(self):
        cases = [
            (T3, ["--period", "2026-10"], "UTC", ("period", "2026-10")),
            (T3, ["--period", "2026-10"], "Europe/Berlin", ("period", "2026-10")),
            (T3, ["--period", "2026"], "UTC", ("period", "2026")),
            (T3, ["--from", "2026-10-03T10:00:00+02:00", "--to", "2026-10-20T06:30:00-07:00"], "Europe/Berlin",
             ("range", "2026-10-03T10:00:00+02:00", "2026-10-20T06:30:00-07:00")),
            (T1, ["--period", "2026-03"], "America/New_York", ("period", "2026-03")),
            (T1, ["--period", "2026-Q1"], "UTC", ("period", "2026-Q1")),
            (T2, ["--period", "2026-03"], "America/New_York", ("period", "2026-03")),
        ]
        for tenant, args, tz, spec in cases:
            with self.subTest(tenant=tenant, args=args, tz=tz):
                run_id, _ = self.run_report(tenant=tenant, period_args=args, tz=tz, compare="previous")
                start, end = bounds_of(spec, tz)
                got = self.check_totals(run_id, tenant, start, end)
                self.assertEqual(set(got), {k for k, _ in self.expected(tenant, start, end)})
                cmp = self.comparison_run(run_id)
                self.check_totals(cmp["id"], tenant, cmp["start"], cmp["end"])

    def test_totals_explicit_principals(self):
        cases = [
            (T3, [("USER", JUERGEN), ("USER", HANNAH), ("USER", NOBODY), ("GROUP", PARIS), ("GROUP", NULLTEAM)]),
            (T3, [("USER", AMELIE), ("USER", OLIVER)]),        # only USER: no GROUP total
            (T3, [("GROUP", NORD), ("GROUP", PARIS)]),
            (T3, [("USER", NOBODY)]),                          # listed, no deals: a zero total
            (T1, [("USER", ALICE), ("USER", BOB), ("GROUP", EAST), ("GROUP", WEST)]),
        ]
        for tenant, asked in cases:
            with self.subTest(tenant=tenant, asked=asked):
                period = "2026-10" if tenant == T3 else "2026-03"
                run_id, _ = self.run_report(tenant=tenant, period_args=("--period", period), principals=asked,
                                            compare="previous")
                start, end = reference.period_bounds(period, "UTC")
                got = self.check_totals(run_id, tenant, start, end, asked)
                self.assertEqual(set(got), {k for k, _ in asked})
                cmp = self.comparison_run(run_id)
                self.check_totals(cmp["id"], tenant, cmp["start"], cmp["end"], asked)

    def test_totals_are_not_the_sums_of_the_rows(self):
        """On the edge cases (owner != assignee, a deal of two teams) and on T3 (shared deals)
        the stored totals equal the reference and differ from the column sums."""
        for tenant, period, tz in ((T1, "2026-03", "America/New_York"), (T3, "2026-10", "UTC")):
            with self.subTest(tenant=tenant):
                run_id, _ = self.run_report(tenant=tenant, period_args=("--period", period), tz=tz)
                start, end = reference.period_bounds(period, tz)
                got = self.check_totals(run_id, tenant, start, end)
                facts = self.facts(run_id)
                for kind in ("USER", "GROUP"):
                    created = sum(int(m[0]) for (k, _), m in facts.items() if k == kind)
                    self.assertLess(int(got[kind][0]), created, f"{kind}: the total counts shared deals once")
        run_id, _ = self.run_report(tenant=T1, period_args=("--period", "2026-03"), tz="America/New_York")
        self.assertEqual([t[:4] for t in self.totals(run_id, T1).values()],
                         [["10", "2", "8", "111.00"], ["67", "11", "43", "717.56"]])

    # ---- the comparison run ------------------------------------------------------------

    def check_comparison(self, period_args, tz, spec, mode, tenant=T3, principals=None):
        run_id, _ = self.run_report(tenant=tenant, period_args=period_args, tz=tz, compare=mode,
                                    principals=principals)
        start, end = bounds_of(spec, tz)
        main = self.facts(run_id)
        self.assertEqual(main, self.expected(tenant, start, end, principals), "the main run's rows")
        self.assertTrue(main, "the scenario must have rows")
        view = self.view(run_id)
        self.assertEqual(view["tenant"], tenant)
        self.assertEqual(view["compare"], mode)
        self.assertEqual(view["period_title"], title_of(spec, tz))
        cmp = self.comparison_run(run_id)
        other = comparison_of(spec, tz, mode)
        if other is None:
            self.assertIsNone(cmp, "compare=none: no comparison run")
            self.assertEqual(view["compare_title"], "")
            return run_id, None
        self.assertIsNotNone(cmp, f"no comparison run for compare={mode}")
        cstart, cend, _, ctitle = other
        self.assertEqual((cmp["tenant"], cmp["report_type"], cmp["tz"]), (tenant, "rep_performance", tz))
        self.assertEqual((cmp["start"], cmp["end"]), (cstart, cend), "comparison bounds")
        self.assertEqual(view["compare_title"], ctitle)
        crows = self.fact_rows(cmp["id"])
        for r in crows:
            self.assertEqual((r[9], r[10], r[11]), (tenant, cstart, cend))
        cfacts = {(r[0], r[1]): list(r[2:9]) for r in crows}
        self.assertEqual(cfacts, reference.expected_comparison_metrics(
            self.deals, self.stages, tenant, cstart, cend, principals))
        if tenant == T3:
            self.assertTrue(cfacts, "the comparison period of the scenario must have rows")
        self.check_totals(run_id, tenant, start, end, principals)
        self.check_totals(cmp["id"], tenant, cstart, cend, principals)
        return run_id, cmp

    def test_comparison_keeps_an_explicit_principal_list(self):
        """The comparison run has exactly the listed principals too, zeros included."""
        asked = [("USER", HANNAH), ("USER", FRANCOIS), ("USER", NOBODY), ("GROUP", PARIS)]
        for mode in ("previous", "year-ago"):
            with self.subTest(mode=mode):
                run_id, cmp = self.check_comparison(["--period", "2026-10"], "UTC", ("period", "2026-10"), mode,
                                                    principals=asked)
                cfacts = self.facts(cmp["id"])
                self.assertEqual(sorted(cfacts), sorted(asked))
                self.assertEqual(cfacts[("USER", NOBODY)], ["0", "0", "0", "0.00", None, None, None])
                self.assertEqual(cfacts[("USER", HANNAH)][0], "0", "Hannah had no deals before October")

    def test_comparison_run_labels(self):
        """The comparison run is labelled like a run of its period (2026-09, 2026-W40, a
        range as FROM_TO)."""
        for name, args, tz, spec in COMPARE_SCENARIOS:
            for mode in ("previous", "year-ago"):
                with self.subTest(scenario=name, mode=mode):
                    run_id, _ = self.run_report(period_args=args, tz=tz, compare=mode)
                    self.assertEqual(self.comparison_run(run_id)["label"], comparison_of(spec, tz, mode)[2])

    def test_new_and_gone_principals(self):
        """Hannah is new in October (no comparison row), François is gone (a row in September
        only); the same for week 41 against week 40 and Q4 against Q3."""
        for args, spec in ((["--period", "2026-10"], ("period", "2026-10")),
                           (["--period", "2026-W41"], ("period", "2026-W41")),
                           (["--period", "2026-Q4"], ("period", "2026-Q4"))):
            with self.subTest(period=spec[1]):
                run_id, cmp = self.check_comparison(args, "UTC", spec, "previous")
                main, prev = self.facts(run_id), self.facts(cmp["id"])
                self.assertIn(("USER", HANNAH), main)
                self.assertNotIn(("USER", HANNAH), prev)
                self.assertIn(("USER", FRANCOIS), prev)
                self.assertNotIn(("USER", FRANCOIS), main)
                self.assertIn(("USER", JUERGEN), main)
                self.assertIn(("USER", JUERGEN), prev)

    def test_comparison_period_without_deals(self):
        """T1 in March 2025 has no deals: the comparison run exists, with no rows and no total."""
        run_id, cmp = self.check_comparison(["--period", "2026-03"], "America/New_York",
                                            ("period", "2026-03"), "year-ago", tenant=T1)
        self.assertEqual(self.facts(cmp["id"]), {})
        self.assertEqual(self.totals(cmp["id"], T1), {})
        # previous (February) has alice's and ivy's deals
        run_id, cmp = self.check_comparison(["--period", "2026-03"], "America/New_York",
                                            ("period", "2026-03"), "previous", tenant=T1)
        self.assertIn(("USER", ALICE), self.facts(cmp["id"]))

    def test_deleting_the_run_deletes_its_comparison_and_view(self):
        run_id, _ = self.run_report(config=self.names_config(), compare="previous")
        cmp = self.comparison_run(run_id)
        ids = [run_id, cmp["id"]]
        for table in ("report_rep_performance_fact", "report_run_total"):
            for i in ids:
                self.assertGreater(self.q(f"SELECT count(*) FROM dyno_crm.{table} WHERE run_id = %s", (i,))[0][0],
                                   0, f"{table} of {i}")
        self.assertGreater(len(self.stored_names(run_id)), 0)
        self.q("DELETE FROM dyno_crm.report_run WHERE id = %s", (run_id,))
        self.assertEqual(self.q("SELECT count(*) FROM dyno_crm.report_run WHERE id = ANY(%s::uuid[])"
                                " OR comparison_for = ANY(%s::uuid[])", (ids, ids))[0][0], 0)
        for table in ("report_rep_performance_fact",) + VIEW_TABLES:
            self.assertEqual(self.q(f"SELECT count(*) FROM dyno_crm.{table} WHERE run_id = ANY(%s::uuid[])",
                                    (ids,))[0][0], 0, f"{table} rows left")

    def test_range_titles(self):
        cases = [
            (["--from", "2026-10-01", "--to", "2026-10-16"], "UTC", "1 Oct 2026 \u2013 15 Oct 2026"),
            (["--from", "2026-10-01", "--to", "2026-10-15T12:00+02:00"], "America/New_York",
             "1 Oct 2026 00:00 \u2013 15 Oct 2026 06:00"),
            (["--from", "2026-12-31T22:15", "--to", "2027-01-01"], "Europe/Berlin",
             "31 Dec 2026 22:15 \u2013 1 Jan 2027 00:00"),
        ]
        for args, tz, title in cases:
            with self.subTest(args=args, tz=tz):
                run_id, _ = self.run_report(period_args=args, tz=tz, compare="none")
                self.assertEqual(self.view(run_id)["period_title"], title)
                self.assertEqual(self.view(run_id)["compare_title"], "")

    # ---- configuration: compare, currency ------------------------------------------------

    def compare_of_run(self, run_id):
        cmp = self.comparison_run(run_id)
        view = self.view(run_id)
        if cmp is None:
            return view["compare"], None
        return view["compare"], (cmp["start"], cmp["end"])

    def test_compare_command_line_wins_over_defaults(self):
        prev = reference.comparison_bounds("2026-10", "UTC", "previous")
        ago = reference.comparison_bounds("2026-10", "UTC", "year-ago")
        year_ago_cfg = self.write_config("[defaults]\ncompare = year-ago\n")
        none_cfg = self.write_config("[defaults]\ncompare = none\n")
        configs = {None: None, "year-ago": year_ago_cfg, "none": none_cfg}
        cases = [
            (None, None, ("previous", prev)),                 # the built-in default
            ("year-ago", None, ("year-ago", ago)),
            ("year-ago", "previous", ("previous", prev)),
            ("year-ago", "none", ("none", None)),
            ("none", None, ("none", None)),
            ("none", "year-ago", ("year-ago", ago)),
        ]
        for in_defaults, flag, want in cases:
            with self.subTest(defaults=in_defaults, flag=flag):
                cfg = configs[in_defaults]
                run_id, _ = self.run_report(config=cfg, compare=flag)
                self.assertEqual(self.compare_of_run(run_id), want)

    def test_currency_stored(self):
        run_id, _ = self.run_report(config=self.write_config("[defaults]\ncurrency = EUR\n"))
        self.assertEqual(self.view(run_id)["currency"], "EUR")
        run_id, _ = self.run_report()
        self.assertIn(self.view(run_id)["currency"], ("", None), "no currency by default")

    def test_job_currency_and_compare(self):
        """[job] currency and compare override [defaults]; a job without them inherits."""
        outdir = self.make_dir()
        cfg = self.write_config(
            f"[connection]\nconnect = {self.db.odbc}\n\n"
            f"[names]\nprincipals = {PRINCIPALS_SQL}\ntenant = {TENANT_SQL}\n\n"
            "[defaults]\ncurrency = EUR\ncompare = previous\ntz = UTC\n"
            f"output_dir = {outdir}\nname = {{run_id}}.{{ext}}\n\n"
            f"[job swiss]\ntenant = {T3}\nprincipals = all\nperiod = 2026-10\ncurrency = CHF\ncompare = year-ago\n\n"
            f"[job plain]\ntenant = {T3}\nprincipals = all\nperiod = 2026-Q4\n")
        for job, currency, mode, spec in (("swiss", "CHF", "year-ago", "2026-10"),
                                          ("plain", "EUR", "previous", "2026-Q4")):
            with self.subTest(job=job):
                rc, out, err = drtest.run_tool(["--config", cfg, "job", job])
                self.assertEqual(rc, 0, err)
                run_id = out.splitlines()[0]
                view = self.view(run_id)
                self.assertEqual((view["currency"], view["compare"], view["tenant_name"]), (currency, mode, T3_NAME))
                self.assertEqual(view["period_title"], reference.period_title(spec))
                self.assertEqual(self.compare_of_run(run_id)[1], reference.comparison_bounds(spec, "UTC", mode))

    def test_bad_compare_and_currency_values(self):
        """A --compare value that is not previous|year-ago|none is a usage error (64); bad
        values in the file are refused as well (78 or 64); nothing is saved."""
        before = self.counts()
        outdir = self.make_dir()
        base = ["run", "--tenant", T3, "--all-principals", "--period", "2026-10", "--output-dir", outdir]
        for value in ("sideways", "Previous", ""):
            with self.subTest(flag=value):
                rc, out, err = self.tool(base + ["--compare", value])
                self.assertEqual(rc, 64, err)
                self.assertEqual(out, "")
        for body in ("[defaults]\ncompare = sideways\n", "[defaults]\ncurrency = euro\n",
                     "[defaults]\ncurrency = EU\n", "[defaults]\ncurrency = EURO\n"):
            with self.subTest(config=body):
                rc, out, err = self.tool(base, self.write_config(body))
                self.assertIn(rc, (64, 78), err)
                self.assertEqual(out, "")
        self.assert_dir_empty(outdir)
        self.assertEqual(self.counts(), before)

    def test_no_persist_saves_no_comparison_and_no_view(self):
        before = self.counts()
        self.run_report(config=self.names_config(), compare="previous", extra=["--no-persist"])
        self.assertEqual(self.counts(), before)

    # ---- the XLSX "Report" sheet of a real run ---------------------------------------------

    def test_xlsx_report_sheet(self):
        """The first sheet "Report" shows the tenant's name, the period in words, the reps
        and the teams by name in rank order (François, gone, with zeros; Hannah marked
        "new"), and total lines equal to report_run_total.

        LAYOUT-DEPENDENT: everything here finds cells by value, since the layout is tested
        with synthetic data elsewhere (test_xlsx*.py). It assumes only that: each table
        lists one principal per row with its name in one column; a principal's row holds
        its amount won as a number; the total line of a table is below its rows, has a text
        holding "total" or "all reps" / "all teams" (any case) in the name column or up to
        two columns left of it, and holds the total amount won as a number; a new
        principal's row holds a cell "new" (any case)."""
        run_id, paths = self.run_report(config=self.names_config(extra="[defaults]\ncurrency = EUR\n"),
                                        formats="xlsx", compare="previous")
        wb = openpyxl.load_workbook(paths["xlsx"])
        self.assertEqual(wb.sheetnames[0], "Report", wb.sheetnames)          # the interface
        self.check_report_sheet(run_id, sheet_values(paths["xlsx"], "Report"))

    def check_report_sheet(self, run_id, cells):
        """The assertions of test_xlsx_report_sheet on the cells {(row, column): value} of
        the Report sheet of run_id (T3, 2026-10 in UTC, compare=previous)."""
        texts = [v for v in cells.values() if isinstance(v, str)]
        # LAYOUT-DEPENDENT (only that the texts appear somewhere on the sheet)
        self.assertTrue(any(T3_NAME in t for t in texts), "the tenant's name")
        self.assertTrue(any("October 2026" in t for t in texts), "the period in words")
        start, end = reference.period_bounds("2026-10", "UTC")
        main = self.expected(T3, start, end)
        cmp = self.comparison_run(run_id)
        prev = self.expected(T3, cmp["start"], cmp["end"])
        for _, pid in set(main) | set(prev):
            self.assertFalse(any(pid in t.lower() for t in texts), f"a principal's UUID {pid} on the Report sheet")
        directory = self.directory(T3)
        totals = self.totals(run_id, T3)
        for kind, total_words in (("USER", ("all reps", "total")), ("GROUP", ("all teams", "total"))):
            with self.subTest(table=kind):
                keys = sorted({k for k in set(main) | set(prev) if k[0] == kind})
                names = {k: self.shown(directory, k) for k in keys}
                self.assertEqual(len(set(names.values())), len(names), "the fixture's names are distinct")
                # LAYOUT-DEPENDENT: the column that holds most of this table's names
                hits = {}
                for (r, c), v in cells.items():
                    for k, n in names.items():
                        if isinstance(v, str) and v.strip() == n:
                            hits.setdefault(c, {}).setdefault(k, r)
                col = max(hits, key=lambda c: len(hits[c]))
                rows = hits[col]
                # the run's principals and the gone ones (François), each on a row of its own
                self.assertEqual(set(rows), set(keys), f"every {kind} of the run or its comparison is listed")
                self.assertEqual(len(set(rows.values())), len(rows))

                def rank_key(k):
                    m = main.get(k, ["0", "0", "0", "0.00"])
                    return (-float(m[3]), -int(m[1]))
                # ranked: amount won, highest first, then deals won; ties in any order
                for a in keys:
                    for b in keys:
                        if rank_key(a) < rank_key(b):
                            self.assertLess(rows[a], rows[b], f"{names[a]} before {names[b]}")
                for k in keys:
                    row_numbers = [v for (r, c), v in cells.items() if r == rows[k] and is_number(v)]
                    want = float(main[k][3]) if k in main else 0.0
                    self.assertTrue(any(abs(v - want) < 0.005 for v in row_numbers),
                                    f"{names[k]}: amount won {want} not in its row {row_numbers}")
                if kind == "USER":
                    hannah_row = [v for (r, c), v in cells.items() if r == rows[("USER", HANNAH)]]
                    self.assertTrue(any(isinstance(v, str) and v.strip().lower() == "new" for v in hannah_row),
                                    f"Hannah is new: {hannah_row}")
                last = max(rows.values())
                total_rows = sorted(r for (r, c), v in cells.items()
                                    if r > last and col - 2 <= c <= col and isinstance(v, str)
                                    and any(w in v.lower() for w in total_words))
                self.assertTrue(total_rows, f"a total line below the {kind} table")
                total_row = total_rows[0]
                numbers = [v for (r, c), v in cells.items() if r == total_row and is_number(v)]
                self.assertTrue(any(abs(v - float(totals[kind][3])) < 0.005 for v in numbers),
                                f"total amount {totals[kind][3]} not in the total line {numbers}")


class DemoNamesTests(drtest.ToolTestCase):
    """The shipped examples work together: scripts/sql/demo_data.sql's CRM directory and the
    [names] queries of packaging/names/ give every principal of a demo run a name."""

    DEMO_DATA = os.path.join(drtest.REPO_ROOT, "scripts", "sql", "demo_data.sql")
    EXAMPLES = os.path.join(drtest.REPO_ROOT, "packaging", "names")
    TENANT_A = "a0000000-0000-4000-8000-000000000001"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = drtest.fresh_database()
        cls.addClassCleanup(cls.db.drop)
        cls.db.execute_file(drtest.SOURCE_SCHEMA)
        cls.db.execute_file(cls.DEMO_DATA)
        rc, out, err = drtest.run_tool(["db", "init"], connect=cls.db.odbc)
        if rc != 0:
            raise AssertionError(f"dynoreport db init failed with {rc}: {err}")
        cls.conn = cls.db.connect()
        cls.addClassCleanup(cls.conn.close)

    def test_demo_run_has_every_name(self):
        cfg = os.path.join(self.make_dir(), "dynoreport.conf")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(f"[names]\nprincipals = {os.path.join(self.EXAMPLES, 'principals.sql')}\n"
                    f"tenant = {os.path.join(self.EXAMPLES, 'tenant.sql')}\n\n[defaults]\ncurrency = EUR\n")
        outdir = self.make_dir()
        tz = "Europe/Berlin"
        rc, out, err = drtest.run_tool(["--config", cfg, "run", "--tenant", self.TENANT_A, "--all-principals",
                                        "--period", "2026-10", "--tz", tz, "--output-dir", outdir,
                                        "--opt", "csv.names=true"], connect=self.db.odbc)
        run_id, paths = self.assert_run_ok(rc, out, err)
        _, records = drtest.read_csv(paths[0])
        self.assertEqual(records[0], NAME_COLUMNS)
        names = dict(((k, i), n) for k, i, n in self.db.query(
            "SELECT 'USER', id::text, display_name FROM crm_directory.app_user WHERE tenant_id = %s"
            " UNION ALL SELECT 'GROUP', id::text, name FROM crm_directory.sales_team WHERE tenant_id = %s",
            (self.TENANT_A, self.TENANT_A)))
        self.assertEqual(len(records) - 1, 15, "12 reps and 3 teams in October")
        for r in records[1:]:
            self.assertEqual(r[13], names[(r[2], r[3])])
            self.assertEqual(r[14], "Nordlicht Großhandel GmbH")
        start, end = reference.period_bounds("2026-10", tz)
        deals, stages = reference.load_source(self.conn)
        got = {r[0]: list(r[1:8]) for r in self.db.query(TOTAL_SQL, (run_id,))}
        self.assertEqual(got, reference.expected_totals(deals, stages, self.TENANT_A, start, end))


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def sheet_values(path, sheet):
    """{(row, column): value} of every non-empty cell of a sheet (openpyxl)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    out = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is not None and c.value != "":
                v = c.value
                if isinstance(v, dt.datetime):
                    v = v.isoformat()
                out[(c.row, c.column)] = v
    return out


def _make_comparison_test(args, tz, spec, mode):
    def test(self):
        self.check_comparison(args, tz, spec, mode)
    test.__doc__ = f"compare={mode}, {' '.join(args)} --tz {tz}: the comparison run, its rows, totals, titles"
    return test


for _name, _args, _tz, _spec in COMPARE_SCENARIOS:
    for _mode in reference.COMPARE_MODES:
        setattr(ManagerViewTests, f"test_comparison_{_name}_{_mode.replace('-', '_')}",
                _make_comparison_test(_args, _tz, _spec, _mode))


if __name__ == "__main__":
    unittest.main()
