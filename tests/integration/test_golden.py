"""Golden files: every output plugin fed one FIXED synthetic run must write exactly the
bytes of its file under tests/golden/. No database needed.

The driver is tests/tools/plugin_feed (DYNOREPORT_PLUGIN_FEED): it loads a plugin .so
from DYNOREPORT_BUILD_PLUGIN_DIR and feeds it the fixed run, rows and options.
When a format changes on purpose, regenerate the files and review the diff:

    DYNOREPORT_UPDATE_GOLDEN=1 ctest -R golden      (then: git diff tests/golden)

A new format's golden test is one more line in GOLDEN below.

With --view plugin_feed acts as an ABI 1.2 host with a report view (names, ranks, the
comparison period, gone and total rows) for plugins that ask for it (DR_PLUGIN_WANTS_VIEW;
csv and json do, for their names=true option). Their default output must not change with
it: the existing golden files are checked with --view too.
"""
import csv
import decimal
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

GOLDEN_DIR = Path(os.environ.get("DYNOREPORT_GOLDEN_DIR")
                  or Path(__file__).resolve().parent.parent / "golden")

# golden file, plugin, options given to plugin_feed (as --opt would, prefix optional)
DEFAULT_GOLDEN = [
    ("rep_performance.json", "json", []),
    ("rep_performance_pretty.json", "json", ["json.pretty=true"]),
    ("rep_performance.ndjson", "json", ["json.ndjson=true"]),
    ("rep_performance.csv", "csv", []),
    ("rep_performance_semicolon_bom_lf.csv", "csv",
     ["csv.delimiter=semicolon", "csv.bom=true", "csv.line_ending=lf"]),
]

# ... and the same with plugin_feed's flags before the plugin: (golden, plugin, options, flags)
GOLDEN = [(g, p, o, []) for g, p, o in DEFAULT_GOLDEN] + [
    # machine consumers see no change when a 1.2 host sends the view
    *[(g, p, o, ["--view"]) for g, p, o in DEFAULT_GOLDEN],
    # names=true: from the view, and the host's fallback without one (a 1.1 host, or none)
    ("rep_performance_names.csv", "csv", ["csv.names=true"], ["--view"]),
    ("rep_performance_names_fallback.csv", "csv", ["csv.names=true"], []),
    ("rep_performance_names_fallback.csv", "csv", ["csv.names=true"],
     ["--view", "--host-abi", "1.1"]),
    ("rep_performance_names.json", "json", ["json.names=true"], ["--view"]),
    ("rep_performance_names_fallback.json", "json", ["json.names=true"], []),
    ("rep_performance_names_fallback.json", "json", ["json.names=true"],
     ["--view", "--host-abi", "1.1"]),
    # European Excel: decimal comma (';' becomes the delimiter), local wall-clock timestamps
    ("rep_performance_decimal_comma.csv", "csv", ["csv.decimal=comma"], []),
    ("rep_performance_decimal_comma.csv", "csv", ["csv.decimal=comma"], ["--view"]),
    ("rep_performance_local_timestamps.csv", "csv", ["csv.timestamps=local"], []),
]

# principal_name of the fixed fact rows: from the view (plugin_feed --view) ...
VIEW_NAMES = ["Vertrieb Nord & Ost", 'Team Süd; "Key Accounts"', "Jörg Schäfer",
              "[user 1a2b3c4d]", 'Zoë "Z" O\'Brien-Łukasiewicz', "=SUM(A1:A2)",
              "[unknown principal]"]
VIEW_TENANT = "Acme Möbel GmbH"
# ... and the host's fallback without a view: "[WORD <8 characters of the id>]"
FALLBACK_NAMES = ["[team 0b9f7a3c]", "[team 0b9f7a3c]", "[user 1a2b3c4d]", "[user 1a2b3c4d]",
                  "[principal 1a2b3c4d]", "[principal 1a2b3c4d]", None]
FALLBACK_TENANT = "[tenant 7c9e6679]"

NROWS = 7  # rows plugin_feed writes
COLUMNS = [
    "run_id", "tenant_id", "principal_type", "principal_id", "period_start", "period_end",
    "deals_created_count", "deals_closed_won_count", "deals_closed_lost_count",
    "total_amount_won", "avg_deal_size_won", "avg_time_to_close_days", "win_rate",
]


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"test_golden needs {name} (set by ctest; see "
                           "tests/tools/CMakeLists.fragment.cmake)")
    return value


def _first_difference(got, want):
    n = min(len(got), len(want))
    i = next((k for k in range(n) if got[k] != want[k]), n)
    line = want.count(b"\n", 0, i) + 1
    return (f"first difference at byte {i} (line {line}): got {got[max(0, i - 40):i + 40]!r}, "
            f"want {want[max(0, i - 40):i + 40]!r}; sizes {len(got)} and {len(want)}")


def _load_json(text):
    return json.loads(text, parse_float=decimal.Decimal, parse_int=int)


class GoldenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.feed = _env("DYNOREPORT_PLUGIN_FEED")
        cls.plugin_dir = Path(_env("DYNOREPORT_BUILD_PLUGIN_DIR"))
        cls.tmp = tempfile.TemporaryDirectory(prefix="dr-golden-")
        cls.update = os.environ.get("DYNOREPORT_UPDATE_GOLDEN") == "1"

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def feed_plugin(self, plugin, options, name="out", repeat=None, flags=()):
        out = Path(self.tmp.name) / name
        cmd = [self.feed] + (["--repeat", str(repeat)] if repeat else []) + list(flags)
        cmd += [str(self.plugin_dir / f"{plugin}.so"), str(out), *options]
        proc = subprocess.run(cmd, capture_output=True, timeout=120)
        return proc, out

    def test_golden_files(self):
        for golden, plugin, options, flags in GOLDEN:
            with self.subTest(golden=golden, flags=flags):
                proc, out = self.feed_plugin(plugin, options, golden, flags=flags)
                self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
                got = out.read_bytes()
                path = GOLDEN_DIR / golden
                if self.update and not flags:
                    path.write_bytes(got)
                elif self.update and not path.exists():  # only in a view (or other) form
                    path.write_bytes(got)
                self.assertTrue(path.exists(), f"no golden file {path}: run with "
                                "DYNOREPORT_UPDATE_GOLDEN=1 to create it, then review it")
                want = path.read_bytes()
                if got != want:
                    self.fail(f"{plugin} {' '.join(flags + options)} differs from {path}: "
                              + _first_difference(got, want))

    # The golden files themselves must be what they claim, so a careless regeneration
    # cannot bless broken output.

    def test_json_golden_is_valid_and_exact(self):
        raw = (GOLDEN_DIR / "rep_performance.json").read_bytes()
        doc = _load_json(raw.decode("utf-8"))
        self.assertEqual([c["name"] for c in doc["columns"]], COLUMNS)
        self.assertEqual(len(doc["rows"]), NROWS)
        for row in doc["rows"]:
            self.assertEqual(list(row), COLUMNS)
        big = doc["rows"][2]
        self.assertEqual(big["deals_created_count"], 2147483648)
        self.assertEqual(str(big["total_amount_won"]), "999999999999.99")
        self.assertEqual(doc["rows"][5]["deals_created_count"], 9223372036854775807)
        self.assertEqual(str(doc["rows"][0]["total_amount_won"]), "0.00")
        self.assertEqual(str(doc["rows"][0]["avg_time_to_close_days"]), "-0.5000")
        self.assertEqual(str(doc["rows"][3]["win_rate"]), "0.6667")
        self.assertIsNone(doc["rows"][1]["win_rate"])
        self.assertEqual(doc["rows"][4]["principal_type"],
                         'Quote " back\\slash /slash\nnew line\r\ttab \x01 café 日本 😀 \u2028')
        self.assertEqual(doc["rows"][6]["principal_type"], "")
        self.assertEqual([doc["rows"][6][c] for c in COLUMNS[3:]], [None] * 10)
        self.assertIn(b'"total_amount_won":123456789012.35,', raw)

        pretty = _load_json((GOLDEN_DIR / "rep_performance_pretty.json").read_text("utf-8"))
        self.assertEqual(pretty, doc)
        lines = (GOLDEN_DIR / "rep_performance.ndjson").read_text("utf-8").split("\n")
        self.assertEqual(lines[-1], "")
        self.assertEqual([_load_json(line) for line in lines[:-1]], doc["rows"])

    def test_csv_goldens_are_valid(self):
        doc = _load_json((GOLDEN_DIR / "rep_performance.json").read_text("utf-8"))
        for golden, delimiter, bom, eol in (("rep_performance.csv", ",", False, b"\r\n"),
                                            ("rep_performance_semicolon_bom_lf.csv", ";", True,
                                             b"\n")):
            with self.subTest(golden=golden):
                raw = (GOLDEN_DIR / golden).read_bytes()
                self.assertEqual(raw.startswith(b"\xef\xbb\xbf"), bom)
                self.assertTrue(raw.endswith(eol))
                text = raw.decode("utf-8-sig")
                records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
                self.assertEqual(records[0], COLUMNS)
                self.assertEqual(len(records), NROWS + 1)
                for rec, row in zip(records[1:], doc["rows"]):
                    for c, field in zip(COLUMNS, rec):
                        value = row[c]
                        if value is None:
                            self.assertEqual(field, "", c)
                        elif c == "principal_type" and value and value[0] in "=+-@\t\r":
                            self.assertEqual(field, "'" + value, c)  # formula escaping
                        else:
                            self.assertEqual(field, str(value), c)

    def _csv_records(self, golden, delimiter=","):
        text = (GOLDEN_DIR / golden).read_bytes().decode("utf-8")
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))

    def test_names_goldens_are_the_default_plus_names(self):
        doc = _load_json((GOLDEN_DIR / "rep_performance.json").read_text("utf-8"))
        default = self._csv_records("rep_performance.csv")
        for suffix, names, tenant in (("names", VIEW_NAMES, VIEW_TENANT),
                                      ("names_fallback", FALLBACK_NAMES, FALLBACK_TENANT)):
            with self.subTest(golden=f"rep_performance_{suffix}.csv"):
                records = self._csv_records(f"rep_performance_{suffix}.csv")
                self.assertEqual(records[0], COLUMNS + ["principal_name", "tenant_name"])
                self.assertEqual(len(records), NROWS + 1)  # no gone or total rows
                for rec, want, name in zip(records[1:], default[1:], names):
                    self.assertEqual(rec[:13], want)
                    # formula escaping applies to names too (text cells)
                    shown = "" if name is None else "'" + name if name[0] in "=+-@" else name
                    self.assertEqual(rec[13:], [shown, tenant])
            with self.subTest(golden=f"rep_performance_{suffix}.json"):
                got = _load_json((GOLDEN_DIR / f"rep_performance_{suffix}.json")
                                 .read_text("utf-8"))
                self.assertEqual([c["name"] for c in got["columns"]],
                                 COLUMNS + ["principal_name", "tenant_name"])
                self.assertEqual(got["columns"][:13], doc["columns"])
                self.assertEqual(got["columns"][13:], [
                    {"name": "principal_name", "label": "Principal name", "type": "text",
                     "scale": 0},
                    {"name": "tenant_name", "label": "Tenant name", "type": "text", "scale": 0}])
                self.assertEqual({k: v for k, v in got.items() if k not in ("columns", "rows")},
                                 {k: v for k, v in doc.items() if k not in ("columns", "rows")})
                self.assertEqual(len(got["rows"]), NROWS)
                for row, want, name in zip(got["rows"], doc["rows"], names):
                    self.assertEqual(list(row), COLUMNS + ["principal_name", "tenant_name"])
                    self.assertEqual({c: row[c] for c in COLUMNS}, want)
                    self.assertEqual((row["principal_name"], row["tenant_name"]), (name, tenant))

    def test_decimal_comma_golden(self):
        doc = _load_json((GOLDEN_DIR / "rep_performance.json").read_text("utf-8"))
        types = {c["name"]: c["type"] for c in doc["columns"]}
        raw = (GOLDEN_DIR / "rep_performance_decimal_comma.csv").read_bytes()
        self.assertTrue(raw.startswith(b"run_id;tenant_id;"))
        records = self._csv_records("rep_performance_decimal_comma.csv", ";")
        self.assertEqual(records[0], COLUMNS)
        self.assertEqual(len(records), NROWS + 1)
        default = self._csv_records("rep_performance.csv")
        for rec, want in zip(records[1:], default[1:]):
            for c, got, field in zip(COLUMNS, rec, want):
                self.assertEqual(got, field.replace(".", ",") if types[c] == "decimal" else field,
                                 c)
        self.assertIn(b";999999999999,99;333333333333,33;12345,6789;1,0000\r\n", raw)
        self.assertIn(b";-42,50;-42,50;", raw)  # a number: no formula escape

    def test_local_timestamps_golden(self):
        records = self._csv_records("rep_performance_local_timestamps.csv")
        default = self._csv_records("rep_performance.csv")
        self.assertEqual(records[0], COLUMNS)
        self.assertEqual(len(records), NROWS + 1)
        start, end = COLUMNS.index("period_start"), COLUMNS.index("period_end")
        for rec, want in zip(records[1:], default[1:]):
            for i, (got, field) in enumerate(zip(rec, want)):
                if i not in (start, end) or field == "":
                    self.assertEqual(got, field)
                    continue
                # the wall-clock of the ISO text, without its offset; a fraction only if any
                date, clock = field[:10], field[11:19]
                frac = field[19:-6].rstrip("0").rstrip(".") if "." in field[19:] else ""
                self.assertEqual(got, f"{date} {clock}{frac}", field)
        self.assertEqual(records[1][start:end + 1], ["2026-10-01 00:00:00", "2026-11-01 00:00:00"])
        self.assertEqual(records[5][start:end + 1],
                         ["2026-10-01 09:30:00.000001", "2026-11-01 09:30:00.5"])

    def test_view_rows_never_reach_the_fact_output(self):
        """A 60-principal view run (gone and total rows, the view's columns) gives the
        fact rows only, and the same bytes as without the view."""
        for plugin, options in (("csv", []), ("json", []), ("json", ["json.ndjson=true"]),
                                ("csv", ["csv.decimal=comma", "csv.timestamps=local"])):
            with self.subTest(plugin=plugin, options=options):
                outs = []
                for flags in (["--principals", "60"], ["--view", "--principals", "60"]):
                    proc, out = self.feed_plugin(plugin, options, f"p60-{len(outs)}",
                                                 flags=flags)
                    self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
                    outs.append(out.read_bytes())
                self.assertEqual(outs[0], outs[1])
                self.assertNotIn(b"All reps", outs[1])
        # 60 users (3 gone: view rows only) and 7 teams
        proc, out = self.feed_plugin("json", ["json.names=true"], "p60.json",
                                     flags=["--view", "--principals", "60"])
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        rows = _load_json(out.read_text("utf-8"))["rows"]
        self.assertEqual(len(rows), 57 + 7)
        self.assertEqual(sum(r["principal_type"] == "GROUP" for r in rows), 7)
        self.assertTrue(all(r["tenant_name"] == VIEW_TENANT for r in rows))
        self.assertIn("Rep 01 Müller", [r["principal_name"] for r in rows])

    def test_new_option_errors(self):
        cases = [
            ("csv", ["csv.decimal=comma", "csv.delimiter=comma"],
             [b"csv.delimiter 'comma' with csv.decimal 'comma'", b"semicolon"]),
            ("csv", ["csv.delimiter=,", "csv.decimal=comma"], [b"csv.delimiter ','"]),
            ("csv", ["csv.decimal=Komma"], [b"csv.decimal 'Komma'", b"point or comma"]),
            ("csv", ["csv.timestamps=utc"], [b"csv.timestamps 'utc'", b"iso", b"local"]),
            ("csv", ["csv.names=maybe"], [b"csv.names 'maybe'", b"true or false"]),
            ("json", ["json.names=2"], [b"json.names '2'", b"true or false"]),
        ]
        for plugin, options, texts in cases:
            with self.subTest(options=options):
                proc, out = self.feed_plugin(plugin, options, "bad-" + plugin, flags=["--view"])
                self.assertEqual(proc.returncode, 64, proc.stderr)
                for text in texts:
                    self.assertIn(text, proc.stderr)
                self.assertFalse(out.exists())
        # a decimal comma with another delimiter given keeps it
        proc, out = self.feed_plugin("csv", ["csv.decimal=comma", "csv.delimiter=tab"], "tab")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(b"\t999999999999,99\t", out.read_bytes())

    def test_example_markdown_plugin(self):
        """examples/plugins/markdown, built with its Makefile and only include/: the fact table
        without a view (and from a plugin that asks for one, from a 1.1 host), the ranked
        report with one."""
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None or shutil.which("make") is None:
            self.skipTest("no cc or make")
        repo = GOLDEN_DIR.parent.parent
        so = Path(self.tmp.name) / "markdown.so"
        p = subprocess.run(["make", "-s", "-B", "-C", str(repo / "examples" / "plugins" /
                                                          "markdown"),
                            f"CC={cc}", f"DYNOREPORT_INCLUDE={repo / 'include'}", f"OUT={so}"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for golden, flags in (("markdown.md", []), ("markdown.md", ["--view", "--host-abi", "1.1"]),
                              ("markdown_view.md", ["--view"])):
            with self.subTest(golden=golden, flags=flags):
                out = Path(self.tmp.name) / golden
                proc = subprocess.run([self.feed, *flags, str(so), str(out)],
                                      capture_output=True, timeout=120)
                self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
                got, path = out.read_bytes(), GOLDEN_DIR / golden
                if self.update and not path.exists() or self.update and not flags:
                    path.write_bytes(got)
                self.assertEqual(got, path.read_bytes(), _first_difference(got,
                                                                           path.read_bytes()))
        view = (GOLDEN_DIR / "markdown_view.md").read_text("utf-8")
        self.assertTrue(view.startswith("# rep_performance: Acme Möbel GmbH, October 2026 "
                                        "(America/New_York)\n"))
        reps = view[view.index("## Reps"):view.index("## Teams")]
        self.assertLess(reps.index("Jörg Schäfer"), reps.index("[user 1a2b3c4d]"))
        self.assertIn("| 3 | Gunnar Østergård (gone) | 0 | 0 |  | 0.00 | 1500.00 | -1500.00 |",
                      reps)
        self.assertIn("| new |", reps)
        self.assertIn("|  | **All reps** | 2147483652 | 4 | 80.00% | 1100000000000.00 | "
                      "99000.00 | +1099999901000.00 |", reps)
        # a 60-principal run: ranks 1..N in order in each table, the total last
        proc = subprocess.run([self.feed, "--view", "--principals", "60", str(so),
                               str(Path(self.tmp.name) / "p60.md")], capture_output=True,
                              timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        text = (Path(self.tmp.name) / "p60.md").read_text("utf-8")
        for title, n, total in (("## Reps", 60, "All reps"), ("## Teams", 7, "All teams")):
            part = text[text.index(title):]
            rows = [line for line in part.split("\n\n", 2)[1].splitlines()[2:]]
            self.assertEqual([r.split("|")[1].strip() for r in rows[:-1]],
                             [str(i) for i in range(1, n + 1)])
            self.assertIn(f"**{total}**", rows[-1])

    def test_bad_option_leaves_no_file(self):
        proc, out = self.feed_plugin("json", ["json.ndjson=maybe"], "bad.json")
        self.assertEqual(proc.returncode, 64)
        self.assertIn(b"'maybe'", proc.stderr)
        self.assertFalse(out.exists())

    def test_write_error_is_reported(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        for plugin, options in (("json", []), ("json", ["json.ndjson=true"]), ("csv", [])):
            with self.subTest(plugin=plugin, options=options):
                proc = subprocess.run([self.feed, "--repeat", "2000",
                                       str(self.plugin_dir / f"{plugin}.so"), "/dev/full",
                                       *options], capture_output=True, timeout=120)
                self.assertEqual(proc.returncode, 74, proc.stderr)
                self.assertIn(b"'/dev/full'", proc.stderr)
                self.assertIn(os.strerror(28).encode(), proc.stderr)  # ENOSPC

    def test_many_rows_stream(self):
        proc, out = self.feed_plugin("json", [], "many.json", repeat=5000)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        doc = _load_json(out.read_text("utf-8"))
        self.assertEqual(len(doc["rows"]), NROWS * 5000)
        self.assertEqual(doc["rows"][-1]["principal_type"], "")


if __name__ == "__main__":
    unittest.main()
