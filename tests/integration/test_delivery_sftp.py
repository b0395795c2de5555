"""Delivery (issue 13), the `sftp` kind against a real OpenSSH server on 127.0.0.1
(Debian's openssh-server: /usr/sbin/sshd -D with its own configuration and host key,
started by the test): the uploaded files equal the local ones and no temporary name is
left; a host key that is not the one in known_hosts is refused with a clear message and a
recorded failure (not retried); a server that is not there: retries, a recorded failure,
the run saved, then `deliver --run-id` succeeds; an untrusted private key is refused
before any database work. Also the example job of docs/delivery.md: each tenant's
managers get the XLSX by mail and the CSV goes to an SFTP drop."""
import email
import email.policy
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import delivery_support
import drtest
from drtest import T1, T2


class SftpDeliveryTests(delivery_support.DeliveryTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sshd = delivery_support.SshServer()
        cls.addClassCleanup(cls.sshd.stop)

    def sftp_section(self, port=None, known_hosts=None, remote=None, extra=""):
        s = self.sshd
        return (f"[delivery drop]\nkind = sftp\nurl = sftp://127.0.0.1:{port or s.port}{remote or s.upload_dir}\n"
                f"user = {s.user}\nprivate_key = {s.client_key}\nknown_hosts = {known_hosts or s.known_hosts}\n"
                f"formats = csv\nretries = 2\nbackoff = 10ms\n{extra}")

    def remote_dir(self):
        d = tempfile.mkdtemp(prefix="drop-", dir=self.sshd.upload_dir)
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def test_upload_by_temporary_name_and_rename(self):
        remote, outdir = self.remote_dir(), self.make_dir()
        cfg = self.write_config(self.sftp_section(remote=remote))
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "drop", formats="csv,json")
        run_id, paths = self.assert_run_ok(rc, out, err, nfiles=2)
        csv = [p for p in paths if p.endswith(".csv")][0]
        self.assertEqual(os.listdir(remote), [os.path.basename(csv)])  # formats = csv; no .part left
        with open(csv, "rb") as a, open(os.path.join(remote, os.path.basename(csv)), "rb") as b:
            self.assertEqual(a.read(), b.read())
        rec = self.records(run_id)
        self.assertEqual(rec[0][:4], ("drop", "sftp", "delivered", 1))
        self.assertIn(os.path.join(remote, os.path.basename(csv)), rec[0][4])
        # a second run of the same period replaces the file on the server
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "drop", formats="csv")
        run2, paths2 = self.assert_run_ok(rc, out, err)
        with open(paths2[0], "rb") as a, open(os.path.join(remote, os.path.basename(csv)), "rb") as b:
            self.assertEqual(a.read(), b.read())
        with open(os.path.join(remote, os.path.basename(csv)), encoding="utf-8") as f:
            self.assertIn(run2, f.read())

    def test_wrong_host_key_is_refused_and_recorded(self):
        remote, outdir = self.remote_dir(), self.make_dir()
        cfg = self.write_config(self.sftp_section(remote=remote, known_hosts=self.sshd.wrong_known_hosts))
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "drop")
        self.assertEqual(rc, 76, err)
        self.assertIn("host key", err)
        self.assertIn("refused", err)
        self.assertIn(self.sshd.wrong_known_hosts, err)
        run_id = out.splitlines()[0]
        self.assertEqual(len(out.splitlines()), 2)  # the run is saved, its file in place
        rec = self.records(run_id)
        self.assertEqual(rec[0][:4], ("drop", "sftp", "failed", 1))  # never retried
        self.assertIn("host key", rec[0][5])
        self.assertEqual(os.listdir(remote), [])

    def test_unknown_host_is_refused(self):
        d, remote, outdir = self.make_dir(), self.remote_dir(), self.make_dir()
        empty = delivery_support.private_file(d, "known_hosts", "", 0o644)
        cfg = self.write_config(self.sftp_section(remote=remote, known_hosts=empty))
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "drop")
        self.assertEqual(rc, 76, err)
        self.assertIn("not in the known_hosts file", err)
        self.assertEqual(os.listdir(remote), [])
        with open(empty, encoding="ascii") as f:
            self.assertEqual(f.read(), "")  # nothing was added

    def test_server_not_there_then_deliver_again(self):
        remote, outdir = self.remote_dir(), self.make_dir()
        gone = delivery_support.Refuser(greeting=b"SSH-2.0-OpenSSH_9.2\r\n")
        self.addCleanup(gone.stop)
        cfg = self.write_config(self.sftp_section(port=gone.port, remote=remote))
        runs = drtest.count_runs(self.db)
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "drop")
        self.assertEqual(rc, 76, err)
        run_id, csv = out.splitlines()
        self.assertEqual(drtest.count_runs(self.db), runs + 1)
        self.assertEqual(self.records(run_id)[0][:4], ("drop", "sftp", "failed", 3), err)
        self.assertEqual(gone.count, 3)
        cfg2 = self.write_config(self.sftp_section(remote=remote))
        rc, out2, err2 = drtest.run_tool(["--config", cfg2, "deliver", "--run-id", run_id, "--to", "drop"])
        self.assertEqual(rc, 0, err2)
        with open(csv, "rb") as a, open(os.path.join(remote, os.path.basename(csv)), "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertEqual([r[2:4] for r in self.records(run_id)], [("failed", 3), ("delivered", 1)])

    def test_private_key_must_be_private(self):
        d = self.make_dir()
        key = os.path.join(d, "key")
        shutil.copy(self.sshd.client_key, key)
        os.chmod(key, 0o644)
        cfg = self.write_config(self.sftp_section().replace(self.sshd.client_key, key))
        runs = drtest.count_runs(self.db)
        rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "drop")
        self.assertEqual(rc, 78, err)
        self.assertIn("private key", err)
        self.assertIn(f"{cfg}:", err)
        self.assertEqual(drtest.count_runs(self.db), runs)

    def wait_for_query(self, text, proc, timeout=60):
        """Until a statement holding TEXT runs in the database (the tool is then past its
        configuration checks), or PROC has ended."""
        deadline = time.time() + timeout
        while time.time() < deadline and proc.poll() is None:
            if self.db.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
                             (f"%{text}%",))[0][0]:
                return
            time.sleep(0.05)
        self.fail(f"no statement with {text!r} ran (tool exit {proc.poll()})")

    def test_known_hosts_replaced_after_the_check_is_not_used(self):
        """What is checked is what libssh2 reads: the known_hosts file is kept open from the
        check and passed as /proc/self/fd/N, so a file renamed over it during the run (here
        one of another owner, holding the key someone wants trusted) changes nothing."""
        d, remote, outdir = self.make_dir(), self.remote_dir(), self.make_dir()
        kh = os.path.join(d, "known_hosts")
        shutil.copy(self.sshd.wrong_known_hosts, kh)
        os.chmod(kh, 0o644)
        names = delivery_support.private_file(
            d, "names.sql", "SELECT 'USER', '00000000-0000-4000-8000-000000000000', 'x' FROM pg_sleep(3) "
            "WHERE :tenant::text IS NOT NULL\n", 0o644)
        cfg = self.write_config(f"[names]\nprincipals = {names}\n\n" + self.sftp_section(remote=remote, known_hosts=kh))
        args = ["--config", cfg, "run", "--tenant", T1, "--all-principals", "--period", "2026-03", "--format", "csv",
                "--output-dir", outdir, "--deliver", "drop"]
        p = subprocess.Popen(drtest.tool_command(args), env=drtest.tool_env(), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.wait_for_query("FROM pg_sleep(3)", p)
        swap = os.path.join(d, ".known_hosts.new")
        shutil.copy(self.sshd.known_hosts, swap)
        os.chown(swap, 65534, 65534)  # nobody's: refused, had it been there at the check
        os.chmod(swap, 0o644)
        os.rename(swap, kh)
        out, err = (b.decode() for b in p.communicate(timeout=drtest.TOOL_TIMEOUT))
        self.assertEqual(p.returncode, 76, err)
        self.assertIn("host key", err)
        self.assertIn(f"known_hosts file {kh}", err)  # the path configured, not the descriptor's
        self.assertNotIn("/proc/self/fd", err)
        self.assertEqual(os.listdir(remote), [])
        self.assertEqual(self.records(out.splitlines()[0])[0][2], "failed")

    def test_known_hosts_and_private_key_paths_must_be_trusted(self):
        """Every directory up to the file is checked as ssh's StrictModes does (root or the
        running user as owner, not writable by others unless sticky) and the file's own
        name may not be a symbolic link; each refusal is 78 naming file, line and key,
        before any database work."""
        d = self.make_dir()
        open_dir = os.path.join(d, "open")
        os.mkdir(open_dir)
        os.chmod(open_dir, 0o777)
        kh_open = os.path.join(open_dir, "known_hosts")
        shutil.copy(self.sshd.known_hosts, kh_open)
        kh_link = os.path.join(d, "kh_link")
        os.symlink(self.sshd.known_hosts, kh_link)
        key_link = os.path.join(d, "key_link")
        os.symlink(self.sshd.client_key, key_link)
        cases = [
            ("known_hosts", kh_open, [f"'{open_dir}' is writable by everyone (mode 0777)"]),
            ("known_hosts", kh_link, ["it is a symbolic link"]),
            ("private_key", key_link, ["it is a symbolic link"]),
        ]
        runs = drtest.count_runs(self.db)
        for key, path, expect in cases:
            with self.subTest(key=key, path=path):
                section = self.sftp_section()
                section = section.replace(self.sshd.known_hosts if key == "known_hosts" else self.sshd.client_key, path)
                cfg = self.write_config(section)
                rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "drop")
                self.assertEqual((rc, out), (78, ""), err)
                line = section.splitlines().index(f"{key} = {path}") + 4  # after [connection], connect, blank
                self.assertIn(f"{cfg}:{line}: [delivery drop] key '{key}': ", err)
                for text in expect:
                    self.assertIn(text, err)
        self.assertEqual(drtest.count_runs(self.db), runs)
        # a sticky directory (as /tmp) is fine: no one else can rename or remove the file in it
        sticky, remote = os.path.join(d, "sticky"), self.remote_dir()
        os.mkdir(sticky)
        os.chmod(sticky, 0o1777)
        kh = os.path.join(sticky, "known_hosts")
        shutil.copy(self.sshd.known_hosts, kh)
        cfg = self.write_config(self.sftp_section(remote=remote, known_hosts=kh))
        rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "drop")
        self.assert_run_ok(rc, out, err)
        self.assertEqual(len(os.listdir(remote)), 1)

    def test_names_are_escaped_and_the_old_file_is_kept_until_the_rename(self):
        """A '#' in a file name is a name, not a URL fragment (the path is URL-escaped); the
        temporary name is the run's and the attempt's (.NAME.RUN_ID.ATTEMPT.part); the file
        already on the server is renamed aside, not removed, before the new one takes its
        name, so when that rename fails the old file is still there and no temporary is left."""
        remote, outdir = self.remote_dir(), self.make_dir()
        cfg = self.write_config(self.sftp_section(remote=remote).replace("retries = 2", "retries = 0"))
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "drop", "--name", "{report}#{tenant}.{ext}")
        run_id, paths = self.assert_run_ok(rc, out, err)
        name = os.path.basename(paths[0])
        self.assertIn("#", name)
        self.assertEqual(os.listdir(remote), [name])
        final = os.path.join(remote, name)
        with open(paths[0], "rb") as a, open(final, "rb") as b:
            self.assertEqual(a.read(), b.read())
        # the place the old file would be moved aside to is taken: the new one cannot get its name
        with open(final, "w", encoding="utf-8") as f:
            f.write("OLD\n")
        blocker = os.path.join(remote, f".{name}.{run_id}.1.old")
        os.mkdir(blocker)
        open(os.path.join(blocker, "x"), "w").close()
        rc, out, err = drtest.run_tool(["--config", cfg, "deliver", "--run-id", run_id, "--to", "drop",
                                        "--format", "csv", "--name", "{report}#{tenant}.{ext}"])
        self.assertEqual(rc, 76, err)
        with open(final, encoding="utf-8") as f:
            self.assertEqual(f.read(), "OLD\n")  # never removed before the new file had its name
        self.assertEqual(sorted(os.listdir(remote)), sorted([name, os.path.basename(blocker)]))  # no .part left

    def test_example_job_mails_xlsx_and_uploads_csv(self):
        """docs/delivery.md's example: managers get the XLSX, the drop gets the CSV."""
        d, remote, outdir = self.make_dir(), self.remote_dir(), self.make_dir()
        cert = delivery_support.make_certificate(d)
        smtp = delivery_support.SmtpServer(tls="starttls", cert=cert, auth=("reports", "pw-for-mail"))
        self.addCleanup(smtp.stop)
        pw = delivery_support.private_file(d, "smtp.pw", "pw-for-mail\n")
        managers = delivery_support.private_file(
            d, "managers.sql", "SELECT email FROM (VALUES "
            f"('{T1}'::uuid, 'ana@t1.example'), ('{T2}'::uuid, 'bo@t2.example')) AS m(tenant_id, email)"
            " WHERE m.tenant_id = :tenant::uuid\n", 0o644)
        cfg = self.write_config(
            f"[job monthly]\ntenant = all\nprincipals = all\nperiod = 2026-03\nformats = xlsx,csv\n"
            f"output_dir = {outdir}\ndeliver = managers, drop\n\n"
            f"[delivery managers]\nkind = mail\nurl = smtp://127.0.0.1:{smtp.port}\noption = ca_file={cert[0]}\n"
            f"user = reports\ncredentials_file = {pw}\nfrom = reports@example.com\n"
            f"recipients_query = {managers}\nformats = xlsx\nsubject = Sales report {{period}}\n\n"
            + self.sftp_section(remote=remote))
        rc, out, err = drtest.run_tool(["--config", cfg, "job", "monthly"])
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 6, out)
        files = [p for p in lines if "/" in p]
        self.assertEqual(sorted(os.listdir(remote)), sorted(os.path.basename(p) for p in files if p.endswith(".csv")))
        for p in files:
            if p.endswith(".csv"):
                with open(p, "rb") as a, open(os.path.join(remote, os.path.basename(p)), "rb") as b:
                    self.assertEqual(a.read(), b.read())
        self.assertEqual(len(smtp.messages), 2)
        for rcpts, raw in smtp.messages:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            (att,) = list(msg.iter_attachments())
            tenant = T1 if rcpts == ["ana@t1.example"] else T2
            self.assertEqual(rcpts, ["ana@t1.example"] if tenant == T1 else ["bo@t2.example"])
            xlsx = [p for p in files if p.endswith(".xlsx") and tenant in p][0]
            with open(xlsx, "rb") as f:
                self.assertEqual(att.get_payload(decode=True), f.read())
            self.assertNotIn(b"pw-for-mail", raw)
        self.assertNotIn("pw-for-mail", err)
        for run_id in (lines[0], lines[3]):
            self.assertEqual(sorted(r[:3] for r in self.records(run_id)),
                             [("drop", "sftp", "delivered"), ("managers", "mail", "delivered")])


if __name__ == "__main__":
    unittest.main()
