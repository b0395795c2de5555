"""Delivery (issue 13), the `dir` kind and what every kind shares: the manifest written
last with sizes and SHA-256 (checked with hashlib), `latest` links, copies into another
directory, the record of every delivery, retries with backoff then a recorded failure
(exit 76, the run saved), `deliver --run-id` re-sending a saved run, and configuration
errors (78, naming file, line and key) before any database work."""
import hashlib
import json
import os
import re
import signal
import subprocess
import unittest

import delivery_support
import drtest
from drtest import T1


class DirDeliveryTests(delivery_support.DeliveryTestCase):

    def test_manifest_and_latest_in_the_output_directory(self):
        outdir = self.make_dir()
        cfg = self.write_config("[delivery drop]\nkind = dir\nmanifest = yes\nlatest = yes\n")
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "drop", formats="csv,json")
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=2)
        names = sorted(os.path.basename(p) for p in paths)
        stem = os.path.splitext(os.path.basename(paths[0]))[0]
        manifest_path = os.path.join(outdir, stem + ".manifest.json")
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual(manifest["run_id"], run_id)
        self.assertEqual(manifest["tenant_id"], T1)
        self.assertEqual(manifest["period"], "2026-03")
        self.assertEqual(manifest["manifest_version"], 1)
        self.assertEqual(sorted(f["name"] for f in manifest["files"]), names)
        for entry in manifest["files"]:
            with open(os.path.join(outdir, entry["name"]), "rb") as f:
                data = f.read()
            self.assertEqual(entry["size"], len(data))
            self.assertEqual(entry["sha256"], hashlib.sha256(data).hexdigest())
            self.assertEqual(entry["content_type"], {"csv": "text/csv", "json": "application/json"}[entry["format"]])
        # the manifest is the last thing put in place
        newest = max(os.lstat(os.path.join(outdir, n)).st_mtime_ns for n in names)
        self.assertGreaterEqual(os.stat(manifest_path).st_mtime_ns, newest)
        for ext in ("csv", "json"):
            link = os.path.join(outdir, f"rep_performance_{T1}_latest.{ext}")
            self.assertTrue(os.path.islink(link), link)
            self.assertEqual(os.readlink(link), [n for n in names if n.endswith(ext)][0])
        self.assertFalse([n for n in os.listdir(outdir) if n.startswith(".")], os.listdir(outdir))
        rec = self.records(run_id)
        self.assertEqual(len(rec), 1, rec)
        self.assertEqual(rec[0][:4], ("drop", "dir", "delivered", 1))
        self.assertIn(stem + ".manifest.json", rec[0][4])
        self.assertIsNone(rec[0][5])
        self.assertTrue(rec[0][6])

    def test_copy_into_another_directory(self):
        outdir, dest = self.make_dir(), self.make_dir()
        cfg = self.write_config(f"[defaults]\ndeliver = copy\n\n[delivery copy]\nkind = dir\nurl = file://{dest}\n"
                                "manifest = yes\n")
        rc, out, err = self.run_report(cfg, outdir)  # [defaults] deliver applies to run
        run_id, paths = self.assert_run_ok(rc, out, err)
        name = os.path.basename(paths[0])
        with open(paths[0], "rb") as a, open(os.path.join(dest, name), "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertEqual(sorted(os.listdir(dest)), sorted([name, os.path.splitext(name)[0] + ".manifest.json"]))
        self.assertEqual(self.records(run_id)[0][:4], ("copy", "dir", "delivered", 1))

    def test_failure_is_retried_recorded_and_sent_again(self):
        outdir, base = self.make_dir(), self.make_dir()
        dest = os.path.join(base, "not-yet")
        cfg = self.write_config(f"[delivery later]\nkind = dir\nurl = file://{dest}\nretries = 2\nbackoff = 10ms\n")
        before = drtest.count_runs(self.db)
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "later")
        self.assertEqual(rc, 76, err)
        run_id = out.splitlines()[0]
        self.assertEqual(drtest.count_runs(self.db), before + 1)  # the run is saved
        self.assertEqual(len(out.splitlines()), 2)                 # and its file is in place
        self.assertEqual(len(re.findall(r"attempt \d of 3 failed", err)), 2, err)
        self.assertIn(f"deliver --run-id {run_id} --to later", err)
        rec = self.records(run_id)
        self.assertEqual(rec[0][:4], ("later", "dir", "failed", 3))
        self.assertIn("not-yet", rec[0][5])
        os.mkdir(dest)
        rc, out2, err2 = drtest.run_tool(["--config", cfg, "deliver", "--run-id", run_id, "--to", "later"])
        self.assertEqual(rc, 0, err2)
        self.assertEqual(out2.splitlines(), [run_id])
        rec = self.records(run_id)
        self.assertEqual([r[:4] for r in rec], [("later", "dir", "failed", 3), ("later", "dir", "delivered", 1)])
        with open(paths_of(out)[0], "rb") as a, open(os.path.join(dest, os.path.basename(paths_of(out)[0])), "rb") as b:
            self.assertEqual(a.read(), b.read())
        # what `runs show` prints of them (dr_delivery_print)
        p = subprocess.run([os.environ["DYNOREPORT_DELIVERY_PRINT"], self.db.odbc, run_id], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        shown = p.stdout.splitlines()
        self.assertEqual(shown[0], "deliveries:")
        self.assertEqual([l for l in shown if not l.startswith("    ")],
                         ["deliveries:", "  later (dir): failed after 3 attempts", "  later (dir): delivered after 1 attempt"])
        self.assertEqual(sum(l.startswith("    error:    ") and "not-yet" in l for l in shown), 1, p.stdout)
        self.assertEqual(sum(l.startswith("    target:   ") and dest in l for l in shown), 2, p.stdout)
        self.assertEqual(sum(re.match(r"    finished: \d{4}-\d\d-\d\dT", l) is not None for l in shown), 2, p.stdout)
        p = subprocess.run([os.environ["DYNOREPORT_DELIVERY_PRINT"], self.db.odbc, "70b31dea-cf12-4291-8c66-c576e8aa2aca"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout), (0, "deliveries: none\n"), p.stderr)

    def test_sigint_while_waiting_to_retry(self):
        """SIGINT during the backoff: the attempt is recorded as failed, the run stays saved,
        exit 130 with a message that says so (not 'nothing was saved')."""
        outdir = self.make_dir()
        missing = os.path.join(self.make_dir(), "missing")
        cfg = self.write_config(f"[delivery slow]\nurl = file://{missing}\nretries = 1\nbackoff = 1min\n")
        cmd = drtest.tool_command(["--config", cfg, "run", "--tenant", T1, "--all-principals", "--period", "2026-03",
                                   "--output-dir", outdir, "--deliver", "slow"])
        p = subprocess.Popen(cmd, env=drtest.tool_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        err = b""
        while b"trying again" not in err:
            line = p.stderr.readline()
            self.assertTrue(line, f"the tool ended before its backoff: {err!r}")
            err += line
        p.send_signal(signal.SIGINT)
        out, rest = p.communicate(timeout=30)
        err = (err + rest).decode()
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("during the deliveries: run", err)
        self.assertIn("is saved and its files are in place", err)
        self.assertNotIn("nothing was saved", err)
        run_id = out.decode().splitlines()[0]
        rec = self.records(run_id)
        self.assertEqual(rec[0][2:4], ("failed", 1))
        self.assertIn("interrupted", rec[0][5])

    def test_job_summary_counts_failed_deliveries(self):
        outdir = self.make_dir()
        missing = os.path.join(self.make_dir(), "missing")
        cfg = self.write_config(f"[job all]\ntenant = all\nprincipals = all\nperiod = 2026-03\n"
                                f"output_dir = {outdir}\ndeliver = nowhere\n\n"
                                f"[delivery nowhere]\nurl = file://{missing}\nretries = 0\n")
        rc, out, err = drtest.run_tool(["--config", cfg, "job", "all"])
        self.assertEqual(rc, 76, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 4, out)  # both tenants' runs saved and written
        self.assertIn("job all: the deliveries of 2 of 2 tenants failed (their runs are saved)", err)
        self.assertEqual(err.count("a delivery for tenant"), 2, err)
        for run_id in (lines[0], lines[2]):
            self.assertEqual(self.records(run_id)[0][2:4], ("failed", 1))

    def test_deliver_unknown_run_and_usage(self):
        cfg = self.write_config(f"[delivery copy]\nurl = file://{self.make_dir()}\n")
        rc, _, err = drtest.run_tool(["--config", cfg, "deliver", "--run-id", "70b31dea-cf12-4291-8c66-c576e8aa2aca",
                                      "--to", "copy"])
        self.assertEqual(rc, 65, err)
        rc, _, err = drtest.run_tool(["--config", cfg, "deliver", "--run-id", "70b31dea-cf12-4291-8c66-c576e8aa2aca"])
        self.assertEqual(rc, 64, err)
        self.assertIn("no destination", err)
        rc, _, err = drtest.run_tool(["--config", cfg, "run", "--tenant", T1, "--all-principals", "--period",
                                      "2026-03", "--deliver", "nosuch"])
        self.assertEqual(rc, 64, err)
        self.assertIn("unknown --deliver 'nosuch'", err)
        rc, _, err = drtest.run_tool(["--config", cfg, "run", "--tenant", T1, "--all-principals", "--period",
                                      "2026-03", "--deliver", "copy", "--no-persist"])
        self.assertEqual(rc, 64, err)

    def test_configuration_errors_name_file_line_and_key(self):
        # the file starts with 3 lines of [connection]: the body's first line is line 4
        cases = [
            ("[delivery x]\nretries = many\n", 5, "retries"),
            ("[delivery x]\nbackoff = soon\n", 5, "backoff"),
            ("[delivery x]\nkind = mail\nurl = smtp://user:secret@127.0.0.1:25\n", 6, "url"),
            ("[delivery x]\nkind = mail\nurl = http://127.0.0.1\nfrom = a@b.example\nrecipients = c@d.example\n",
             6, "url"),
            ("[delivery x]\nkind = mail\nurl = smtp://127.0.0.1\nrecipients = c@d.example\n", 4, "from"),
            ("[delivery x]\nkind = sftp\nurl = sftp://127.0.0.1/drop\nuser = u\nprivate_key = /k\n", 4, "known_hosts"),
            ("[delivery x]\nmanifest = perhaps\n", 5, "manifest"),
            ("[delivery x]\nkind = dir\nsubject = a\x0db\n", 6, "subject"),
            ("[delivery x]\ncolour = red\n", 5, "colour"),
            ("[job j]\ndeliver = nowhere\n", 5, "deliver"),
            ("[delivery x]\nkind = carrier-pigeon\n", 5, "kind"),
            ("[delivery x]\nkind = mail\nurl = smtp://127.0.0.1\nfrom = not an address\nrecipients = c@d.example\n",
             7, "from"),
            ("[delivery x]\nkind = dir\noption = colour=red\n", 6, "option"),
        ]
        runs = drtest.count_runs(self.db)
        for body, line, key in cases:
            with self.subTest(key=key, body=body):
                cfg = self.write_config(body)
                rc, out, err = drtest.run_tool(["--config", cfg, "run", "--tenant", T1, "--all-principals",
                                                "--period", "2026-03", "--deliver", "x",
                                                "--output-dir", self.make_dir()])
                self.assertEqual(rc, 78, err)
                self.assertIn(f"{cfg}:{line}:", err)
                self.assertIn(key, err)
                self.assertEqual(out, "")
        self.assertEqual(drtest.count_runs(self.db), runs)

    def test_credentials_file_must_be_private(self):
        d = self.make_dir()
        secret = delivery_support.private_file(d, "pw", "hunter2\n", mode=0o644)
        cfg = self.write_config(f"[delivery m]\nkind = mail\nurl = smtp://127.0.0.1:9\nfrom = a@b.example\n"
                                f"recipients = c@d.example\ncredentials_file = {secret}\n")
        rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "m")
        self.assertEqual(rc, 78, err)
        self.assertIn("credentials file", err)
        self.assertIn("chmod 600", err)
        self.assertNotIn("hunter2", err)


class ThirdPartyDeliveryTests(delivery_support.DeliveryTestCase):
    """A delivery plugin built against the public SDK only (tests/plugins/spool.c, which
    also holds a format), and one built for another delivery ABI (deliverabi.c)."""

    def run_with(self, cfg, *extra):
        return self.run_report(cfg, self.make_dir(), "--plugin-dir", os.environ["DYNOREPORT_TEST_PLUGIN_DIR"], *extra)

    def test_plugin_with_both_entries_and_retries(self):
        spool = os.path.join(self.make_dir(), "spool.txt")
        cfg = self.write_config(f"[delivery s]\nkind = spool\noption = out={spool}\noption = fail_until=2\n"
                                "retries = 3\nbackoff = 10ms\n")
        rc, out, err = self.run_with(cfg, "--deliver", "s")
        run_id, paths = self.assert_run_ok(rc, out, err)
        size = os.path.getsize(paths[0])
        name = os.path.basename(paths[0])
        with open(spool, encoding="utf-8") as f:
            self.assertEqual(f.read().splitlines(), [f"{name} {size} csv text/csv 1", f"{name} {size} csv text/csv 2"])
        self.assertIn("delivery s: attempt 1 of 4 failed: attempt 1 fails on purpose", err)
        self.assertIn("delivery s: failing on purpose", err)  # the plugin's log, through the host
        self.assertEqual(self.records(run_id)[0][:5], ("s", "spool", "delivered", 2, "spooled 1 files"))
        # the same file serves as a format too
        rc, out, err = self.run_with(cfg, "--format", "spool")
        self.assertEqual(rc, 0, err)
        self.assertTrue(any(p.endswith(".spool") for p in out.splitlines()[1:]), out)

    def test_a_secret_a_plugin_puts_in_its_error_is_scrubbed(self):
        d = self.make_dir()
        pw = delivery_support.private_file(d, "pw", "Leaky-Secret-42\n")
        cfg = self.write_config(f"[delivery s]\nkind = spool\noption = out={os.path.join(d, 'out')}\n"
                                f"option = leak=yes\ncredentials_file = {pw}\n")
        rc, out, err = self.run_with(cfg, "--deliver", "s")
        self.assertEqual(rc, 76, err)
        self.assertNotIn("Leaky-Secret-42", err)
        # withheld whole (a mask of its characters would show where and how long it is),
        # the error as the line the plugin logged through the host during the call
        self.assertNotIn("*****", err)
        self.assertIn("failed after 1 attempt: the message held the destination's credential and was withheld", err)
        self.assertIn("delivery s: the message held the destination's credential and was withheld", err)
        rec = self.records(out.splitlines()[0])
        self.assertNotIn("Leaky-Secret-42", repr(rec))
        self.assertNotIn("*****", repr(rec))
        self.assertEqual(rec[0][2:4], ("failed", 1))

    def test_plugins_lists_the_delivery_kinds(self):
        build = os.environ["DYNOREPORT_BUILD_PLUGIN_DIR"]
        rc, out, err = drtest.run_tool(["plugins", "--plugin-dir", build], plugin_path=False)
        self.assertEqual(rc, 0, err)
        head, deliveries = out.split("\nDELIVERY ", 1)
        self.assertNotRegex(head, r"(?m)^(mail|sftp)\s")  # not formats
        self.assertRegex(deliveries, r"(?m)^dir\s+1\.0\.0\s+1\s+\(built in\)$")
        for kind in ("mail", "sftp"):
            self.assertRegex(deliveries, rf"(?m)^{kind}\s+1\.0\.0\s+1\s+{re.escape(os.path.join(build, kind))}\.so$")
        self.assertTrue(deliveries.rstrip().endswith("(host delivery ABI 1.0)"), out)
        self.assertNotIn("error", out.lower())
        rc, out, err = drtest.run_tool(["plugins", "--plugin-dir", os.environ["DYNOREPORT_TEST_PLUGIN_DIR"]],
                                       plugin_path=False)
        self.assertEqual(rc, 0, err)
        self.assertIn("built for delivery ABI 99", out)
        self.assertRegex(out, r"(?m)^spool\s+1\.0\.0\s+1\s+.*spool\.so$")  # a format and a delivery
        self.assertEqual(len(re.findall(r"(?m)^spool\s", out)), 2, out)

    def test_plugin_refusals_before_any_database_work(self):
        runs = drtest.count_runs(self.db)
        for body, needle in (("kind = deliverabi\n", "built for delivery ABI 99"),
                             ("kind = spool\n", "option out=FILE is required"),
                             ("kind = spool\noption = colour=red\n", "unknown option 'colour' for kind spool")):
            with self.subTest(body=body):
                cfg = self.write_config("[delivery s]\n" + body)
                rc, out, err = self.run_with(cfg, "--deliver", "s")
                self.assertEqual(rc, 78, err)
                self.assertIn(needle, err)
                self.assertIn(f"{cfg}:", err)
                self.assertEqual(out, "")
        self.assertEqual(drtest.count_runs(self.db), runs)


def paths_of(out):
    return out.splitlines()[1:]


if __name__ == "__main__":
    unittest.main()
