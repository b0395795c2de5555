"""The "json" output plugin end to end: the real binary against a fresh PostgreSQL
database, every value of the JSON file compared with the database's own text.

Needs DYNOREPORT_BIN, DYNOREPORT_BUILD_PLUGIN_DIR (set by ctest), DYNOREPORT_TEST_PG
(libpq DSN of a role that may CREATE DATABASE) and DYNOREPORT_TEST_CONNECT (ODBC string
for the same server). The database is created for this module and dropped after it.
"""
import csv
import datetime as dt
import decimal
import json
import os
import re
import subprocess
import tempfile
import unittest
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2

TENANT = "5e1f0c2a-8d3b-4c7e-9a61-0b2c3d4e5f60"
OTHER_TENANT = "5e1f0c2a-8d3b-4c7e-9a61-0b2c3d4e5f99"
UA = "a0000000-0000-4000-8000-00000000000a"  # two big wins and a loss
UB = "b0000000-0000-4000-8000-00000000000b"  # 0.10 and a NULL amount
UC = "c0000000-0000-4000-8000-00000000000c"  # one open deal: NULL averages
UD = "d0000000-0000-4000-8000-00000000000d"  # the largest numeric(14,2)
UZ = "f0000000-0000-4000-8000-00000000000f"  # no deals at all
GG = "90000000-0000-4000-8000-000000000001"  # won with NULL amount, closed before created
GE = "90000000-0000-4000-8000-000000000002"  # lost only
TZ = "America/New_York"
PERIOD = "2026-10"

COLUMNS = [
    "run_id", "tenant_id", "principal_type", "principal_id", "period_start", "period_end",
    "deals_created_count", "deals_closed_won_count", "deals_closed_lost_count",
    "total_amount_won", "avg_deal_size_won", "avg_time_to_close_days", "win_rate",
]
TYPES = ["uuid", "uuid", "text", "uuid", "timestamp", "timestamp", "int64", "int64", "int64",
         "decimal", "decimal", "decimal", "decimal"]
SCALES = [0] * 9 + [2, 2, 4, 4]
INT_COLUMNS = {"deals_created_count", "deals_closed_won_count", "deals_closed_lost_count"}
DECIMAL_COLUMNS = {"total_amount_won", "avg_deal_size_won", "avg_time_to_close_days", "win_rate"}
TIMESTAMP_COLUMNS = {"period_start", "period_end"}

# Amounts whose sums and averages a double would not print back as they are
# (61728394506.17 + 61728394506.18 = 123456789012.35; average 61728394506.175 -> .18).
DATASET = f"""
INSERT INTO dyno_crm.pipeline_stage (id, tenant_id, name, stage_state) VALUES
 ('00000000-0000-4000-8000-0000000000a1', '{TENANT}', 'Won', 'DONE_SUCCESS'),
 ('00000000-0000-4000-8000-0000000000a2', '{TENANT}', 'Lost', 'DONE_FAILED'),
 ('00000000-0000-4000-8000-0000000000a3', '{TENANT}', 'Talking', 'OPEN');
INSERT INTO dyno_crm.deal (id, tenant_id, title, amount, created_at, owned_by_user_id,
                           assigned_user_id, owned_by_group_id, assigned_group_id) VALUES
 ('00000000-0000-4000-8000-000000000d01', '{TENANT}', 'A1', 61728394506.17, '2026-10-02 10:00-04', '{UA}', NULL, NULL, NULL),
 ('00000000-0000-4000-8000-000000000d02', '{TENANT}', 'A2', 61728394506.18, '2026-10-05 09:00-04', '{UA}', '{UA}', NULL, NULL),
 ('00000000-0000-4000-8000-000000000d03', '{TENANT}', 'A3', 5.00, '2026-10-06 00:00-04', '{UA}', NULL, NULL, NULL),
 ('00000000-0000-4000-8000-000000000d04', '{TENANT}', 'B1', 0.10, '2026-10-07 12:00-04', '{UB}', NULL, NULL, NULL),
 ('00000000-0000-4000-8000-000000000d05', '{TENANT}', 'B2', NULL, '2026-10-07 13:00-04', NULL, '{UB}', NULL, NULL),
 ('00000000-0000-4000-8000-000000000d06', '{TENANT}', 'C1', 100.00, '2026-10-15 08:00-04', NULL, '{UC}', NULL, NULL),
 ('00000000-0000-4000-8000-000000000d07', '{TENANT}', 'D1', 999999999999.99, '2026-10-25 06:00-04', '{UD}', NULL, NULL, NULL),
 ('00000000-0000-4000-8000-000000000d08', '{TENANT}', 'G1', NULL, '2026-10-20 12:00-04', NULL, NULL, '{GG}', NULL),
 ('00000000-0000-4000-8000-000000000d09', '{TENANT}', 'E1', 10.00, '2026-10-21 12:00-04', NULL, NULL, '{GE}', '{GE}'),
 ('00000000-0000-4000-8000-000000000d10', '{OTHER_TENANT}', 'X1', 1.00, '2026-10-21 12:00-04', '{UA}', NULL, NULL, NULL);
INSERT INTO dyno_crm.deal_pipeline_stage_state (deal_id, tenant_id, pipeline_stage_id, entered_at, is_current) VALUES
 ('00000000-0000-4000-8000-000000000d01', '{TENANT}', '00000000-0000-4000-8000-0000000000a3', '2026-10-02 10:00-04', false),
 ('00000000-0000-4000-8000-000000000d01', '{TENANT}', '00000000-0000-4000-8000-0000000000a1', '2026-10-03 18:00-04', true),
 ('00000000-0000-4000-8000-000000000d02', '{TENANT}', '00000000-0000-4000-8000-0000000000a1', '2026-10-05 17:00-04', true),
 ('00000000-0000-4000-8000-000000000d03', '{TENANT}', '00000000-0000-4000-8000-0000000000a2', '2026-10-10 00:00-04', true),
 ('00000000-0000-4000-8000-000000000d04', '{TENANT}', '00000000-0000-4000-8000-0000000000a1', '2026-10-08 12:00-04', true),
 ('00000000-0000-4000-8000-000000000d05', '{TENANT}', '00000000-0000-4000-8000-0000000000a1', '2026-10-07 21:00-04', true),
 ('00000000-0000-4000-8000-000000000d06', '{TENANT}', '00000000-0000-4000-8000-0000000000a3', '2026-10-15 08:00-04', true),
 ('00000000-0000-4000-8000-000000000d07', '{TENANT}', '00000000-0000-4000-8000-0000000000a1', '2026-10-31 23:00-04', true),
 ('00000000-0000-4000-8000-000000000d08', '{TENANT}', '00000000-0000-4000-8000-0000000000a1', '2026-10-20 00:00-04', true),
 ('00000000-0000-4000-8000-000000000d09', '{TENANT}', '00000000-0000-4000-8000-0000000000a2', '2026-10-22 18:00-04', true);
"""

# What the dataset must produce (checked against the database first, so a wrong fixture
# cannot pass silently): the decimals a double would not keep.
EXPECTED_DB = {
    ("USER", UA): ("3", "2", "1", "123456789012.35", "61728394506.18", "1.8889", "0.6667"),
    ("USER", UB): ("2", "2", "0", "0.10", "0.05", "0.6667", "1.0000"),
    ("USER", UC): ("1", "0", "0", "0.00", None, None, None),
    ("USER", UD): ("1", "1", "0", "999999999999.99", "999999999999.99", "6.7083", "1.0000"),
    ("GROUP", GG): ("1", "1", "0", "0.00", "0.00", "-0.5000", "1.0000"),
    ("GROUP", GE): ("1", "0", "1", "0.00", None, "1.2500", "0.0000"),
}


def _require_env(*names):
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise RuntimeError("test_json needs " + ", ".join(missing)
                           + " (scripts/test sets them after starting PostgreSQL)")


def _odbc_for(connect, dbname):
    if not re.search(r"(?i)(^|;)\s*Database=", connect):
        return connect.rstrip(";") + f";Database={dbname};"
    return re.sub(r"(?i)((?:^|;)\s*Database=)[^;]*", lambda m: m.group(1) + dbname, connect)


def _load_json(text):
    return json.loads(text, parse_float=decimal.Decimal, parse_int=int)


class JsonPluginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _require_env("DYNOREPORT_BIN", "DYNOREPORT_BUILD_PLUGIN_DIR", "DYNOREPORT_TEST_PG",
                     "DYNOREPORT_TEST_CONNECT")
        cls.bin = os.environ["DYNOREPORT_BIN"]
        cls.plugin_dir = os.environ["DYNOREPORT_BUILD_PLUGIN_DIR"]
        cls.dbname = f"dr_test_json_{os.getpid()}"
        admin = psycopg2.connect(os.environ["DYNOREPORT_TEST_PG"])
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{cls.dbname}"')
            cur.execute(f'CREATE DATABASE "{cls.dbname}"')
        admin.close()
        cls.conn = psycopg2.connect(os.environ["DYNOREPORT_TEST_PG"], dbname=cls.dbname)
        cls.conn.autocommit = True
        fixtures = Path(__file__).resolve().parent.parent / "fixtures"
        with cls.conn.cursor() as cur:
            cur.execute((fixtures / "crm_source_schema.sql").read_text())
            cur.execute(DATASET)
        cls.connect = _odbc_for(os.environ["DYNOREPORT_TEST_CONNECT"], cls.dbname)
        cls.tmp = tempfile.TemporaryDirectory(prefix="dr-json-")
        proc = cls.dynoreport("db", "init")
        if proc.returncode != 0:
            raise RuntimeError(f"db init failed ({proc.returncode}): {proc.stderr}")

    @classmethod
    def tearDownClass(cls):
        cls.conn.close()
        cls.tmp.cleanup()
        admin = psycopg2.connect(os.environ["DYNOREPORT_TEST_PG"])
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{cls.dbname}" WITH (FORCE)')
        admin.close()

    @classmethod
    def dynoreport(cls, *args):
        env = dict(os.environ)
        for name in ("DYNOREPORT_CONNECT", "DYNOREPORT_DSN", "DYNOREPORT_PLUGIN_PATH"):
            env.pop(name, None)
        env["DYNOREPORT_CONFIG"] = os.devnull
        return subprocess.run([cls.bin, "--connect", cls.connect, *args], env=env,
                              capture_output=True, text=True, timeout=300)

    def run_report(self, *extra, principals=("--all-principals",)):
        out = Path(tempfile.mkdtemp(dir=self.tmp.name))
        proc = self.dynoreport("run", "--tenant", TENANT, *principals, "--period", PERIOD,
                               "--tz", TZ, "--output-dir", str(out),
                               "--plugin-dir", self.plugin_dir, *extra)
        return proc, out

    def run_ok(self, *extra, **kw):
        proc, out = self.run_report(*extra, **kw)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        run_id, paths = lines[0], [Path(p) for p in lines[1:]]
        for p in paths:
            self.assertEqual(p.parent, out)
        return run_id, paths

    # ---- the database's side --------------------------------------------------------

    def db_rows(self, run_id):
        """Every fact row of the run as text, in the contract's order."""
        cols = ", ".join(f"{c}::text" if c not in TIMESTAMP_COLUMNS else c for c in COLUMNS)
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT {cols} FROM dyno_crm.report_rep_performance_fact"
                        " WHERE run_id = %s ORDER BY principal_type, principal_id", (run_id,))
            return [dict(zip(COLUMNS, r)) for r in cur.fetchall()]

    def db_run(self, run_id):
        with self.conn.cursor() as cur:
            cur.execute("SELECT id::text, tenant_id::text, report_type, period_start, period_end,"
                        " generated_at, period_label, time_zone, parameters, tool_version"
                        " FROM dyno_crm.report_run WHERE id = %s", (run_id,))
            row = cur.fetchone()
        self.assertIsNotNone(row, f"no report_run row {run_id}")
        return dict(zip(("id", "tenant_id", "report_type", "period_start", "period_end",
                         "generated_at", "period_label", "time_zone", "parameters",
                         "tool_version"), row))

    def report_rows(self):
        """{table: row count} of every report table (dyno_crm.report_*: runs with their
        comparison runs, facts, names, totals, view): equal before and after a failed run
        means nothing at all was saved."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = 'dyno_crm' AND c.relkind IN ('r', 'p')"
                        " AND c.relname LIKE 'report\\_%' ORDER BY c.relname")
            tables = [r[0] for r in cur.fetchall()]
            out = {}
            for t in tables:
                cur.execute(f'SELECT count(*) FROM dyno_crm."{t}"')
                out[t] = cur.fetchone()[0]
        self.assertIn("report_run", out)
        return out

    # ---- comparisons ----------------------------------------------------------------

    def assert_timestamp(self, text, instant, where):
        """ISO 8601 in the report's zone, with its offset, the same instant."""
        self.assertIsInstance(text, str, where)
        self.assertEqual(text, instant.astimezone(ZoneInfo(TZ)).isoformat(), where)
        self.assertEqual(dt.datetime.fromisoformat(text), instant, where)

    def assert_row(self, got, want, where):
        self.assertEqual(list(got.keys()), COLUMNS, f"{where}: keys in column order")
        for c in COLUMNS:
            g, w, at = got[c], want[c], f"{where}, {c}"
            if w is None:
                self.assertIsNone(g, at)
            elif c in TIMESTAMP_COLUMNS:
                self.assert_timestamp(g, w, at)
            elif c in INT_COLUMNS:
                self.assertIs(type(g), int, at)
                self.assertEqual(str(g), w, at)
            elif c in DECIMAL_COLUMNS:
                # a JSON number (not a string) whose text is the database's, digit for digit
                self.assertIsInstance(g, decimal.Decimal, at)
                self.assertEqual(str(g), w, at)
            else:
                self.assertIsInstance(g, str, at)
                self.assertEqual(g, w, at)

    def assert_rows(self, got_rows, run_id):
        want_rows = self.db_rows(run_id)
        self.assertGreater(len(want_rows), 0)
        self.assertEqual(len(got_rows), len(want_rows))
        for i, (g, w) in enumerate(zip(got_rows, want_rows)):
            self.assert_row(g, w, f"row {i + 1} ({w['principal_type']}:{w['principal_id']})")

    def assert_head(self, doc, run_id, principals="all"):
        run = self.db_run(run_id)
        self.assertEqual(list(doc.keys()),
                         ["report", "run_id", "tenant_id", "period_start", "period_end",
                          "generated_at", "time_zone", "period", "principals", "tool_version",
                          "columns", "rows"])
        self.assertEqual(doc["report"], run["report_type"])
        self.assertEqual(doc["report"], "rep_performance")
        self.assertEqual(doc["run_id"], run["id"])
        self.assertEqual(doc["tenant_id"], run["tenant_id"])
        for k in ("period_start", "period_end", "generated_at"):
            self.assert_timestamp(doc[k], run[k], k)
        self.assertEqual(doc["time_zone"], run["time_zone"])
        self.assertEqual(doc["time_zone"], TZ)
        self.assertEqual(doc["period"], run["period_label"])
        self.assertEqual(doc["tool_version"], run["tool_version"])
        stored = run["parameters"].get("principals")
        self.assertEqual(doc["principals"], stored if isinstance(stored, str) else ",".join(stored))
        self.assertEqual(doc["principals"], principals)
        self.assertEqual(doc["columns"],
                         [{"name": n, "label": doc["columns"][i]["label"], "type": t, "scale": s}
                          for i, (n, t, s) in enumerate(zip(COLUMNS, TYPES, SCALES))])
        for col in doc["columns"]:
            self.assertIsInstance(col["label"], str)
            self.assertTrue(col["label"])

    # ---- tests ----------------------------------------------------------------------

    def test_fixture_produces_exact_decimals(self):
        run_id, _ = self.run_ok("--format", "json")
        got = {(r["principal_type"], r["principal_id"]): tuple(r[c] for c in COLUMNS[6:])
               for r in self.db_rows(run_id)}
        self.assertEqual(got, EXPECTED_DB)

    def test_document_matches_database(self):
        run_id, paths = self.run_ok("--format", "csv,json")
        self.assertEqual([p.suffix for p in paths], [".csv", ".json"])
        raw = paths[1].read_bytes()
        doc = _load_json(raw.decode("utf-8"))
        self.assert_head(doc, run_id)
        self.assert_rows(doc["rows"], run_id)
        # the numbers stand in the file exactly as PostgreSQL printed them
        for text in (b'"total_amount_won":123456789012.35', b'"avg_deal_size_won":61728394506.18',
                     b'"total_amount_won":0.00', b'"avg_time_to_close_days":-0.5000',
                     b'"win_rate":0.6667', b'"win_rate":null', b'"total_amount_won":999999999999.99'):
            self.assertIn(text, raw)
        self.assertTrue(raw.endswith(b"]}\n"))
        # and agree with the CSV written from the same rows (NULL is an empty field there)
        with open(paths[0], newline="", encoding="utf-8") as f:
            records = list(csv.reader(f))
        self.assertEqual(records[0], COLUMNS)
        self.assertEqual(len(records) - 1, len(doc["rows"]))
        for rec, row in zip(records[1:], doc["rows"]):
            self.assertEqual(rec, ["" if row[c] is None else str(row[c]) for c in COLUMNS])

    def test_pretty_document_same_content(self):
        run_id, paths = self.run_ok("--format", "json", "--opt", "json.pretty=true")
        text = paths[0].read_text("utf-8")
        self.assertTrue(text.startswith('{\n  "report": "rep_performance",\n'), text[:80])
        self.assertTrue('\n      "total_amount_won": 123456789012.35,\n' in text,
                        "rows indented 4, fields 6, numbers as printed by PostgreSQL")
        doc = _load_json(text)
        self.assert_head(doc, run_id)
        self.assert_rows(doc["rows"], run_id)

    def test_ndjson_one_object_per_line(self):
        run_id, paths = self.run_ok("--format", "json", "--opt", "json.ndjson=true",
                                    principals=("--principal", f"USER:{UZ}",
                                                "--principal", f"USER:{UA}"))
        raw = paths[0].read_bytes()
        self.assertTrue(raw.endswith(b"\n"))
        lines = raw.decode("utf-8").split("\n")[:-1]
        self.assertEqual(len(lines), 2)
        rows = [_load_json(line) for line in lines]
        for row in rows:
            self.assertIsInstance(row, dict)
        self.assert_rows(rows, run_id)
        # the principal without deals: zero counts, 0.00, NULL averages
        zero = rows[[r["principal_id"] for r in rows].index(UZ)]
        self.assertEqual([zero[c] for c in COLUMNS[6:]],
                         [0, 0, 0, decimal.Decimal("0.00"), None, None, None])
        self.assertIn('"total_amount_won":0.00,', lines[[r["principal_id"] for r in rows].index(UZ)])
        self.assertEqual(self.db_run(run_id)["parameters"]["principals"],
                         [f"USER:{UZ}", f"USER:{UA}"])

    def test_bad_option_value_exit_64_no_file_no_run(self):
        for opt, word in (("json.ndjson=maybe", "'maybe'"), ("json.pretty=2", "'2'")):
            with self.subTest(opt=opt):
                before = self.report_rows()
                proc, out = self.run_report("--format", "csv,json", "--opt", opt)
                self.assertEqual(proc.returncode, 64, proc.stderr)
                self.assertIn(word, proc.stderr)
                self.assertIn("true or false", proc.stderr)
                self.assertEqual(proc.stdout, "")
                self.assertEqual(list(out.iterdir()), [])
                self.assertEqual(self.report_rows(), before, "rows were saved in the report tables")

    def test_ndjson_with_pretty_refused(self):
        proc, out = self.run_report("--format", "json", "--opt", "json.ndjson=true",
                                    "--opt", "json.pretty=true")
        self.assertEqual(proc.returncode, 64, proc.stderr)
        self.assertIn("json.pretty", proc.stderr)
        self.assertEqual(list(out.iterdir()), [])


if __name__ == "__main__":
    unittest.main()
