"""The "Report" sheet of the "xlsx" plugin: what a 1.2 host's report view (names, ranks, the
comparison period, gone and total rows: include/dynoreport/plugin.h) makes of the workbook.

Two drivers:
  - ctypes (the mirrors of test_xlsx_plugin.py) with runs built here, so every expected
    value is computed independently in this file: ranking, names, totals, deltas, "new",
    gone rows, the cut at 2,000 rows, currency, older hosts, bad views;
  - tests/tools/plugin_feed --view (--principals 60), the synthetic host the golden tests
    use, for its fixed run and a 60-rep run, rendered by LibreOffice to PDF to check that
    the Report sheet prints one page wide.
The workbooks are read back with openpyxl, and their XML (chart, print setup, conditional
formats) parsed directly where openpyxl reads only part of it.

Needs DYNOREPORT_BUILD_PLUGIN_DIR and DYNOREPORT_PLUGIN_FEED (set by ctest), python3-openpyxl,
LibreOffice's soffice and poppler-utils (pdfinfo, pdftotext, pdftoppm); no database.
"""
import ctypes as C
import decimal
import io
import os
import random
import re
import shutil
import subprocess
import tempfile
import unittest
import warnings
import zipfile
import xml.etree.ElementTree as ET

import openpyxl

import test_xlsx_plugin as sdk

D = decimal.Decimal
TEXT, UUID, INT64, DECIMAL, TIMESTAMP, BOOLEAN = range(6)
OK, EOPTION, EIO, ENOMEM, EFAIL = range(5)
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
UP, DOWN = "\u25b2", "\u25bc"

# The 13 fact columns (core/report.c) and the 8 view columns of plugin.h, in their order.
FACT = [("run_id", "Run", UUID, 0), ("tenant_id", "Tenant", UUID, 0),
        ("principal_type", "Principal type", TEXT, 0), ("principal_id", "Principal", UUID, 0),
        ("period_start", "Period start", TIMESTAMP, 0), ("period_end", "Period end", TIMESTAMP, 0),
        ("deals_created_count", "Deals created", INT64, 0),
        ("deals_closed_won_count", "Deals won", INT64, 0),
        ("deals_closed_lost_count", "Deals lost", INT64, 0),
        ("total_amount_won", "Total amount won", DECIMAL, 2),
        ("avg_deal_size_won", "Average deal size won", DECIMAL, 2),
        ("avg_time_to_close_days", "Average days to close", DECIMAL, 4),
        ("win_rate", "Win rate", DECIMAL, 4)]
VIEW_COLS = [("row_kind", "Row kind", TEXT, 0), ("principal_name", "Name", TEXT, 0),
             ("rank", "Rank", INT64, 0), ("is_new", "New", BOOLEAN, 0),
             ("prev_deals_created", "Deals created (previous)", INT64, 0),
             ("prev_deals_won", "Deals won (previous)", INT64, 0),
             ("prev_total_amount_won", "Total amount won (previous)", DECIMAL, 2),
             ("prev_win_rate", "Win rate (previous)", DECIMAL, 4)]
SCHEMA = FACT + VIEW_COLS

RUN_ID, TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "7c9e6679-7425-40de-944b-e07fc1f90ae7"
RUN = dict(sdk.RUN, principals="all")
VIEW = dict(tenant_name="Contoso Vertrieb & Söhne", period_title="October 2026",
            compare="previous", compare_title="September 2026",
            compare_start="2026-09-01T00:00:00-04:00", compare_end="2026-10-01T00:00:00-04:00",
            currency="EUR", nfact_columns=len(FACT))
NO_COMPARE = dict(VIEW, compare="none", compare_title="", compare_start="", compare_end="")

HEADERS = ["Rank", "Name", "Deals created", "Deals won", "Deals lost", "Amount won",
           "Avg deal size", "Avg days to close", "Win rate", "Prev. amount won",
           "Prev. deals won", "Prev. win rate", "Change in amount won", "Change in win rate"]
COL = {h: i for i, h in enumerate(HEADERS)}  # 0-based column of each header
LETTER = "ABCDEFGHIJKLMN"


def _uid(kind, n):
    return f"{'a1' if kind == 'USER' else 'b2'}000000-0000-4000-8000-{n:012d}"


def rate(won, lost):
    """A win rate as the database gives it: numeric(…, 4), or NULL without a closed deal."""
    return None if won + lost == 0 else (D(won) / (won + lost)).quantize(D("0.0001"))


class P:
    """One principal (or total) of a run built here; the values are the database's text."""

    def __init__(self, kind, n, name, rank=None, cur=(0, 0, 0, "0.00"), prev=None,
                 row_kind="principal", is_new=None):
        self.type, self.id, self.name, self.rank = kind, _uid(kind, n), name, rank
        self.created, self.won, self.lost, self.amount = cur[0], cur[1], cur[2], D(cur[3])
        self.row_kind = row_kind
        self.prev = prev  # (created, won, lost, amount) or None
        self.is_new = (prev is None) if is_new is None else is_new

    @property
    def win_rate(self):
        return rate(self.won, self.lost)

    @property
    def prev_win_rate(self):
        return None if self.prev is None else rate(self.prev[1], self.prev[2])

    def cells(self, compare=True):
        """The 21 text cells as a 1.2 host sends them."""
        total = self.row_kind == "total"
        avg = None if self.won == 0 else str((self.amount / self.won).quantize(D("0.01")))
        days = None if self.won + self.lost == 0 else "3.2500"
        prev = self.prev if compare else None
        wr = self.win_rate
        return {
            "run_id": RUN_ID, "tenant_id": TENANT, "principal_type": self.type,
            "principal_id": None if total else self.id,
            "period_start": "2026-10-01T00:00:00-04:00", "period_end": "2026-11-01T00:00:00-04:00",
            "deals_created_count": str(self.created), "deals_closed_won_count": str(self.won),
            "deals_closed_lost_count": str(self.lost), "total_amount_won": str(self.amount),
            "avg_deal_size_won": avg, "avg_time_to_close_days": days,
            "win_rate": None if wr is None else str(wr),
            "row_kind": self.row_kind, "principal_name": self.name,
            "rank": None if total or self.rank is None else str(self.rank),
            "is_new": None if total or not compare else ("true" if self.is_new else "false"),
            "prev_deals_created": None if prev is None else str(prev[0]),
            "prev_deals_won": None if prev is None else str(prev[1]),
            "prev_total_amount_won": None if prev is None else str(D(prev[3])),
            "prev_win_rate": None if prev is None or self.prev_win_rate is None
                             else str(self.prev_win_rate),
        }


def value(col, text):
    name, _, typ, _ = col
    if text is None:
        return sdk.v_null()
    if typ == INT64:
        return sdk.v_int(int(text))
    if typ == BOOLEAN:
        return sdk.v_bool(text == "true")
    if typ == DECIMAL:
        return sdk.v_dec(text)
    if typ == TIMESTAMP:
        return sdk.v_ts(text)
    return sdk.v_text(text)


def host_order(principals):
    """Fact rows by principal type then id, then the gone (and other) rows, then the totals."""
    facts = sorted((p for p in principals if p.row_kind == "principal"),
                   key=lambda p: (p.type, p.id))
    gone = [p for p in principals if p.row_kind not in ("principal", "total")]
    totals = sorted((p for p in principals if p.row_kind == "total"), key=lambda p: p.type)
    return facts + gone + totals


def rank_all(principals):
    """Ranks as plugin.h defines them: amount won desc, deals won desc, name, id; per type."""
    for kind in ("USER", "GROUP"):
        ps = [p for p in principals if p.type == kind and p.row_kind != "total"]
        ps.sort(key=lambda p: (-p.amount, -p.won, p.name, p.id))
        for i, p in enumerate(ps):
            p.rank = i + 1
    return principals


def sample_run():
    """Reps and teams with every case: up, down, unchanged, new, zero, gone; totals that are
    not the sum of the rows; ids in another order than the ranks."""
    reps = [
        P("USER", 9, "Ana Lima", cur=(10, 6, 4, "1500.50"), prev=(9, 5, 5, "1000.25")),
        P("USER", 3, "Ben Okafor", cur=(8, 4, 4, "2500.00"), prev=(6, 3, 1, "3000.00")),
        P("USER", 7, "Chen Wei", cur=(5, 2, 1, "800.10")),  # new: no previous row
        P("USER", 1, "Dana Levi", cur=(2, 0, 0, "0.00"), prev=(1, 0, 0, "0.00")),
        P("USER", 5, "Émile Zola-Durand", cur=(4, 2, 2, "800.10"), prev=(4, 2, 2, "800.10")),
        P("USER", 2, "Eli Gone", prev=(3, 1, 3, "700.00"), row_kind="gone", is_new=False),
    ]
    teams = [
        P("GROUP", 4, "Team North", cur=(15, 8, 5, "3300.50"), prev=(12, 7, 5, "3400.00")),
        P("GROUP", 2, "Team South", cur=(14, 6, 6, "4300.10"), prev=(10, 4, 2, "1000.00")),
    ]
    rank_all(reps + teams)
    totals = [P("USER", 0, "All reps", cur=(27, 13, 10, "5200.60"), prev=(21, 10, 9, "4900.25"),
                row_kind="total", is_new=False),
              P("GROUP", 0, "All teams", cur=(26, 13, 10, "7100.60"), prev=(20, 10, 6, "4000.00"),
                row_kind="total", is_new=False)]
    return reps, teams, totals


def load(path):
    with warnings.catch_warnings():  # openpyxl drops the x14 data-bar extension it cannot read
        warnings.simplefilter("ignore")
        with open(path, "rb") as f:
            return openpyxl.load_workbook(io.BytesIO(f.read()))


def sheet_xml(path, name):
    """The XML of the sheet called @p name (through workbook.xml and its relationships)."""
    with zipfile.ZipFile(path) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        rid = next(s.get(f"{{{NS['r']}}}id") for s in wb.iter(f"{{{NS['m']}}}sheet")
                   if s.get("name") == name)
        target = next(r.get("Target") for r in rels if r.get("Id") == rid)
        return z.read("xl/" + target.lstrip("/").replace("xl/", "", 1)).decode(), target


def parse_report(ws):
    """The Report sheet as (header row, {"Reps": table, "Teams": table}): each table's ranked
    rows (values by header) and their 1-based row numbers, its total line and row, its note,
    and any other line (a cut note, "No teams in this period.")."""
    rows = list(ws.iter_rows(values_only=True))
    header_row = next(i for i, r in enumerate(rows) if r[0] == "Rank") + 1
    tables, cur = {}, None
    for i, r in enumerate(rows[header_row:], start=header_row + 1):
        a, b, c = r[0], r[1], r[2] if len(r) > 2 else None
        if isinstance(a, str) and a.endswith(", ranked by amount won"):
            cur = tables.setdefault(a.split(",")[0], {"rows": [], "row_numbers": [], "total": None,
                                                      "total_row": None, "note": None, "extra": []})
        elif cur is None:
            continue
        elif isinstance(a, (int, float)):
            cur["rows"].append(dict(zip(HEADERS, r)))
            cur["row_numbers"].append(i)
        elif a is None and b is not None and isinstance(c, (int, float)):
            cur["total"], cur["total_row"] = dict(zip(HEADERS, r)), i
        elif isinstance(a, str) and "counts each deal once" in a:
            cur["note"] = a
        elif any(v is not None for v in r):
            cur["extra"].append(tuple(v for v in r if v is not None))
    return header_row, tables


class ReportBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        plugdir = os.environ.get("DYNOREPORT_BUILD_PLUGIN_DIR")
        if not plugdir:
            raise AssertionError("test_xlsx_report needs DYNOREPORT_BUILD_PLUGIN_DIR "
                                 "(set by ctest)")
        cls.so = os.path.join(plugdir, "xlsx.so")
        cls.lib = C.CDLL(cls.so, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        cls.lib.dr_plugin_entry.restype = C.POINTER(sdk.Plugin)
        cls.plugin = cls.lib.dr_plugin_entry().contents

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="drtest-xlsx-report-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, ".report.xlsx.tmp-abc123")
        open(self.path, "wb").close()

    def write(self, principals, view=VIEW, options=(), expect=OK, **kw):
        compare = view is not None and view["compare"] != "none"
        s = sdk.Session(self.plugin, self.path, schema=SCHEMA, run=RUN, view=view,
                        options=options, **kw)
        self.addCleanup(s.destroy)
        st = s.open()
        if expect != OK and st != OK:
            self.assertEqual(st, expect, s.error)
            return s, None
        self.assertEqual(st, OK, s.error)
        for p in host_order(principals):
            cells = p.cells(compare)
            self.assertEqual(s.row([value(c, cells[c[0]]) for c in SCHEMA]), OK, s.error)
        self.assertEqual(s.end(), OK, s.error)
        s.destroy()
        self.assertEqual(os.listdir(self.dir), [os.path.basename(self.path)],
                         "libxlsxwriter left temporary files")
        return s, load(self.path)


def expected_order(ps):
    """The table's order: principals by rank, then the gone ones by rank."""
    return sorted((p for p in ps if p.row_kind != "total"),
                  key=lambda p: (p.row_kind == "gone", p.rank))


class ReportSheetTest(ReportBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reps, cls.teams, cls.totals = sample_run()

    def setUp(self):
        super().setUp()
        self.logs, self.wb = self.write(self.reps + self.teams + self.totals)
        self.ws = self.wb["Report"]
        self.header_row, self.tables = parse_report(self.ws)

    # ---- sheets and title -------------------------------------------------------------------

    def test_sheets_and_the_report_opens_first(self):
        self.assertEqual(self.wb.sheetnames, ["Report", "Data", "Run"])
        self.assertEqual(self.wb.active.title, "Report")
        self.assertEqual(self.ws.sheet_view.tabSelected, True)

    def test_title_block(self):
        a = [self.ws.cell(row=r, column=1).value for r in range(1, 5)]
        self.assertEqual(a[0], "Representative Performance")
        self.assertEqual(a[1], "Contoso Vertrieb & Söhne \u2014 October 2026")
        self.assertIn("America/New_York", a[2])
        self.assertIn("Compared with September 2026 (the previous period)", a[2])
        self.assertIn("Generated 2026-11-02 09:15 -05:00", a[3])
        self.assertIn(RUN_ID, a[3])
        self.assertTrue(self.ws["A1"].font.b)
        self.assertGreater(self.ws["A1"].font.sz, 12)

    def test_headers(self):
        self.assertEqual([c.value for c in self.ws[self.header_row]], HEADERS)
        group = [c.value for c in self.ws[self.header_row - 1]]
        self.assertEqual((group[2], group[9], group[12]),
                         ("October 2026", "September 2026", "Change"))
        merged = {str(r) for r in self.ws.merged_cells.ranges}
        g = self.header_row - 1
        self.assertTrue({f"C{g}:I{g}", f"J{g}:L{g}", f"M{g}:N{g}"} <= merged, merged)

    # ---- ranking and names -------------------------------------------------------------------

    def test_reps_and_teams_apart_in_rank_order_with_names(self):
        for title, ps in (("Reps", self.reps), ("Teams", self.teams)):
            want = expected_order(ps)
            got = self.tables[title]["rows"]
            self.assertEqual([r["Name"] for r in got], [p.name for p in want], title)
            self.assertEqual([r["Rank"] for r in got], [p.rank for p in want], title)
        # the rank column goes 1, 2, ... and the gone rep comes last
        reps = self.tables["Reps"]["rows"]
        self.assertEqual(reps[0]["Name"], "Ben Okafor")
        self.assertEqual(reps[-1]["Name"], "Eli Gone")
        # a tie on amount (800.10) is broken by deals won, then by name: the host's rank
        self.assertLess([r["Name"] for r in reps].index("Chen Wei"),
                        [r["Name"] for r in reps].index("Émile Zola-Durand"))

    def test_no_uuid_on_the_report_sheet(self):
        for row in self.ws.iter_rows(min_row=1):
            for c in row:
                if isinstance(c.value, str) and c.row > 4:  # the run id is in the title block
                    self.assertIsNone(UUID_RE.search(c.value), c.coordinate)

    # ---- totals --------------------------------------------------------------------------

    def test_total_lines_are_the_total_rows_not_the_sums(self):
        for title, total, ps in (("Reps", self.totals[0], self.reps),
                                 ("Teams", self.totals[1], self.teams)):
            t = self.tables[title]["total"]
            self.assertEqual(t["Name"], total.name)
            self.assertIsNone(t["Rank"])
            self.assertEqual((t["Deals created"], t["Deals won"], t["Deals lost"]),
                             (total.created, total.won, total.lost))
            self.assertEqual(D(str(t["Amount won"])), total.amount)
            self.assertEqual(D(str(t["Win rate"])), total.win_rate)
            self.assertEqual(D(str(t["Prev. amount won"])), D(total.prev[3]))
            self.assertEqual(t["Prev. deals won"], total.prev[1])
            self.assertEqual(D(str(t["Change in amount won"])), total.amount - D(total.prev[3]))
            summed = sum(p.amount for p in ps if p.row_kind != "total")
            self.assertNotEqual(D(str(t["Amount won"])), summed, "the total is not the sum")
            row = self.tables[title]["total_row"]
            for col in "ABFIN":
                cell = self.ws[f"{col}{row}"]
                self.assertTrue(cell.font.b, cell.coordinate)
                self.assertEqual(cell.border.top.style, "thin", cell.coordinate)
            note = self.tables[title]["note"]
            self.assertIsNotNone(note, title)
            self.assertIn("counts each deal once", note)
            self.assertIn("do not add up to the total", note)
            self.assertEqual(self.ws.cell(row=row + 1, column=1).value, note,
                             "the note is under it")

    # ---- the comparison period -------------------------------------------------------------

    def test_previous_period_and_change(self):
        got = {r["Name"]: r for r in self.tables["Reps"]["rows"] + self.tables["Teams"]["rows"]}
        for p in self.reps + self.teams:
            r = got[p.name]
            with self.subTest(name=p.name):
                if p.is_new:
                    self.assertIsNone(r["Prev. amount won"])
                    self.assertIsNone(r["Prev. deals won"])
                    self.assertEqual((r["Change in amount won"], r["Change in win rate"]),
                                     ("new", "new"))
                    continue
                self.assertEqual(D(str(r["Prev. amount won"])), D(p.prev[3]))
                self.assertEqual(r["Prev. deals won"], p.prev[1])
                if p.prev_win_rate is None:
                    self.assertIsNone(r["Prev. win rate"])
                else:
                    self.assertEqual(D(str(r["Prev. win rate"])), p.prev_win_rate)
                # the exact signed difference of the decimals (no binary noise)
                self.assertEqual(D(str(r["Change in amount won"])), p.amount - D(p.prev[3]))
                if p.win_rate is not None and p.prev_win_rate is not None:
                    pp = (p.win_rate - p.prev_win_rate) * 100
                    self.assertEqual(D(str(r["Change in win rate"])), pp.normalize())
                elif p.row_kind == "gone":
                    self.assertEqual(r["Change in win rate"], "gone")
                else:
                    self.assertIsNone(r["Change in win rate"])
        # concrete: Ana +500.25 and +10 pp, Ben -500.00 and -25 pp
        self.assertEqual(got["Ana Lima"]["Change in amount won"], 500.25)
        self.assertEqual(got["Ana Lima"]["Change in win rate"], 10)
        self.assertEqual(got["Ben Okafor"]["Change in amount won"], -500)
        self.assertEqual(got["Ben Okafor"]["Change in win rate"], -25)

    def test_change_formats_show_arrows_and_points(self):
        rows = dict(zip([r["Name"] for r in self.tables["Reps"]["rows"]],
                        self.tables["Reps"]["row_numbers"]))
        up, down = rows["Ana Lima"], rows["Ben Okafor"]
        fmt_amount = self.ws[f"M{up}"].number_format
        fmt_pp = self.ws[f"N{up}"].number_format
        for fmt in (fmt_amount, fmt_pp):
            pos, neg = fmt.split(";")[:2]
            self.assertIn(UP, pos)
            self.assertIn(DOWN, neg)
        self.assertIn("pp", fmt_pp)
        self.assertIn('"EUR"', fmt_amount)
        self.assertEqual(self.ws[f"M{up}"].font.color.rgb[-6:], "1E7B34")   # green up
        self.assertEqual(self.ws[f"M{down}"].font.color.rgb[-6:], "C00000")  # red down

    def test_gone_rows_have_zeros_now_and_previous_values(self):
        gone = self.tables["Reps"]["rows"][-1]
        self.assertEqual(gone["Name"], "Eli Gone")
        self.assertEqual((gone["Deals created"], gone["Deals won"], gone["Deals lost"]), (0, 0, 0))
        self.assertEqual(gone["Amount won"], 0)
        self.assertEqual(gone["Prev. amount won"], 700)
        self.assertEqual(gone["Change in amount won"], -700)
        self.assertEqual(gone["Change in win rate"], "gone")
        row = self.tables["Reps"]["row_numbers"][-1]
        self.assertTrue(self.ws[f"B{row}"].font.i, "a gone rep is set apart")

    # ---- formats -------------------------------------------------------------------------------

    def test_currency_and_number_formats(self):
        first = self.tables["Reps"]["row_numbers"][0]
        self.assertEqual(self.ws[f"F{first}"].number_format, '#,##0.00 "EUR"')
        self.assertEqual(self.ws[f"G{first}"].number_format, '#,##0.00 "EUR"')
        self.assertEqual(self.ws[f"J{first}"].number_format, '#,##0.00 "EUR"')
        self.assertEqual(self.ws[f"I{first}"].number_format, "0.0%")
        self.assertEqual(self.ws[f"C{first}"].number_format, "#,##0")
        # the Data sheet keeps its own typed formats
        self.assertEqual(self.wb["Data"]["J2"].number_format, "#,##0.00")

    def test_conditional_formats_on_the_ranked_rows(self):
        got = {}
        for cf in self.ws.conditional_formatting:
            for rule in cf.rules:
                got.setdefault(rule.type, set()).add(str(cf.sqref))
        want_bar, want_scale = set(), set()
        for title in ("Reps", "Teams"):
            nums = self.tables[title]["row_numbers"]
            want_bar.add(f"F{nums[0]}:F{nums[-1]}")
            want_scale.add(f"I{nums[0]}:I{nums[-1]}")
            self.assertEqual(nums[-1] + 1, self.tables[title]["total_row"], "the total is left out")
        self.assertEqual(got.get("dataBar"), want_bar)
        self.assertEqual(got.get("colorScale"), want_scale)
        xml, _ = sheet_xml(self.path, "Report")
        scales = re.findall(r"<colorScale>(.*?)</colorScale>", xml)
        self.assertEqual(len(scales), 2)
        for sc in scales:  # red for the lowest win rate, yellow, green for the highest
            self.assertEqual(re.findall(r'<color rgb="FF([0-9A-F]{6})"', sc),
                             ["F8696B", "FFEB84", "63BE7B"])

    # ---- chart ---------------------------------------------------------------------------------

    def chart_xml(self):
        with zipfile.ZipFile(self.path) as z:
            names = z.namelist()
            charts = [n for n in names if n.startswith("xl/charts/chart")]
            self.assertEqual(charts, ["xl/charts/chart1.xml"])
            rels = z.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
            self.assertIn("drawing1.xml", rels, "the chart is on the first sheet, Report")
            self.assertIn("chart1.xml", z.read("xl/drawings/_rels/drawing1.xml.rels").decode())
            return ET.fromstring(z.read("xl/charts/chart1.xml")), z.read("xl/drawings/drawing1.xml")

    def test_chart_of_the_reps_this_period_and_the_previous(self):
        chart, drawing = self.chart_xml()
        bar = chart.find(".//c:barChart", NS)
        self.assertIsNotNone(bar)
        self.assertEqual(bar.find("c:barDir", NS).get("val"), "bar")
        self.assertEqual(bar.find("c:grouping", NS).get("val"), "clustered")
        series = bar.findall("c:ser", NS)
        self.assertEqual(len(series), 2)
        principals = [p for p in expected_order(self.reps) if p.row_kind == "principal"]
        nums = self.tables["Reps"]["row_numbers"]
        first, last = nums[0], nums[len(principals) - 1]  # not the gone rep
        cat = [s.find("c:cat//c:f", NS).text for s in series]
        val = [s.find("c:val//c:f", NS).text for s in series]
        self.assertEqual(cat, [f"Report!$B${first}:$B${last}"] * 2)
        self.assertEqual(val, [f"Report!$F${first}:$F${last}", f"Report!$J${first}:$J${last}"])
        self.assertEqual([s.find("c:tx//c:v", NS).text for s in series],
                         ["October 2026", "September 2026"])
        # the ranges hold the names and amounts of the ranked reps
        self.assertEqual([self.ws[f"B{r}"].value for r in range(first, last + 1)],
                         [p.name for p in principals])
        # under the tables, not over them
        xdr = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
        anchor = ET.fromstring(drawing).find(f".//{xdr}from")
        row = int(anchor.find(f"{xdr}row").text)  # 0-based
        self.assertGreater(row + 1, self.tables["Teams"]["total_row"])

    # ---- print ---------------------------------------------------------------------------------

    def test_print_setup(self):
        ps = self.ws.page_setup
        self.assertEqual(ps.orientation, "landscape")
        self.assertEqual(ps.fitToHeight, 0)
        self.assertIn(ps.fitToWidth, (None, 1))  # absent means 1
        self.assertTrue(self.ws.sheet_properties.pageSetUpPr.fitToPage)
        h = self.header_row
        self.assertEqual(self.ws.print_title_rows, f"${h - 1}:${h}")
        self.assertEqual(self.ws.freeze_panes, f"A{h + 1}")
        xml, _ = sheet_xml(self.path, "Report")
        footer = re.search(r"<oddFooter>(.*?)</oddFooter>", xml).group(1)
        self.assertIn("Page &amp;P of &amp;N", footer)
        self.assertIn("October 2026", footer)
        self.assertIn("Contoso Vertrieb \uff06 Söhne", footer, "'&' is not taken for a code")
        self.assertIsNotNone(re.search(r'<pageSetup [^>]*orientation="landscape"', xml))
        self.assertIsNotNone(re.search(r'<pageSetup [^>]*fitToHeight="0"', xml))
        self.assertIsNone(re.search(r'<pageSetup [^>]*fitToWidth="(?!1")', xml))
        self.assertIn('<pageSetUpPr fitToPage="1"/>', xml)
        # the print area covers the table's columns A..N
        self.assertIn("$A$1:$N$", str(self.ws.print_area))

    # ---- the other sheets ------------------------------------------------------------------

    def test_data_sheet_holds_the_fact_rows_only(self):
        ws = self.wb["Data"]
        self.assertEqual([c.value for c in ws[1]], [l for _, l, _, _ in FACT])
        facts = [p for p in host_order(self.reps + self.teams) if p.row_kind == "principal"]
        got = [(r[2], r[3]) for r in ws.iter_rows(min_row=2, values_only=True)]
        self.assertEqual(got, [(p.type, p.id) for p in facts])
        self.assertEqual(ws.auto_filter.ref, f"A1:M{len(facts) + 1}")
        self.assertEqual(ws.freeze_panes, "A2")

    def test_run_sheet_has_the_view(self):
        meta = {r[0]: r[1] for r in self.wb["Run"].iter_rows(max_col=2, values_only=True)}
        self.assertEqual(meta["Tenant name"], VIEW["tenant_name"])
        self.assertEqual(meta["Period title"], "October 2026")
        self.assertEqual(meta["Comparison"], "previous")
        self.assertEqual(meta["Comparison title"], "September 2026")
        self.assertEqual(meta["Currency"], "EUR")
        self.assertEqual(meta["Rows"], len(self.reps) + len(self.teams) - 1)  # not the gone one
        self.assertEqual(meta["Tenant"], TENANT)


class ReportVariantsTest(ReportBase):
    def test_no_comparison(self):
        reps, teams, totals = sample_run()
        for p in reps + teams + totals:
            p.prev = None
        reps = [p for p in reps if p.row_kind != "gone"]
        _, wb = self.write(reps + teams + totals, view=NO_COMPARE)
        ws = wb["Report"]
        header_row, tables = parse_report(ws)
        self.assertEqual([c.value for c in ws[header_row]], HEADERS[:9])
        self.assertEqual(ws.max_column, 9)
        self.assertIn("No comparison period", ws["A3"].value)
        self.assertEqual(ws.print_title_rows, f"${header_row}:${header_row}")
        with zipfile.ZipFile(self.path) as z:
            chart = ET.fromstring(z.read("xl/charts/chart1.xml"))
        self.assertEqual(len(chart.findall(".//c:ser", NS)), 1)
        meta = {r[0]: r[1] for r in wb["Run"].iter_rows(max_col=2, values_only=True)}
        self.assertEqual(meta["Comparison"], "none")
        self.assertNotIn("Comparison start", meta)

    def test_no_currency(self):
        reps, teams, totals = sample_run()
        _, wb = self.write(reps + teams + totals, view=dict(VIEW, currency=""))
        _, tables = parse_report(wb["Report"])
        first = tables["Reps"]["row_numbers"][0]
        self.assertEqual(wb["Report"][f"F{first}"].number_format, "#,##0.00")
        self.assertNotIn("EUR", wb["Report"][f"M{first}"].number_format)

    def test_unusable_currency_is_left_out_with_a_warning(self):
        reps, teams, totals = sample_run()
        s, wb = self.write(reps + teams + totals, view=dict(VIEW, currency='E"R'))
        _, tables = parse_report(wb["Report"])
        first = tables["Reps"]["row_numbers"][0]
        self.assertEqual(wb["Report"][f"F{first}"].number_format, "#,##0.00")
        self.assertTrue(any(lvl == 1 and "currency" in msg for lvl, msg in s.logs), s.logs)

    def test_empty_tables_and_a_principal_without_a_name(self):
        rep = P("USER", 1, "", cur=(1, 1, 0, "5.00"), prev=(1, 0, 1, "0.00"))
        rank_all([rep])
        _, wb = self.write([rep, P("USER", 0, "All reps", cur=(1, 1, 0, "5.00"),
                                   prev=(1, 0, 1, "0.00"), row_kind="total", is_new=False)])
        _, tables = parse_report(wb["Report"])
        self.assertEqual(tables["Reps"]["rows"][0]["Name"], f"[user {rep.id[:8]}]")
        self.assertEqual(tables["Teams"]["rows"], [])
        self.assertIsNone(tables["Teams"]["total"])
        self.assertIn(("No teams in this period.",), tables["Teams"]["extra"])

    def test_names_are_text_and_long_ones_cut(self):
        reps = [P("USER", 1, "=HYPERLINK(\"http://x\",\"y\")", cur=(1, 1, 0, "9.00")),
                P("USER", 2, "N" * 300, cur=(1, 1, 0, "8.00")),
                P("USER", 3, "_x0041_ literal", cur=(1, 1, 0, "7.00"))]
        rank_all(reps)
        _, wb = self.write(reps)
        _, tables = parse_report(wb["Report"])
        names = [r["Name"] for r in tables["Reps"]["rows"]]
        self.assertEqual(names[0], reps[0].name)
        self.assertEqual(names[1], "N" * 200 + "\u2026")
        xml, _ = sheet_xml(self.path, "Report")
        self.assertNotIn("<f>", xml)
        # a literal "_x0041_" is escaped, so Excel and LibreOffice do not decode it (openpyxl
        # does not undo the escape: test_xlsx_plugin checks LibreOffice's reading)
        self.assertIn("<t>_x005F_x0041_ literal</t>", xml)

    def test_at_most_2000_per_table_the_best_ranks(self):
        n = 2100
        reps = [P("USER", i, f"Rep {i:04d}", cur=(3, 2, 1, f"{(i * 7919) % 100000}.{i % 100:02d}"),
                  prev=(1, 1, 0, "1.00")) for i in range(n)]
        rank_all(reps)
        random.Random(4).shuffle(reps)  # arrival order unrelated to rank (host order is by id)
        s, wb = self.write(reps)
        _, tables = parse_report(wb["Report"])
        got = tables["Reps"]["rows"]
        self.assertEqual(len(got), 2000)
        self.assertEqual([r["Rank"] for r in got], list(range(1, 2001)))
        want = {p.rank: p.name for p in reps}
        self.assertEqual([r["Name"] for r in got[:5]], [want[k] for k in range(1, 6)])
        self.assertEqual(got[-1]["Name"], want[2000])
        notes = [" ".join(str(v) for v in r if v) for r in tables["Reps"]["extra"]]
        self.assertTrue(any("2000 of 2100 reps" in t and "Data sheet" in t for t in notes), notes)
        self.assertEqual(wb["Data"].max_row, n + 1, "the Data sheet has every row")

    def test_sheet_name_option_names_the_data_sheet(self):
        reps, teams, totals = sample_run()
        _, wb = self.write(reps + teams + totals,
                           options=[("sheet_name", "Facts"), ("max_rows", "3")])
        self.assertEqual(wb.sheetnames, ["Report", "Facts", "Facts (2)", "Facts (3)", "Run"])
        self.assertEqual(wb.active.title, "Report")

    def test_rows_of_an_unknown_kind_are_left_out(self):
        reps, teams, totals = sample_run()
        odd = P("USER", 77, "Subtotal Q", cur=(1, 1, 0, "99999.00"), row_kind="subtotal")
        s, wb = self.write(reps + teams + totals + [odd])
        _, tables = parse_report(wb["Report"])
        self.assertNotIn("Subtotal Q", [r["Name"] for r in tables["Reps"]["rows"]])
        nfacts = sum(p.row_kind == "principal" for p in reps + teams)
        self.assertEqual(wb["Data"].max_row, 1 + nfacts)

    # ---- hosts -------------------------------------------------------------------------------

    def test_a_11_host_gets_the_11_workbook(self):
        """dr_open_args of ABI 1.1 (no view field): whatever lies past its size is not read."""
        reps, teams, totals = sample_run()
        s = sdk.Session(self.plugin, self.path, schema=FACT, run=RUN, view=VIEW,
                        args_size=sdk.OpenArgs.view.offset)
        self.addCleanup(s.destroy)
        self.assertEqual(s.open(), OK, s.error)
        for p in host_order(reps + teams):
            if p.row_kind == "principal":
                cells = p.cells()
                self.assertEqual(s.row([value(c, cells[c[0]]) for c in FACT]), OK, s.error)
        self.assertEqual(s.end(), OK, s.error)
        wb = load(self.path)
        self.assertEqual(wb.sheetnames, ["Performance", "Run"])
        self.assertNotIn("Tenant name", [r[0] for r in wb["Run"].iter_rows(values_only=True)])

    def test_bad_views_are_refused(self):
        for what, kw, words in [
            ("another ABI", dict(view=VIEW, view_size=None), "ABI"),
            ("too small", dict(view=VIEW, view_size=16), "bytes"),
            ("no fact columns", dict(view=dict(VIEW, nfact_columns=0)), "fact columns"),
            ("all fact columns", dict(view=dict(VIEW, nfact_columns=len(SCHEMA))), "fact columns"),
        ]:
            with self.subTest(what=what):
                s = sdk.Session(self.plugin, self.path, schema=SCHEMA, run=RUN, **kw)
                if what == "another ABI":
                    s.args.view.contents.abi_major = 2
                self.assertEqual(s.open(), EFAIL)
                self.assertFalse(s.handle)
                self.assertIn(words, s.error)
        schema = [c for c in SCHEMA if c[0] != "prev_win_rate"]
        s = sdk.Session(self.plugin, self.path, schema=schema, run=RUN, view=VIEW)
        self.assertEqual(s.open(), EFAIL)
        self.assertIn("prev_win_rate", s.error)
        self.assertEqual(os.path.getsize(self.path), 0)
        self.assertEqual(os.listdir(self.dir), [os.path.basename(self.path)])

    def test_destroy_without_end_leaves_nothing(self):
        fds = sdk.open_fds()
        reps, teams, totals = sample_run()
        s = sdk.Session(self.plugin, self.path, schema=SCHEMA, run=RUN, view=VIEW)
        self.assertEqual(s.open(), OK, s.error)
        for p in host_order(reps + teams + totals):
            cells = p.cells()
            self.assertEqual(s.row([value(c, cells[c[0]]) for c in SCHEMA]), OK, s.error)
        s.destroy()
        self.assertEqual(sdk.open_fds(), fds, "temporary files left open")
        self.assertEqual(os.path.getsize(self.path), 0)
        self.assertEqual(os.listdir(self.dir), [os.path.basename(self.path)])


def run_feed(flags, so, out):
    feed = os.environ.get("DYNOREPORT_PLUGIN_FEED")
    if not feed:
        raise AssertionError("test_xlsx_report needs DYNOREPORT_PLUGIN_FEED (set by ctest)")
    return subprocess.run([feed] + list(flags) + [so, out], capture_output=True, text=True,
                          timeout=120)


class PluginFeedTest(ReportBase):
    """plugin_feed as the 1.2 host: its fixed run (tests/tools/plugin_feed.c) and 60 reps."""

    def feed(self, *flags):
        out = os.path.join(self.dir, "feed.xlsx")
        p = run_feed(flags, self.so, out)
        self.assertEqual(p.returncode, 0, p.stderr)
        return out, load(out)

    def test_without_view_the_workbook_is_the_old_one(self):
        for flags in ((), ("--view", "--host-abi", "1.1")):
            with self.subTest(flags=flags):
                _, wb = self.feed(*flags)
                self.assertEqual(wb.sheetnames, ["Performance", "Run"])
                self.assertEqual(wb["Performance"].max_row, 8)

    def test_fixed_run(self):
        out, wb = self.feed("--view")
        self.assertEqual(wb.sheetnames, ["Report", "Data", "Run"])
        ws = wb["Report"]
        self.assertEqual(ws["A2"].value, "Acme Möbel GmbH \u2014 October 2026")
        _, tables = parse_report(ws)
        reps, teams = tables["Reps"], tables["Teams"]
        self.assertEqual([(r["Rank"], r["Name"]) for r in reps["rows"]],
                         [(1, "Jörg Schäfer"), (2, "[user 1a2b3c4d]"), (3, "Gunnar Østergård")])
        self.assertEqual([(r["Rank"], r["Name"]) for r in teams["rows"]],
                         [(1, "Vertrieb Nord & Ost"), (2, 'Team Süd; "Key Accounts"')])
        first = reps["rows"][0]
        self.assertEqual((first["Change in amount won"], first["Change in win rate"]),
                         ("new", "new"))
        second = reps["rows"][1]
        self.assertEqual(D(str(second["Change in amount won"])),
                         D("123456789012.35") - D("98765.43"))
        self.assertEqual(second["Change in win rate"], 16.67)
        gone = reps["rows"][2]
        self.assertEqual((gone["Amount won"], gone["Prev. amount won"],
                          gone["Change in amount won"],
                          gone["Change in win rate"]), (0, 1500, -1500, "gone"))
        total = reps["total"]  # the total row of plugin_feed: not the sum of the rows
        self.assertEqual((total["Name"], total["Deals created"], total["Deals won"]),
                         ("All reps", 2147483652, 4))
        self.assertEqual(total["Amount won"], 1100000000000)
        self.assertEqual(total["Prev. amount won"], 99000)
        self.assertEqual(total["Change in win rate"], 22.86)
        self.assertEqual((teams["total"]["Name"], teams["total"]["Prev. amount won"]),
                         ("All teams", 350))
        self.assertEqual(wb["Data"].max_row, 8, "the 7 fact rows, not the gone or total rows")

    def test_sixty_reps(self):
        out, wb = self.feed("--view", "--principals", "60")
        ws = wb["Report"]
        _, tables = parse_report(ws)
        reps = tables["Reps"]["rows"]
        self.assertEqual(len(reps), 60)
        self.assertEqual([r["Rank"] for r in reps], list(range(1, 61)))
        amounts = [r["Amount won"] for r in reps if not r["Change in win rate"] == "gone"]
        self.assertEqual(amounts, sorted(amounts, reverse=True), "ranked by amount won")
        self.assertTrue(all(r["Name"] and not UUID_RE.search(r["Name"]) for r in reps))
        self.assertEqual(len(tables["Teams"]["rows"]), 7)
        # the chart shows the first 15 reps
        with zipfile.ZipFile(out) as z:
            chart = ET.fromstring(z.read("xl/charts/chart1.xml"))
        nums = tables["Reps"]["row_numbers"]
        self.assertEqual([s.find("c:cat//c:f", NS).text for s in chart.findall(".//c:ser", NS)],
                         [f"Report!$B${nums[0]}:$B${nums[14]}"] * 2)


class PrintTest(ReportBase):
    """LibreOffice renders the Report sheet of a 60-rep run: landscape, one page wide."""

    FOOTER = "Representative Performance \u00b7 Acme Möbel GmbH \u00b7 October 2026"

    def test_report_prints_one_page_wide(self):
        soffice = shutil.which("soffice")
        self.assertIsNotNone(soffice, "soffice not found: install libreoffice-calc-nogui")
        for tool in ("pdfinfo", "pdftotext", "pdftoppm"):
            self.assertIsNotNone(shutil.which(tool), f"{tool} not found: install poppler-utils")
        src = os.path.join(self.dir, "sixty.xlsx")
        p = run_feed(["--view", "--principals", "60"], self.so, src)
        self.assertEqual(p.returncode, 0, p.stderr)
        # soffice in its own profile, never under a sanitizer runtime preloaded for this process
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        env["HOME"] = self.dir
        subprocess.run([soffice, f"-env:UserInstallation=file://{self.dir}/profile", "--headless",
                        "--convert-to", "pdf", "--outdir", self.dir, src], capture_output=True,
                       timeout=180, env=env)
        pdf = os.path.join(self.dir, "sixty.pdf")
        self.assertTrue(os.path.exists(pdf), "LibreOffice wrote no PDF")
        info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", pdf], capture_output=True,
                              text=True, check=True).stdout
        sizes = re.findall(r"Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+)", info)
        pages = []
        for n, w, h in sizes:
            text = subprocess.run(["pdftotext", "-layout", "-f", n, "-l", n, pdf, "-"],
                                  capture_output=True, text=True, check=True).stdout
            pages.append((int(n), float(w), float(h), text))
        report = [pg for pg in pages if self.FOOTER in pg[3]]
        self.assertGreaterEqual(len(report), 1, "no page has the Report sheet's footer")
        self.assertEqual([pg[0] for pg in report], list(range(1, len(report) + 1)),
                         "the Report sheet prints first")
        self.assertLessEqual(len(report), 4, "60 reps, 7 teams and the chart: a few pages down")
        for n, w, h, text in report:
            with self.subTest(page=n):
                self.assertGreater(w, h, "landscape")
                # one page wide: every page has the first and the last column's header
                # (repeated) and the page numbers count the pages down only
                self.assertIn("Rank", text)
                self.assertIn("win rate", text)
                self.assertIn(f"Page {n} of", text)
        page1 = report[0][3]
        for words in ("Representative Performance", "Acme Möbel GmbH", "October 2026",
                      "America/New_York", "Rep 01 Müller", "Change in amount"):
            self.assertIn(words, page1)
        alltext = "".join(pg[3] for pg in report)
        for words in ("Rep 60 Koch", "All reps", "Team 07 Bayern", "All teams",
                      "Amount won, top 15 reps", "counts each deal once"):
            self.assertIn(words, alltext)
        # each rep line is whole on its page: its name and its last column together
        line = next(l for l in page1.splitlines() if "Rep 03 Schneider" in l)
        self.assertRegex(line, r"pp\s*$")
        # page 1 as an image: a rendered page, not an empty one
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", pdf,
                        os.path.join(self.dir, "page")], check=True, capture_output=True)
        png = [f for f in os.listdir(self.dir) if f.startswith("page") and f.endswith(".png")]
        self.assertEqual(len(png), 1)
        self.assertGreater(os.path.getsize(os.path.join(self.dir, png[0])), 10000)


if __name__ == "__main__":
    unittest.main()
