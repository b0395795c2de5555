"""`db init` (idempotent) and `plugins`."""
import os
import unittest

import drtest

SCHEMA_OBJECTS_SQL = (
    "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'dyno_crm' ORDER BY 1")
VERSIONS_SQL = "SELECT version, name, applied_at FROM dyno_crm.dynoreport_schema_version ORDER BY 1"


class DbInitTests(drtest.ToolTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = drtest.fresh_database()
        cls.addClassCleanup(cls.db.drop)
        cls.db.execute_file(drtest.SOURCE_SCHEMA)

    def test_db_init_twice(self):
        """First init creates the tables and the version row; the second is a no-op."""
        source_before = self.db.query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'dyno_crm'"
            " AND tablename IN ('deal', 'deal_pipeline_stage_state', 'pipeline_stage') ORDER BY 1")

        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        objects = self.db.query(SCHEMA_OBJECTS_SQL)
        tables = {name for name, kind in objects if kind == "r"}
        self.assertLessEqual({"report_run", "report_rep_performance_fact", "dynoreport_schema_version",
                              "report_run_view", "report_run_principal_name", "report_run_total"},
                             tables)
        versions = self.db.query(VERSIONS_SQL)
        migrations = sorted(f for f in os.listdir(os.path.join(drtest.REPO_ROOT, "sql", "migrations"))
                            if f.endswith(".sql"))
        self.assertEqual([(v, n) for v, n, _ in versions],
                         [(int(f.split("_")[0]), f) for f in migrations])
        self.assertEqual(versions[0][1], "001_report_tables.sql")
        # the 13 fact columns, in the DDL's order
        columns = [r[0] for r in self.db.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'dyno_crm'"
            " AND table_name = 'report_rep_performance_fact' ORDER BY ordinal_position")]
        self.assertEqual(len(columns), 13)

        rc, out, err = drtest.run_tool(["db", "init"], connect=self.db.odbc)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.db.query(SCHEMA_OBJECTS_SQL), objects, "second init changed objects")
        self.assertEqual(self.db.query(VERSIONS_SQL), versions, "second init touched the versions")
        # without --with-source-indexes the source tables are left alone
        self.assertEqual(self.db.query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'dyno_crm'"
            " AND tablename IN ('deal', 'deal_pipeline_stage_state', 'pipeline_stage') ORDER BY 1"),
            source_before)

    def test_db_init_unreachable_database(self):
        rc, out, err = drtest.run_tool(["db", "init"], connect=drtest.odbc_set(self.db.odbc, "Port", "1"))
        self.assertEqual(rc, 69, err)
        self.assertNotIn(drtest.pg_password(), err)


class PluginsTests(drtest.ToolTestCase):

    def test_plugins_lists_csv(self):
        plugdir = os.environ["DYNOREPORT_BUILD_PLUGIN_DIR"]
        rc, out, err = drtest.run_tool(["plugins", "--plugin-dir", plugdir], plugin_path=False)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        csv_lines = [i for i, line in enumerate(lines) if line.split()[:1] == ["csv"]]
        self.assertEqual(len(csv_lines), 1, out)
        self.assertIn(os.path.join(plugdir, "csv.so"), lines[csv_lines[0]])
        self.assertNotIn("error", out.lower())


if __name__ == "__main__":
    unittest.main()
