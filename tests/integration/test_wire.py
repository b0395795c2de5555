"""What a run sends to the server, counted on the wire (issue 12, item 6): the tool talks
to the real server through psqlODBC, with a recording proxy (wire.py) in between.

A run's fixed cost is mostly round trips: psqlODBC asked the server for the parameter
types of every statement that had a parameter of five characters (its BoolsAsChar guess:
two round trips and the statement parsed twice), and wrapped every statement in a
savepoint of its own (one more round trip each) although the tool rolls back itself.
These tests keep both away and hold a run to its budget of round trips, and check that a
connection string that sets the driver's Protocol keeps its own choice."""
import collections
import unittest

import drtest
import wire
from drtest import T1

# Round trips (simple Query or Sync messages) of a whole `run`, connection included: 2 of
# psqlODBC's own at connect, 2 for the session (search_path, zone, name; timeouts), 2 for
# the schema check, then the run's statements, its read-back cursor and COMMIT. Measured
# (16 and 19; 36 and 42 before these changes); a change that adds one must say why here.
BUDGET_CSV = 16
BUDGET_THREE_FORMATS_COMPARED = 19


class WireTests(drtest.FixtureTestCase):

    def run_through_proxy(self, *args, connect=None):
        base = connect or self.db.odbc
        with wire.Proxy(drtest.odbc_get(base, "Server"), drtest.odbc_get(base, "Port")) as p:
            outdir = self.make_dir()
            rc, out, err = drtest.run_tool(list(args) + ["--output-dir", outdir],
                                           connect=drtest.odbc_set(base, "Port", str(p.port)))
        return rc, out, err, p.recorder

    def statements(self, rec):
        return "\n".join(f"{t.decode()}: {b[:100]!r}" for t, b in rec.messages() if t in (b"Q", b"P"))

    def assert_lean(self, rec, budget):
        parsed = collections.Counter(rec.texts(b"P"))
        twice = [text[:80] for text, n in parsed.items() if n > 1]
        self.assertEqual(twice, [], "statements parsed twice (psqlODBC asked for parameter types first)")
        svp = [q[:80] for q in rec.texts(b"Q") if "_EXEC_SVP_" in q]
        self.assertEqual(svp, [], "psqlODBC's per-statement savepoints were sent")
        self.assertLessEqual(rec.round_trips(), budget, self.statements(rec))
        # the proxy saw the whole conversation: the connection and the run's COMMIT
        self.assertIn("COMMIT", rec.texts(b"Q"))

    def test_csv_run_within_budget(self):
        rc, out, err, rec = self.run_through_proxy(
            "run", "--tenant", T1, "--all-principals", "--period", "2025-06", "--compare", "none",
            "--format", "csv")
        self.assert_run_ok(rc, out, err)
        self.assert_lean(rec, BUDGET_CSV)
        self.assertEqual(len(rec.connections), 1, "one connection for a run")

    def test_compared_run_with_three_formats_within_budget(self):
        rc, out, err, rec = self.run_through_proxy(
            "run", "--tenant", T1, "--all-principals", "--period", "2025-06", "--tz", "Japan",
            "--format", "csv,xlsx,json")
        self.assert_run_ok(rc, out, err, nfiles=3)
        self.assert_lean(rec, BUDGET_THREE_FORMATS_COMPARED)

    def test_protocol_of_the_connection_string_is_kept(self):
        """Protocol=7.4-2 (psqlODBC's statement-level rollback) set by the user stays: the
        driver's savepoints are on the wire, and the run works the same."""
        connect = drtest.odbc_set(self.db.odbc, "Protocol", "7.4-2")
        rc, out, err, rec = self.run_through_proxy(
            "run", "--tenant", T1, "--all-principals", "--period", "2025-06", "--compare", "none",
            "--format", "csv", connect=connect)
        self.assert_run_ok(rc, out, err)
        self.assertTrue(any("_EXEC_SVP_" in q for q in rec.texts(b"Q")), self.statements(rec))


if __name__ == "__main__":
    unittest.main(verbosity=2)
