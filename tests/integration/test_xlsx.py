"""The "xlsx" output plugin end to end: the real binary against a fresh PostgreSQL
database, the workbook read back with openpyxl (and once through LibreOffice) and every
value compared with the database's fact rows.

The host always gives the plugin its report view (ABI 1.2), so a run's workbook is
"Report" (first and active: the ranked report for people), "Data" (the typed fact rows,
rolling over to "Data (2)", ...; xlsx.sheet_name renames them) and "Run" (the metadata).
The Report sheet's layout is tested with synthetic data in test_xlsx_report.py and on a
real run with names in test_manager_view.py; here only that it is there, first, with the
tenant and the period in words.

Needs what drtest.require_env() lists (ctest sets the paths; the server environment comes
from scripts/test), python3-openpyxl, and for one check LibreOffice's soffice
(libreoffice-calc-nogui): without soffice that check fails.
"""
import csv
import datetime as dt
import decimal
import io
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import zipfile
from zoneinfo import ZoneInfo

import openpyxl

import drtest
from drtest import ToolTestCase, fresh_database, read_csv, run_tool

TENANT = "7a3c9e10-4b2d-4f6e-8a1c-2d3e4f5a6b70"
OTHER_TENANT = "7a3c9e10-4b2d-4f6e-8a1c-2d3e4f5a6b99"
UA = "a1000000-0000-4000-8000-00000000000a"  # two wins, a loss: money with grouping
UB = "a1000000-0000-4000-8000-00000000000b"  # a win with a NULL amount
UC = "a1000000-0000-4000-8000-00000000000c"  # one open deal: NULL averages and rate
UD = "a1000000-0000-4000-8000-00000000000d"  # the largest numeric(14,2): width
UE = "a1000000-0000-4000-8000-00000000000e"  # a loss only: win rate 0
GG = "91000000-0000-4000-8000-000000000001"  # a group owner
TZ = "America/New_York"
PERIOD = "2026-10"
WON, LOST, OPEN = ("00000000-0000-4000-8000-0000000000b1", "00000000-0000-4000-8000-0000000000b2",
                   "00000000-0000-4000-8000-0000000000b3")


def _deal(n):
    return f"00000000-0000-4000-8000-00000000e{n:03d}"


DATASET = f"""
INSERT INTO dyno_crm.pipeline_stage (id, tenant_id, name, stage_state) VALUES
 ('{WON}', '{TENANT}', 'Won', 'DONE_SUCCESS'),
 ('{LOST}', '{TENANT}', 'Lost', 'DONE_FAILED'),
 ('{OPEN}', '{TENANT}', 'Talking', 'OPEN');
INSERT INTO dyno_crm.deal (id, tenant_id, title, amount, created_at, owned_by_user_id,
                           assigned_user_id, owned_by_group_id, assigned_group_id) VALUES
 ('{_deal(1)}', '{TENANT}', 'A1', 1234567.89, '2026-10-02 10:00-04', '{UA}', NULL, NULL, NULL),
 ('{_deal(2)}', '{TENANT}', 'A2', 950.50, '2026-10-05 09:00-04', '{UA}', '{UA}', NULL, NULL),
 ('{_deal(3)}', '{TENANT}', 'A3', 5.00, '2026-10-06 00:00-04', '{UA}', NULL, NULL, NULL),
 ('{_deal(4)}', '{TENANT}', 'B1', NULL, '2026-10-07 12:00-04', NULL, '{UB}', NULL, NULL),
 ('{_deal(5)}', '{TENANT}', 'C1', 100.00, '2026-10-15 08:00-04', '{UC}', NULL, NULL, NULL),
 ('{_deal(6)}', '{TENANT}', 'D1', 999999999999.99, '2026-10-25 06:00-04', '{UD}', NULL, NULL, NULL),
 ('{_deal(7)}', '{TENANT}', 'E1', 42.00, '2026-10-26 06:00-04', '{UE}', NULL, NULL, NULL),
 ('{_deal(8)}', '{TENANT}', 'G1', 20.00, '2026-10-20 12:00-04', NULL, NULL, '{GG}', NULL),
 ('{_deal(9)}', '{OTHER_TENANT}', 'X1', 1.00, '2026-10-21 12:00-04', '{UA}', NULL, NULL, NULL);
INSERT INTO dyno_crm.deal_pipeline_stage_state (deal_id, tenant_id, pipeline_stage_id, entered_at, is_current) VALUES
 ('{_deal(1)}', '{TENANT}', '{WON}', '2026-10-03 18:00-04', true),
 ('{_deal(2)}', '{TENANT}', '{WON}', '2026-10-05 17:00-04', true),
 ('{_deal(3)}', '{TENANT}', '{LOST}', '2026-10-10 00:00-04', true),
 ('{_deal(4)}', '{TENANT}', '{WON}', '2026-10-08 12:00-04', true),
 ('{_deal(5)}', '{TENANT}', '{OPEN}', '2026-10-15 08:00-04', true),
 ('{_deal(6)}', '{TENANT}', '{WON}', '2026-10-31 23:00-04', true),
 ('{_deal(7)}', '{TENANT}', '{LOST}', '2026-10-27 18:00-04', true),
 ('{_deal(8)}', '{TENANT}', '{LOST}', '2026-10-22 18:00-04', true);
"""

COLUMNS = [
    "run_id", "tenant_id", "principal_type", "principal_id", "period_start", "period_end",
    "deals_created_count", "deals_closed_won_count", "deals_closed_lost_count",
    "total_amount_won", "avg_deal_size_won", "avg_time_to_close_days", "win_rate",
]
LABELS = [
    "Run", "Tenant", "Principal type", "Principal", "Period start", "Period end",
    "Deals created", "Deals won", "Deals lost", "Total amount won", "Average deal size won",
    "Average days to close", "Win rate",
]
TEXT_COLUMNS = {"run_id", "tenant_id", "principal_type", "principal_id"}
UUID_COLUMNS = {"run_id", "tenant_id", "principal_id"}
TIMESTAMP_COLUMNS = {"period_start", "period_end"}
NUMBER_FORMATS = {
    "deals_created_count": "0", "deals_closed_won_count": "0", "deals_closed_lost_count": "0",
    "total_amount_won": "#,##0.00", "avg_deal_size_won": "#,##0.00",
    "avg_time_to_close_days": "#,##0.0", "win_rate": "0.00%",
    "period_start": "yyyy-mm-dd hh:mm", "period_end": "yyyy-mm-dd hh:mm",
}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NROWS = 6  # principals of TENANT in the period: UA UB UC UD UE GG
DATA = "Data"  # the data sheet beside the Report sheet
SHEETS = ["Report", DATA, "Run"]
# the Run sheet's keys, in order, with the default comparison (the previous period)
RUN_KEYS = ["Report", "Tenant", "Tenant name", "Period", "Period title", "Period start",
            "Period end", "Time zone", "Comparison", "Comparison title", "Comparison start",
            "Comparison end", "Run id", "Generated at", "Principals", "Tool version", "Rows"]


def _wall_clock(instant):
    """The naive wall-clock of an aware datetime in the report's zone."""
    return instant.astimezone(ZoneInfo(TZ)).replace(tzinfo=None)


def _shown(value, places, percent=False):
    """A decimal as a spreadsheet shows it: grouped, rounded half away from zero."""
    q = decimal.Decimal(value) * (100 if percent else 1)
    q = q.quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)
    return f"{q:.{places}f}%" if percent else f"{q:,.{places}f}"


class XlsxPluginTest(ToolTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = fresh_database()
        try:
            with open(os.path.join(os.path.dirname(__file__), "..", "fixtures",
                                   "crm_source_schema.sql"), encoding="utf-8") as f:
                schema = f.read()
            conn = cls.db.connect()
            with conn.cursor() as cur:
                cur.execute(schema)
                cur.execute(DATASET)
            conn.close()
            rc, _, err = run_tool(["db", "init"], connect=cls.db.odbc)
            if rc != 0:
                raise AssertionError(f"dynoreport db init failed with {rc}: {err}")
            cls.tmp = tempfile.mkdtemp(prefix="drtest-xlsx-")
            cls.outdir = os.path.join(cls.tmp, "main")
            os.mkdir(cls.outdir)
            rc, out, err = cls.run_report(cls.outdir, "--format", "csv,xlsx")
            if rc != 0:
                raise AssertionError(f"dynoreport run failed with {rc}: {err}")
            lines = out.splitlines()
            cls.run_id, cls.csv_path, cls.xlsx_path = lines[0], lines[1], lines[2]
            cls.wb = openpyxl.load_workbook(cls.xlsx_path)
        except BaseException:
            cls.db.drop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.db.drop()
        shutil.rmtree(cls.tmp, True)
        super().tearDownClass()

    @classmethod
    def run_report(cls, outdir, *extra, config=None):
        pre = [] if config is None else ["--config", config]
        return run_tool(pre + ["run", "--tenant", TENANT, "--all-principals", "--period", PERIOD,
                               "--tz", TZ, "--output-dir", outdir, *extra], connect=cls.db.odbc)

    # ---- the database's side --------------------------------------------------------

    def db_rows(self, run_id):
        """The fact rows of the run (numbers as Decimal, timestamps aware), in file order."""
        rows = self.db.query(
            "SELECT " + ", ".join(f"{c}::text" if c in UUID_COLUMNS else c for c in COLUMNS) +
            " FROM dyno_crm.report_rep_performance_fact WHERE run_id = %s"
            " ORDER BY principal_type, principal_id", (run_id,))
        return [dict(zip(COLUMNS, r)) for r in rows]

    def db_run(self, run_id):
        row = self.db.query("SELECT generated_at, tool_version, period_start, period_end"
                            " FROM dyno_crm.report_run WHERE id = %s", (run_id,))
        self.assertEqual(len(row), 1, f"no report_run row {run_id}")
        return dict(zip(("generated_at", "tool_version", "period_start", "period_end"), row[0]))

    def db_comparison(self, run_id):
        """The comparison run of run_id: its own report_run row (comparison_for = run_id)."""
        row = self.db.query("SELECT period_start, period_end FROM dyno_crm.report_run"
                            " WHERE comparison_for = %s", (run_id,))
        self.assertEqual(len(row), 1, f"comparison runs of {run_id}: {row}")
        return dict(zip(("period_start", "period_end"), row[0]))

    def db_view(self, run_id):
        row = self.db.query("SELECT tenant_name, period_title, compare, compare_title, currency"
                            " FROM dyno_crm.report_run_view WHERE run_id = %s", (run_id,))
        self.assertEqual(len(row), 1, f"report_run_view rows of {run_id}: {row}")
        return dict(zip(("tenant_name", "period_title", "compare", "compare_title", "currency"),
                        row[0]))

    def run_meta(self, wb):
        """The Run sheet as {label: value} (in order) and {label: exact text of column C}."""
        ws = wb["Run"]
        rows = [r for r in ws.iter_rows(max_col=3) if r[0].value]
        labels = [r[0].value for r in rows]
        self.assertEqual(len(labels), len(set(labels)), f"a Run key twice: {labels}")
        return {r[0].value: r[1].value for r in rows}, {r[0].value: r[2].value for r in rows}

    def data_rows(self, ws):
        """The data rows (below the header) of a sheet, as lists of cells."""
        return [list(r) for r in ws.iter_rows(min_row=2, max_col=len(COLUMNS))]

    def assert_cells(self, cells, want, where):
        for c, cell in zip(COLUMNS, cells):
            w, at = want[c], f"{where}, {c} ({cell.coordinate})"
            if w is None:
                self.assertIsNone(cell.value, at)
                continue
            if c in TEXT_COLUMNS:
                self.assertEqual(cell.data_type, "s", at)
                self.assertIsInstance(cell.value, str, at)
                self.assertEqual(cell.value, w, at)
                if c in UUID_COLUMNS:
                    self.assertRegex(cell.value, UUID_RE, at)
            elif c in TIMESTAMP_COLUMNS:
                self.assertTrue(cell.is_date, at)
                self.assertIsInstance(cell.value, dt.datetime, at)
                self.assertEqual(cell.value, _wall_clock(w), at)
            else:
                self.assertEqual(cell.data_type, "n", at)
                self.assertNotIsInstance(cell.value, (str, bool), at)
                if isinstance(w, int):
                    self.assertEqual(cell.value, w, at)
                else:  # the double nearest the database's decimal
                    self.assertEqual(cell.value, float(w), at)
            if c in NUMBER_FORMATS:
                self.assertEqual(cell.number_format, NUMBER_FORMATS[c], at)

    def assert_header(self, ws):
        header = [c for c in next(ws.iter_rows(min_row=1, max_row=1))]
        self.assertEqual([c.value for c in header], LABELS, f"{ws.title}: header labels")
        for c in header:
            self.assertTrue(c.font.b, f"{ws.title}!{c.coordinate} is not bold")
        self.assertEqual(ws.freeze_panes, "A2", f"{ws.title}: frozen header")

    # ---- the data sheet -----------------------------------------------------------------

    def test_files_and_sheets(self):
        self.assertEqual(sorted(os.listdir(self.outdir)),
                         sorted(os.path.basename(p) for p in (self.csv_path, self.xlsx_path)),
                         "only the two reports, no temporary files of libxlsxwriter")
        self.assertTrue(self.xlsx_path.endswith(".xlsx"))
        self.assertEqual(self.wb.sheetnames, SHEETS)
        self.assertEqual(self.wb.active.title, "Report")

    def test_header_freeze_and_autofilter(self):
        ws = self.wb[DATA]
        self.assert_header(ws)
        self.assertEqual(ws.auto_filter.ref, f"A1:M{NROWS + 1}")
        self.assertEqual(ws.max_row, NROWS + 1)

    def test_values_equal_the_database(self):
        want = self.db_rows(self.run_id)
        self.assertEqual(len(want), NROWS)
        got = self.data_rows(self.wb[DATA])
        self.assertEqual(len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            self.assert_cells(g, w, f"row {i + 2} ({w['principal_type']}:{w['principal_id']})")
        # the dataset reaches what the test means to cover
        by_id = {w["principal_id"]: w for w in want}
        self.assertIsNone(by_id[UC]["avg_deal_size_won"])
        self.assertIsNone(by_id[UC]["win_rate"])
        self.assertEqual(by_id[UD]["total_amount_won"], decimal.Decimal("999999999999.99"))
        self.assertEqual(by_id[UE]["win_rate"], decimal.Decimal("0.0000"))
        self.assertEqual(by_id[UA]["total_amount_won"], decimal.Decimal("1235518.39"))
        self.assertIn("GROUP", {w["principal_type"] for w in want})

    def test_timestamps_are_the_csv_wall_clock(self):
        _, records = read_csv(self.csv_path)
        header, rows = records[0], records[1:]
        ws_rows = self.data_rows(self.wb[DATA])
        self.assertEqual(len(rows), len(ws_rows))
        for rec, cells in zip(rows, ws_rows):
            for c in TIMESTAMP_COLUMNS:
                text = rec[header.index(c)]
                cell = cells[COLUMNS.index(c)]
                wall = dt.datetime.fromisoformat(text).replace(tzinfo=None)
                self.assertEqual(cell.value, wall, f"{c}: {text}")
            for c in UUID_COLUMNS:  # and the text cells are the CSV's text
                self.assertEqual(cells[COLUMNS.index(c)].value, rec[header.index(c)])

    def test_column_widths_fit(self):
        ws = self.wb[DATA]
        for i, (c, label) in enumerate(zip(COLUMNS, LABELS)):
            letter = openpyxl.utils.get_column_letter(i + 1)
            width = ws.column_dimensions[letter].width
            self.assertGreaterEqual(width, len(label) + 2, f"{c}: header label cut")
            self.assertLessEqual(width, 81, f"{c}: absurdly wide")
            if c in UUID_COLUMNS:
                self.assertGreaterEqual(width, 37, f"{c}: a UUID does not fit")
            if c in TIMESTAMP_COLUMNS:
                self.assertGreaterEqual(width, 17, f"{c}: 'yyyy-mm-dd hh:mm' does not fit")
        # 999,999,999,999.99 is 18 characters: the money column grew for it
        self.assertGreaterEqual(ws.column_dimensions["J"].width, 19)

    def test_no_formula_and_inline_strings(self):
        with zipfile.ZipFile(self.xlsx_path) as z:
            names = z.namelist()
            sheets = [n for n in names if n.startswith("xl/worksheets/sheet")]
            self.assertEqual(len(sheets), len(SHEETS))
            for n in sheets:
                xml = z.read(n).decode("utf-8")
                self.assertNotIn("<f>", xml, f"{n} holds a formula")
                self.assertNotIn("<f ", xml, f"{n} holds a formula")
                self.assertIn('t="inlineStr"', xml, f"{n}: strings are inline (constant_memory)")
            self.assertNotIn("xl/calcChain.xml", names)

    # ---- metadata -------------------------------------------------------------------------

    def test_run_sheet(self):
        meta, exact = self.run_meta(self.wb)
        self.assertEqual(list(meta), RUN_KEYS)  # no Currency: none is configured
        run = self.db_run(self.run_id)
        view = self.db_view(self.run_id)
        cmp = self.db_comparison(self.run_id)
        self.assertEqual(meta["Report"], "rep_performance")
        self.assertEqual(meta["Tenant"], TENANT)
        # no [names] tenant query: the fallback name, as stored with the run
        self.assertEqual(meta["Tenant name"], f"[tenant {TENANT[:8]}]")
        self.assertEqual(meta["Tenant name"], view["tenant_name"])
        self.assertEqual(meta["Period"], PERIOD)
        self.assertEqual(meta["Period title"], "October 2026")
        self.assertEqual(meta["Period title"], view["period_title"])
        self.assertEqual(meta["Period start"], dt.datetime(2026, 10, 1))
        self.assertEqual(meta["Period end"], dt.datetime(2026, 11, 1))
        self.assertEqual(meta["Period start"], _wall_clock(run["period_start"]))
        self.assertEqual(meta["Period end"], _wall_clock(run["period_end"]))
        self.assertEqual(meta["Time zone"], TZ)
        # the comparison period (the default, previous) is the comparison run's
        self.assertEqual(meta["Comparison"], "previous")
        self.assertEqual(meta["Comparison"], view["compare"])
        self.assertEqual(meta["Comparison title"], "September 2026")
        self.assertEqual(meta["Comparison title"], view["compare_title"])
        self.assertEqual(meta["Comparison start"], dt.datetime(2026, 9, 1))
        self.assertEqual(meta["Comparison end"], dt.datetime(2026, 10, 1))
        self.assertEqual(meta["Comparison start"], _wall_clock(cmp["period_start"]))
        self.assertEqual(meta["Comparison end"], _wall_clock(cmp["period_end"]))
        self.assertEqual(meta["Run id"], self.run_id)
        gen = meta["Generated at"]
        self.assertIsInstance(gen, dt.datetime)
        self.assertLess(abs(gen - _wall_clock(run["generated_at"])), dt.timedelta(milliseconds=2))
        self.assertEqual(meta["Principals"], "all")
        self.assertEqual(meta["Tool version"], run["tool_version"])
        self.assertEqual(meta["Rows"], NROWS)  # the fact rows, as on the Data sheet
        # the exact instants, with their offsets, next to the date cells
        self.assertEqual(exact["Period start"], "2026-10-01T00:00:00-04:00")
        self.assertEqual(exact["Period end"], "2026-11-01T00:00:00-04:00")
        self.assertEqual(exact["Comparison start"], "2026-09-01T00:00:00-04:00")
        self.assertEqual(exact["Comparison end"], "2026-10-01T00:00:00-04:00")
        self.assertEqual(dt.datetime.fromisoformat(exact["Comparison start"]), cmp["period_start"])
        self.assertEqual(dt.datetime.fromisoformat(exact["Generated at"]), run["generated_at"])

    def test_run_sheet_currency_and_no_comparison(self):
        """A configured currency adds the key Currency after the comparison's keys;
        --compare none leaves out the comparison's title, start and end."""
        cfg = os.path.join(self.make_dir(), "dynoreport.conf")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write("[defaults]\ncurrency = EUR\n")
        cases = [
            ((), RUN_KEYS[:12] + ["Currency"] + RUN_KEYS[12:], "previous"),
            (("--compare", "none"), RUN_KEYS[:9] + ["Currency"] + RUN_KEYS[12:], "none"),
        ]
        for extra, keys, mode in cases:
            with self.subTest(extra=extra):
                rc, stdout, err = self.run_report(self.make_dir(), "--format", "xlsx", *extra,
                                                  config=cfg)
                run_id, paths = self.assert_run_ok(rc, stdout, err)
                wb = openpyxl.load_workbook(paths[0])
                self.assertEqual(wb.sheetnames, SHEETS)
                meta, _ = self.run_meta(wb)
                self.assertEqual(list(meta), keys)
                self.assertEqual(meta["Currency"], "EUR")
                self.assertEqual(meta["Currency"], self.db_view(run_id)["currency"])
                self.assertEqual(meta["Comparison"], mode)
                self.assertEqual(meta["Rows"], NROWS)

    def test_report_sheet_first_with_tenant_and_period(self):
        """The Report sheet of the real run: the first sheet, its title, then the tenant's
        name and the period in words (as stored with the run), then the comparison."""
        self.assertEqual(self.wb.worksheets[0].title, "Report")
        ws = self.wb["Report"]
        view = self.db_view(self.run_id)
        self.assertEqual(ws["A1"].value, "Representative Performance")
        self.assertEqual(ws["A2"].value, f"[tenant {TENANT[:8]}] \u2014 October 2026")
        self.assertEqual(ws["A2"].value, f"{view['tenant_name']} \u2014 {view['period_title']}")
        self.assertIn("Compared with September 2026 (the previous period)", ws["A3"].value)
        self.assertIn(self.run_id, ws["A4"].value)
        texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        self.assertIn("Reps, ranked by amount won", texts)
        self.assertIn("Teams, ranked by amount won", texts)
        for _, pid in {(w["principal_type"], w["principal_id"]) for w in self.db_rows(self.run_id)}:
            self.assertFalse(any(pid in t for t in texts), f"a principal's UUID {pid} on Report")

    def test_document_properties(self):
        p = self.wb.properties
        self.assertEqual(p.title, f"Representative Performance {PERIOD}")
        self.assertEqual(p.subject, TENANT)
        self.assertIn(self.run_id, p.description or "")
        created = self.db_run(self.run_id)["generated_at"].astimezone(dt.timezone.utc)
        self.assertEqual(p.created, created.replace(tzinfo=None, microsecond=0))

    # ---- rollover and options --------------------------------------------------------------

    def test_rollover_to_new_sheets(self):
        out = self.make_dir()
        rc, stdout, err = self.run_report(out, "--format", "xlsx", "--opt", "xlsx.max_rows=2")
        run_id, paths = self.assert_run_ok(rc, stdout, err)
        wb = openpyxl.load_workbook(paths[0])
        self.assertEqual(wb.sheetnames, ["Report", DATA, f"{DATA} (2)", f"{DATA} (3)", "Run"])
        self.assertEqual(wb.active.title, "Report")
        want = self.db_rows(run_id)
        got = []
        for name in wb.sheetnames[1:-1]:
            ws = wb[name]
            self.assert_header(ws)
            rows = self.data_rows(ws)
            self.assertEqual(len(rows), 2, name)
            self.assertEqual(ws.auto_filter.ref, "A1:M3", name)
            self.assertEqual(ws.column_dimensions["A"].width,
                             wb[DATA].column_dimensions["A"].width, name)
            got += rows
        self.assertEqual(len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            self.assert_cells(g, w, f"data row {i + 1}")
        self.assertEqual(os.listdir(out), [os.path.basename(paths[0])])

    def test_sheet_name_option(self):
        out = self.make_dir()
        rc, stdout, err = self.run_report(out, "--format", "xlsx", "--opt",
                                          "xlsx.sheet_name=Équipe Q4 – Süd", "--opt",
                                          "xlsx.max_rows=5")
        run_id, paths = self.assert_run_ok(rc, stdout, err)
        wb = openpyxl.load_workbook(paths[0])
        # the option names the data sheets; the Report sheet stays first and active
        self.assertEqual(wb.sheetnames,
                         ["Report", "Équipe Q4 – Süd", "Équipe Q4 – Süd (2)", "Run"])
        self.assertEqual(wb.active.title, "Report")
        got = []
        for name, n in (("Équipe Q4 – Süd", 5), ("Équipe Q4 – Süd (2)", NROWS - 5)):
            self.assert_header(wb[name])
            rows = self.data_rows(wb[name])
            self.assertEqual(len(rows), n, name)
            got += rows
        want = self.db_rows(run_id)
        self.assertEqual(len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            self.assert_cells(g, w, f"data row {i + 1}")

    def test_bad_option_values(self):
        # the runs made, not their comparison runs (report_run rows with comparison_for set)
        runs_before = drtest.count_runs(self.db)
        cases = [
            ("max_rows", "0"), ("max_rows", "-1"), ("max_rows", "abc"), ("max_rows", ""),
            ("max_rows", "1048576"), ("max_rows", "2.5"), ("max_rows", " 3"),
            ("max_rows", "99999999999999999999"),
            ("sheet_name", ""), ("sheet_name", "a/b"), ("sheet_name", "Q[4]"),
            ("sheet_name", "x" * 32), ("sheet_name", "run"), ("sheet_name", "'quoted'"),
            ("sheet_name", "History"), ("sheet_name", "Report"), ("sheet_name", "REPORT"),
        ]
        for key, value in cases:
            with self.subTest(key=key, value=value):
                out = self.make_dir()
                rc, stdout, err = self.run_report(out, "--format", "csv,xlsx", "--opt",
                                                  f"xlsx.{key}={value}")
                self.assertEqual(rc, 64, f"stdout={stdout!r} stderr={err!r}")
                self.assertIn(f"xlsx.{key}", err)
                self.assertEqual(stdout, "")
                self.assert_dir_empty(out)
        self.assertEqual(drtest.count_runs(self.db), runs_before,
                         "a refused run left a report_run row")

    def test_unknown_option_key(self):
        out = self.make_dir()
        rc, stdout, err = self.run_report(out, "--format", "xlsx", "--opt", "xlsx.colour=red")
        self.assertEqual(rc, 64, err)
        self.assertIn("sheet_name", err)
        self.assert_dir_empty(out)

    def test_export_writes_the_same_values(self):
        out = self.make_dir()
        rc, stdout, err = run_tool(["export", "--run-id", self.run_id, "--format", "xlsx",
                                    "--output-dir", out], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        wb = openpyxl.load_workbook(stdout.splitlines()[1])
        self.assertEqual(wb.sheetnames, SHEETS)
        want = self.db_rows(self.run_id)
        got = self.data_rows(wb[DATA])
        self.assertEqual(len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            self.assert_cells(g, w, f"export row {i + 2}")

    # ---- LibreOffice ----------------------------------------------------------------------

    def test_libreoffice_reads_the_values(self):
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        # the manager's client is part of the contract: a missing soffice is a failure
        self.assertIsNotNone(soffice, "soffice not found: install libreoffice-calc-nogui "
                                      "(scripts/lib/common.sh does)")
        work = self.make_dir()
        src = os.path.join(work, "report.xlsx")
        shutil.copy(self.xlsx_path, src)
        profile = "file://" + os.path.join(work, "profile")
        # the Data sheet as CSV: UTF-8, text cells quoted, cells as shown (formats applied).
        # The CSV filter's tokens: 1 separator, 2 text delimiter, 3 charset (76: UTF-8),
        # 4 first line, 5 column formats, 6 language, 7 quote all text cells, 8 detect
        # special numbers (import only), 9 save cell contents as shown, 10 export formulas,
        # 11 remove spaces, 12 the sheet to export, 1-based (LibreOffice 7.2 and later; the
        # file is then named report-<sheet>.csv). Without token 12 the first sheet, Report,
        # would be exported.
        sheet = self.wb.sheetnames.index(DATA) + 1
        p = subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless",
                            "--convert-to",
                            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,false,true,"
                            f"false,false,{sheet}",
                            "--outdir", work, src],
                           capture_output=True, timeout=180, env=dict(os.environ, HOME=work))
        out = os.path.join(work, f"report-{DATA}.csv")
        made = sorted(n for n in os.listdir(work) if n.endswith(".csv"))
        self.assertEqual(made, [os.path.basename(out)],
                         f"soffice made not just the Data sheet's CSV ({p.returncode}; token 12 "
                         f"needs LibreOffice 7.2 or later): {p.stdout!r} {p.stderr!r}")
        with open(out, encoding="utf-8") as f:
            text = f.read()
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(rows[0], LABELS)
        want = self.db_rows(self.run_id)
        self.assertEqual(len(rows) - 1, len(want))
        for line, w in zip(text.splitlines()[1:], want):
            # text cells come quoted, numbers and dates bare: LibreOffice saw their types
            prefix = ",".join([f'"{w[c]}"' for c in COLUMNS[:4]] +
                              [_wall_clock(w[c]).strftime("%Y-%m-%d %H:%M") for c in COLUMNS[4:6]] +
                              [str(w[c]) for c in COLUMNS[6:9]]) + ","
            self.assertTrue(line.startswith(prefix), f"{line!r} does not start with {prefix!r}")
        for rec, w in zip(rows[1:], want):
            exp = []
            for c in COLUMNS:
                v = w[c]
                if v is None:
                    exp.append("")
                elif c in TEXT_COLUMNS:
                    exp.append(v)
                elif c in TIMESTAMP_COLUMNS:
                    exp.append(_wall_clock(v).strftime("%Y-%m-%d %H:%M"))
                elif isinstance(v, int):
                    exp.append(str(v))
                elif c == "win_rate":
                    exp.append(_shown(v, 2, percent=True))
                elif c == "avg_time_to_close_days":
                    exp.append(_shown(v, 1))
                else:
                    exp.append(_shown(v, 2))
            self.assertEqual(rec, exp, f"LibreOffice shows {rec}")


if __name__ == "__main__":
    unittest.main()
