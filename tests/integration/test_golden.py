"""Golden files: every output plugin fed one FIXED synthetic run must write exactly the
bytes of its file under tests/golden/. No database needed.

The driver is tests/tools/plugin_feed (DYNOREPORT_PLUGIN_FEED): it loads a plugin .so
from DYNOREPORT_BUILD_PLUGIN_DIR and feeds it the fixed run, rows and options.
When a format changes on purpose, regenerate the files and review the diff:

    DYNOREPORT_UPDATE_GOLDEN=1 ctest -R golden      (then: git diff tests/golden)

A new format's golden test is one more line in GOLDEN below.
"""
import csv
import decimal
import io
import json
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

GOLDEN_DIR = Path(os.environ.get("DYNOREPORT_GOLDEN_DIR")
                  or Path(__file__).resolve().parent.parent / "golden")

# golden file, plugin, options given to plugin_feed (as --opt would, prefix optional)
GOLDEN = [
    ("rep_performance.json", "json", []),
    ("rep_performance_pretty.json", "json", ["json.pretty=true"]),
    ("rep_performance.ndjson", "json", ["json.ndjson=true"]),
    ("rep_performance.csv", "csv", []),
    ("rep_performance_semicolon_bom_lf.csv", "csv",
     ["csv.delimiter=semicolon", "csv.bom=true", "csv.line_ending=lf"]),
]

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

    def feed_plugin(self, plugin, options, name="out", repeat=None):
        out = Path(self.tmp.name) / name
        cmd = [self.feed] + (["--repeat", str(repeat)] if repeat else [])
        cmd += [str(self.plugin_dir / f"{plugin}.so"), str(out), *options]
        proc = subprocess.run(cmd, capture_output=True, timeout=120)
        return proc, out

    def test_golden_files(self):
        for golden, plugin, options in GOLDEN:
            with self.subTest(golden=golden):
                proc, out = self.feed_plugin(plugin, options, golden)
                self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
                got = out.read_bytes()
                path = GOLDEN_DIR / golden
                if self.update:
                    path.write_bytes(got)
                self.assertTrue(path.exists(), f"no golden file {path}: run with "
                                "DYNOREPORT_UPDATE_GOLDEN=1 to create it, then review it")
                want = path.read_bytes()
                if got != want:
                    self.fail(f"{plugin} {' '.join(options)} differs from {path}: "
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
