"""The "xlsx" plugin driven directly through the SDK (ctypes mirrors of
include/dynoreport/plugin.h): the cases a database cannot produce - formula-like and
control-character text, NaN, dates outside a spreadsheet's range, integers past 2^53,
booleans, an empty report, a host with a smaller dr_run_info, sheet names at the 31-character
limit, errors, and destroy without end (no temporary files, no open descriptors left).

Needs only DYNOREPORT_BUILD_PLUGIN_DIR (set by ctest) and python3-openpyxl; no database.
"""
import csv
import ctypes as C
import datetime as dt
import io
import os
import shutil
import subprocess
import tempfile
import unittest
import zipfile

import openpyxl

ABI_MAJOR = 1
OK, EOPTION, EIO, ENOMEM, EFAIL = range(5)
TEXT, UUID, INT64, DECIMAL, TIMESTAMP, BOOLEAN = range(6)


class Column(C.Structure):
    _fields_ = [("name", C.c_char_p), ("label", C.c_char_p), ("type", C.c_int), ("scale", C.c_int)]


class Timestamp(C.Structure):
    _fields_ = [(n, C.c_int) for n in ("year", "month", "day", "hour", "minute", "second",
                                       "microsecond", "offset_minutes")]


class Value(C.Structure):
    _fields_ = [("is_null", C.c_int), ("text", C.c_char_p), ("len", C.c_size_t),
                ("i64", C.c_int64), ("f64", C.c_double), ("ts", Timestamp)]


class Option(C.Structure):
    _fields_ = [("key", C.c_char_p), ("value", C.c_char_p)]


RUN_FIELDS = ["report", "run_id", "tenant_id", "period_label", "period_start", "period_end",
              "time_zone", "generated_at", "principals", "tool_version"]


class RunInfo(C.Structure):
    _fields_ = [("abi_major", C.c_uint32), ("size", C.c_uint32)] + [(n, C.c_char_p) for n in RUN_FIELDS]


LOGFN = C.CFUNCTYPE(None, C.c_void_p, C.c_int, C.c_char_p)

VIEW_FIELDS = ["tenant_name", "period_title", "compare", "compare_title", "compare_start",
               "compare_end", "currency"]


class ReportView(C.Structure):  # ABI 1.2
    _fields_ = ([("abi_major", C.c_uint32), ("size", C.c_uint32)] +
                [(n, C.c_char_p) for n in VIEW_FIELDS] + [("nfact_columns", C.c_size_t)])


class OpenArgs(C.Structure):
    _fields_ = [("abi_major", C.c_uint32), ("size", C.c_uint32), ("run", C.POINTER(RunInfo)),
                ("columns", C.POINTER(Column)), ("ncolumns", C.c_size_t), ("path", C.c_char_p),
                ("options", C.POINTER(Option)), ("noptions", C.c_size_t), ("log", LOGFN),
                ("log_ctx", C.c_void_p), ("errbuf", C.POINTER(C.c_char)),
                ("errbuf_size", C.c_size_t),
                ("view", C.POINTER(ReportView))]  # ABI 1.2, appended


OPENFN = C.CFUNCTYPE(C.c_int, C.POINTER(OpenArgs), C.POINTER(C.c_void_p))
ROWFN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.POINTER(Value))
ENDFN = C.CFUNCTYPE(C.c_int, C.c_void_p)
DESTROYFN = C.CFUNCTYPE(None, C.c_void_p)
CHECKFN = C.CFUNCTYPE(C.c_int, C.POINTER(OpenArgs))  # ABI 1.1, appended


class Plugin(C.Structure):
    _fields_ = [("abi_major", C.c_uint32), ("size", C.c_uint32), ("name", C.c_char_p),
                ("version", C.c_char_p), ("description", C.c_char_p), ("extension", C.c_char_p),
                ("option_keys", C.POINTER(C.c_char_p)), ("open", OPENFN), ("row", ROWFN),
                ("end", ENDFN), ("destroy", DESTROYFN), ("check_options", CHECKFN),
                ("flags", C.c_uint32),  # ABI 1.2, appended
                ("wants_view", C.c_void_p)]  # ABI 1.3, appended


WANTS_VIEW = 0x1


SCHEMA = [  # name, label, type, scale
    ("note", "Note", TEXT, 0),
    ("id", "Id", UUID, 0),
    ("n", "Count", INT64, 0),
    ("amount", "Amount", DECIMAL, 2),
    ("win_rate", "Win rate", DECIMAL, 4),
    ("avg_time_to_close_days", "Days", DECIMAL, 4),
    ("ratio", "Ratio", DECIMAL, 3),
    ("at", "At", TIMESTAMP, 0),
    ("flag", "Flag", BOOLEAN, 0),
]

RUN = dict(report="rep_performance", run_id="3f2504e0-4f89-41d3-9a0c-0305e82c3301",
           tenant_id="7c9e6679-7425-40de-944b-e07fc1f90ae7", period_label="2026-10",
           period_start="2026-10-01T00:00:00-04:00", period_end="2026-11-01T00:00:00-04:00",
           time_zone="America/New_York", generated_at="2026-11-02T09:15:30.25-05:00",
           principals="USER:1a2b3c4d-0000-4000-8000-000000000003", tool_version="0.1.0")


def load(path, **kw):
    """openpyxl on a file whatever its name (the host's temporary name has no .xlsx)."""
    with open(path, "rb") as f:
        return openpyxl.load_workbook(io.BytesIO(f.read()), **kw)


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def v_null():
    return Value(is_null=1)


def v_text(s):
    b = s.encode("utf-8")
    return Value(text=b, len=len(b))


def v_int(i):
    b = str(i).encode()
    return Value(text=b, len=len(b), i64=i)


def v_dec(text):
    b = text.encode()
    return Value(text=b, len=len(b), f64=float(text))


def v_ts(text):
    """ISO 8601 with offset, split as the host splits it."""
    d = dt.datetime.fromisoformat(text)
    off = int(d.utcoffset().total_seconds() // 60)
    b = text.encode()
    return Value(text=b, len=len(b), ts=Timestamp(d.year, d.month, d.day, d.hour, d.minute,
                                                    d.second, d.microsecond, off))


def v_bool(flag):
    b = b"true" if flag else b"false"
    return Value(text=b, len=len(b), i64=1 if flag else 0)


class Session:
    """One open .. end/destroy of the plugin, owning every buffer the ABI points into."""

    def __init__(self, plugin, path, options=(), schema=SCHEMA, run=RUN, run_size=None,
                 view=None, view_size=None, args_size=None):
        self.plugin, self.logs = plugin, []
        self._keep = []
        cols = (Column * len(schema))(*[Column(n.encode(), l.encode() if l else None, t, s)
                                        for n, l, t, s in schema])
        opts = (Option * max(1, len(options)))(*[Option(k.encode(), v.encode())
                                                 for k, v in options])
        self.errbuf = C.create_string_buffer(1024)
        self.log = LOGFN(lambda ctx, level, msg: self.logs.append((level, msg.decode())))
        run_ptr = None
        if run is not None:
            info = RunInfo(ABI_MAJOR, run_size or C.sizeof(RunInfo),
                           *[(run.get(n) or "").encode() if run.get(n) is not None else None
                             for n in RUN_FIELDS])
            self._keep.append(info)
            run_ptr = C.pointer(info)
        view_ptr = None
        if view is not None:  # a dict of VIEW_FIELDS and nfact_columns (ABI 1.2)
            rv = ReportView(ABI_MAJOR, view_size or C.sizeof(ReportView),
                            *[view[n].encode() for n in VIEW_FIELDS], view["nfact_columns"])
            self._keep.append(rv)
            view_ptr = C.pointer(rv)
        self.args = OpenArgs(ABI_MAJOR, args_size or C.sizeof(OpenArgs), run_ptr, cols,
                             len(schema), path.encode(), opts, len(options), self.log, None,
                             C.cast(self.errbuf, C.POINTER(C.c_char)), C.sizeof(self.errbuf),
                             view_ptr)
        self._keep += [cols, opts]
        self.handle = C.c_void_p()
        self.ncols = len(schema)

    def open(self):
        return self.plugin.open(C.byref(self.args), C.byref(self.handle))

    def row(self, values):
        assert len(values) == self.ncols
        arr = (Value * self.ncols)(*values)
        return self.plugin.row(self.handle, arr)

    def end(self):
        return self.plugin.end(self.handle)

    def destroy(self):
        if self.handle:
            self.plugin.destroy(self.handle)
            self.handle = C.c_void_p()

    @property
    def error(self):
        return self.errbuf.value.decode("utf-8", "replace")


def row_of(note="x", n=1, amount="1.00", rate="0.5000", days="1.5000", ratio="0.125",
           at="2026-10-01T00:00:00-04:00", flag=True, uid="1a2b3c4d-0000-4000-8000-000000000001"):
    return [v_text(note) if note is not None else v_null(), v_text(uid), v_int(n), v_dec(amount),
            v_dec(rate), v_dec(days), v_dec(ratio), v_ts(at), v_bool(flag)]


class XlsxSdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        plugdir = os.environ.get("DYNOREPORT_BUILD_PLUGIN_DIR")
        if not plugdir:
            raise AssertionError("test_xlsx_plugin needs DYNOREPORT_BUILD_PLUGIN_DIR (set by ctest)")
        cls.lib = C.CDLL(os.path.join(plugdir, "xlsx.so"), mode=os.RTLD_NOW | os.RTLD_LOCAL)
        cls.lib.dr_plugin_entry.restype = C.POINTER(Plugin)
        cls.plugin = cls.lib.dr_plugin_entry().contents

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="drtest-xlsx-sdk-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, ".report.xlsx.tmp-abc123")
        open(self.path, "wb").close()  # the host hands over an existing, empty file

    def session(self, **kw):
        s = Session(self.plugin, self.path, **kw)
        self.addCleanup(s.destroy)
        return s

    def write(self, rows, **kw):
        s = self.session(**kw)
        self.assertEqual(s.open(), OK, s.error)
        for r in rows:
            self.assertEqual(s.row(r), OK, s.error)
        self.assertEqual(s.end(), OK, s.error)
        s.destroy()
        self.assertEqual(os.listdir(self.dir), [os.path.basename(self.path)],
                         "libxlsxwriter left temporary files")
        return s, load(self.path)

    # ---- descriptor -----------------------------------------------------------------------

    def test_descriptor(self):
        p = self.plugin
        self.assertEqual(p.abi_major, ABI_MAJOR)
        self.assertEqual(p.size, C.sizeof(Plugin))
        self.assertEqual((p.name, p.version, p.extension), (b"xlsx", b"1.1.0", b"xlsx"))
        self.assertEqual(p.flags, WANTS_VIEW, "the xlsx plugin asks for the report view")
        self.assertIsNone(p.wants_view, "its report sheet needs the view whatever the options")
        keys, i = [], 0
        while p.option_keys[i]:
            keys.append(p.option_keys[i].decode())
            i += 1
        self.assertEqual(keys, ["sheet_name", "max_rows"])

    # ---- values -------------------------------------------------------------------------------

    def test_formula_like_text_stays_text(self):
        notes = ["=1+1", "+A1", "-2", "@SUM(A1:A3)", '=HYPERLINK("http://example.com","x")',
                 "\t=1", " =1"]
        _, wb = self.write([row_of(note=t) for t in notes])
        ws = wb.active
        for i, t in enumerate(notes):
            cell = ws.cell(row=i + 2, column=1)
            self.assertEqual(cell.data_type, "s", t)
            self.assertEqual(cell.value, t)
        with zipfile.ZipFile(self.path) as z:
            xml = z.read("xl/worksheets/sheet1.xml").decode()
        self.assertNotIn("<f>", xml)
        self.assertNotIn("<f ", xml)

    def test_types_and_formats(self):
        _, wb = self.write([row_of(n=42, amount="-1234567.5", rate="0.6667", days="12.3456",
                                   ratio="1.125", at="2026-10-05T13:45:07.250000+05:30",
                                   flag=False)])
        ws = wb.active
        cells = next(ws.iter_rows(min_row=2, max_row=2))
        want = [("x", "s", "General"), ("1a2b3c4d-0000-4000-8000-000000000001", "s", "General"),
                (42, "n", "0"), (-1234567.5, "n", "#,##0.00"), (0.6667, "n", "0.00%"),
                (12.3456, "n", "#,##0.0"), (1.125, "n", "#,##0.000"),
                (dt.datetime(2026, 10, 5, 13, 45, 7, 250000), "d", "yyyy-mm-dd hh:mm"),
                (False, "b", "General")]
        for cell, (value, dtype, fmt) in zip(cells, want):
            self.assertEqual((cell.value, cell.data_type, cell.number_format), (value, dtype, fmt),
                             cell.coordinate)

    def test_nulls_are_empty_cells(self):
        _, wb = self.write([[v_null()] * len(SCHEMA), [v_text("")] + row_of()[1:]])
        ws = wb.active
        for cell in next(ws.iter_rows(min_row=2, max_row=2)):
            self.assertIsNone(cell.value, cell.coordinate)
        self.assertIsNone(ws["A3"].value)
        self.assertEqual(ws.max_row, 3)

    def test_values_a_spreadsheet_cannot_hold_as_numbers_are_text(self):
        big = 2 ** 63 - 1
        s, wb = self.write([
            row_of(n=big, amount="NaN", at="1800-01-01T00:00:00+00:00"),
            row_of(n=2 ** 53, amount="Infinity"),
        ])
        ws = wb.active
        self.assertEqual(ws["C2"].value, str(big))  # exact digits, as text
        self.assertEqual(ws["C2"].data_type, "s")
        self.assertEqual(ws["C3"].value, 2 ** 53)   # still exact as a double
        self.assertEqual(ws["D2"].value, "NaN")
        self.assertEqual(ws["D3"].value, "Infinity")
        self.assertEqual(ws["H2"].value, "1800-01-01T00:00:00+00:00")
        self.assertEqual([lvl for lvl, _ in s.logs].count(1), 1, f"one warning: {s.logs}")

    def test_control_characters_and_literal_escapes(self):
        notes = ["a\x01b", "line\r\nnext", "_x0041_", "A_x00e9_B_x1234", "caf\u00e9 \U0001F600"]
        _, wb = self.write([row_of(note=t) for t in notes])
        with zipfile.ZipFile(self.path) as z:
            xml = z.read("xl/worksheets/sheet1.xml").decode()
        self.assertIn("<t>a_x0001_b</t>", xml)            # OOXML's escape of a control character
        self.assertIn("<t>_x005F_x0041_</t>", xml)        # a literal one, kept literal
        self.assertIn("<t>A_x005F_x00e9_B_x1234</t>", xml)
        soffice = shutil.which("soffice")
        self.assertIsNotNone(soffice, "soffice not found: install libreoffice-calc-nogui")
        work = tempfile.mkdtemp(prefix="drtest-xlsx-lo-")
        self.addCleanup(shutil.rmtree, work, True)
        src = os.path.join(work, "t.xlsx")
        shutil.copy(self.path, src)
        subprocess.run([soffice, f"-env:UserInstallation=file://{work}/profile", "--headless",
                        "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,false,true",
                        "--outdir", work, src], capture_output=True, timeout=180,
                       env=dict(os.environ, HOME=work))
        with open(os.path.join(work, "t.csv"), encoding="utf-8", newline="") as f:
            got = [r[0] for r in csv.reader(f)][1:]
        self.assertEqual(got[2:], notes[2:], "LibreOffice reads the literal texts back")
        self.assertEqual(got[0], "a\x01b")

    def test_empty_report_has_header_and_filter(self):
        _, wb = self.write([])
        ws = wb.active
        self.assertEqual([c.value for c in ws[1]], [l for _, l, _, _ in SCHEMA])
        self.assertEqual(ws.auto_filter.ref, "A1:I1")
        self.assertEqual(ws.freeze_panes, "A2")
        self.assertEqual(wb.sheetnames, ["Performance", "Run"])

    def test_label_missing_uses_name(self):
        schema = [("only_name", None, TEXT, 0)]
        s = self.session(schema=schema)
        self.assertEqual(s.open(), OK, s.error)
        self.assertEqual(s.row([v_text("v")]), OK, s.error)
        self.assertEqual(s.end(), OK, s.error)
        self.assertEqual(load(self.path).active["A1"].value, "only_name")

    # ---- metadata -----------------------------------------------------------------------------

    def test_run_sheet_and_properties(self):
        _, wb = self.write([row_of()])
        meta = {r[0].value: r[1].value for r in wb["Run"].iter_rows(max_col=2)}
        self.assertEqual(meta["Principals"], RUN["principals"])
        self.assertEqual(meta["Generated at"], dt.datetime(2026, 11, 2, 9, 15, 30, 250000))
        self.assertEqual(meta["Rows"], 1)
        self.assertEqual(wb.properties.created, dt.datetime(2026, 11, 2, 14, 15, 30))
        self.assertEqual(wb.properties.title, "Representative Performance 2026-10")

    def test_smaller_run_info_of_an_older_host(self):
        size = RunInfo.tool_version.offset  # a host whose dr_run_info ends before tool_version
        _, wb = self.write([row_of()], run_size=size)
        meta = {r[0].value: r[1].value for r in wb["Run"].iter_rows(max_col=2)}
        self.assertIsNone(meta["Tool version"])
        self.assertEqual(meta["Run id"], RUN["run_id"])

    def test_no_run_info(self):
        _, wb = self.write([row_of()], run=None)
        self.assertEqual(wb.properties.title, "Representative Performance")
        self.assertEqual(wb.sheetnames, ["Performance", "Run"])

    def test_long_principal_list_is_cut_to_a_cell(self):
        run = dict(RUN, principals=",".join(f"USER:1a2b3c4d-0000-4000-8000-{i:012d}"
                                            for i in range(1000)))  # 42,999 characters
        s, wb = self.write([row_of()], run=run)
        value = {r[0].value: r[1].value for r in wb["Run"].iter_rows(max_col=2)}["Principals"]
        self.assertEqual(len(value), 32767)
        self.assertTrue(value.endswith("\u2026"))
        self.assertTrue(run["principals"].startswith(value[:-1]))
        self.assertTrue(any(lvl == 1 for lvl, _ in s.logs))

    # ---- sheets and options ----------------------------------------------------------------

    def test_rollover_with_a_31_character_name(self):
        name = "Ü" + "x" * 30  # 31 characters, 32 bytes
        _, wb = self.write([row_of(n=i) for i in range(3)],
                           options=[("sheet_name", name), ("max_rows", "1")])
        self.assertEqual(wb.sheetnames, [name, "Ü" + "x" * 26 + " (2)", "Ü" + "x" * 26 + " (3)", "Run"])
        for ws, n in zip(wb.worksheets[:3], range(3)):
            self.assertEqual(ws["C2"].value, n)
            self.assertEqual(ws.auto_filter.ref, "A1:I2")

    def test_rollover_name_never_repeats_the_base(self):
        base = "y" * 27 + " (2)"  # 31 characters: its own "(2)" cut to 27 + " (2)" is itself
        _, wb = self.write([row_of(n=i) for i in range(2)],
                           options=[("sheet_name", base), ("max_rows", "1")])
        self.assertEqual(wb.sheetnames, [base, "y" * 27 + " (3)", "Run"])

    def test_last_option_wins(self):
        _, wb = self.write([row_of()], options=[("sheet_name", "A"), ("sheet_name", "B")])
        self.assertEqual(wb.sheetnames, ["B", "Run"])

    def test_bad_options(self):
        fds = open_fds()
        for key, value, words in [
            ("max_rows", "0", "1 to 1048575"), ("max_rows", "1048576", "1 to 1048575"),
            ("max_rows", "-5", "whole number"), ("max_rows", "1e3", "whole number"),
            ("max_rows", "", "whole number"),
            ("sheet_name", "", "1 to 31"), ("sheet_name", "a:b", "':'"),
            ("sheet_name", "a" * 32, "32 characters"), ("sheet_name", "RUN", "taken"),
            ("sheet_name", "x'", "apostrophe"), ("sheet_name", "a\tb", "control"),
            ("sheet_name", "history", "reserved"), ("sheet_name", "report", "taken"),
            ("colour", "red", "unknown option 'xlsx.colour'"),
        ]:
            with self.subTest(key=key, value=value):
                s = Session(self.plugin, self.path, options=[(key, value)])
                self.assertEqual(s.open(), EOPTION)
                self.assertFalse(s.handle, "no handle after a failed open")
                self.assertIn(words, s.error)
                if key != "colour":
                    self.assertIn(f"xlsx.{key}", s.error)
        s = Session(self.plugin, self.path, options=[("sheet_name", "a")])
        s.args.options[0].value = b"\xff\xfe"
        self.assertEqual(s.open(), EOPTION)
        self.assertIn("UTF-8", s.error)
        self.assertEqual(open_fds(), fds, "a refused open left a descriptor open")
        self.assertEqual(os.listdir(self.dir), [os.path.basename(self.path)])
        self.assertEqual(os.path.getsize(self.path), 0)

    def test_bad_open_args(self):
        s = Session(self.plugin, self.path, schema=[])
        self.assertEqual(s.open(), EFAIL)
        s = Session(self.plugin, self.path)
        s.args.abi_major = 2
        self.assertEqual(s.open(), EFAIL)
        self.assertIn("ABI", s.error)

    # ---- lifecycle --------------------------------------------------------------------------

    def test_destroy_without_end_leaves_nothing(self):
        fds = open_fds()
        s = self.session(options=[("max_rows", "2")])
        self.assertEqual(s.open(), OK, s.error)
        for i in range(5):  # three sheets, each with an unlinked temporary file
            self.assertEqual(s.row(row_of(n=i)), OK, s.error)
        self.assertGreater(open_fds(), fds)
        s.destroy()
        self.assertEqual(open_fds(), fds, "temporary files left open")
        self.assertEqual(os.listdir(self.dir), [os.path.basename(self.path)])
        self.assertEqual(os.path.getsize(self.path), 0, "nothing written on the failure path")

    def test_end_twice_and_row_after_end(self):
        s = self.session()
        self.assertEqual(s.open(), OK, s.error)
        self.assertEqual(s.end(), OK, s.error)
        self.assertEqual(s.end(), EFAIL)
        self.assertIn("twice", s.error)
        self.assertEqual(s.row(row_of()), EFAIL)
        self.assertIn("after end", s.error)

    def test_output_gone_is_an_io_error(self):
        sub = os.path.join(self.dir, "sub")
        os.mkdir(sub)
        path = os.path.join(sub, "r.xlsx")
        open(path, "wb").close()
        s = Session(self.plugin, path)
        self.addCleanup(s.destroy)
        self.assertEqual(s.open(), OK, s.error)
        self.assertEqual(s.row(row_of()), OK, s.error)
        shutil.rmtree(sub)
        self.assertEqual(s.end(), EIO)
        self.assertIn(path, s.error)
        self.assertIn("No such file or directory", s.error)

    def test_many_rows_stay_in_constant_memory(self):
        fds = open_fds()
        s = self.session(options=[("max_rows", "30000")])
        self.assertEqual(s.open(), OK, s.error)
        r = row_of(note="a fairly long note " * 4)
        arr = (Value * len(SCHEMA))(*r)
        for _ in range(100000):
            if self.plugin.row(s.handle, arr) != OK:
                self.fail(s.error)
        self.assertEqual(s.end(), OK, s.error)
        s.destroy()
        self.assertEqual(open_fds(), fds)
        wb = load(self.path, read_only=True)
        self.assertEqual(wb.sheetnames, ["Performance", "Performance (2)", "Performance (3)",
                                         "Performance (4)", "Run"])
        self.assertEqual([ws.max_row for ws in wb.worksheets[:4]], [30001, 30001, 30001, 10001])


if __name__ == "__main__":
    unittest.main()
