"""Delivery (issue 13), the `mail` kind against a real SMTP server on 127.0.0.1 (Debian's
python3-aiosmtpd, started by the test): STARTTLS with a certificate made at test time by
openssl and AUTH, SMTPS, plain SMTP; every message parsed with Python's `email` package,
every attachment compared byte for byte with the run's files, the content types, the
per-tenant recipients of the recipients query, the summary (top three reps, escaped in the
HTML), the subject template, header injection refused, and no password in any message,
record or stderr. A server that drops the connection: retries, a recorded failure (76),
the run saved, then `deliver --run-id` succeeds against a working server."""
import email
import email.policy
import os
import shutil
import unittest

import delivery_support
import drtest
from drtest import ALICE, BOB, CAROL, DAVE, ERIN, FRANK, HANK, IVY, JACK, LIAM, T1, T2

PASSWORD = "s3cr3t-Pa55word-for-smtp"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# every rep's name has characters HTML must escape
NAMES = {uid: f"Rep <b>{i}</b> & 'Co' \"{i}\"" for i, uid in
         enumerate((ALICE, BOB, CAROL, DAVE, ERIN, FRANK, HANK, IVY, JACK, LIAM), 1)}


class MailDeliveryTests(delivery_support.DeliveryTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        import tempfile
        import shutil
        cls.certdir = tempfile.mkdtemp(prefix="drtest-cert-")
        cls.addClassCleanup(shutil.rmtree, cls.certdir, True)
        cls.cert = delivery_support.make_certificate(cls.certdir)

    def smtp(self, **kwargs):
        server = delivery_support.SmtpServer(cert=self.cert, **kwargs)
        self.addCleanup(server.stop)
        return server

    def files(self, d):
        """The query files: names of three reps, and each tenant's managers."""
        values = ", ".join(f"('USER', '{uid}', '{name.replace(chr(39), chr(39) * 2)}')" for uid, name in NAMES.items())
        names = delivery_support.private_file(
            d, "names.sql", f"SELECT * FROM (VALUES {values}) AS v(t, i, n) WHERE :tenant::text IS NOT NULL\n", 0o644)
        recipients = delivery_support.private_file(
            d, "managers.sql",
            "SELECT addr FROM (VALUES "
            f"('{T1}'::uuid, 'boss-one@t1.example'), ('{T1}'::uuid, 'deputy@t1.example'),"
            f" ('{T2}'::uuid, 'boss@t2.example')) AS m(tenant, addr) WHERE m.tenant = :tenant::uuid ORDER BY addr\n",
            0o644)
        pw = delivery_support.private_file(d, "smtp.pw", PASSWORD + "\n")
        return names, recipients, pw

    def mail_config(self, server, d, url=None, tls_line="option = tls=starttls\n", extra="", formats="xlsx",
                    names_extra=""):
        names, recipients, pw = self.files(d)
        url = url or f"smtp://127.0.0.1:{server.port}"
        return self.write_config(
            f"[names]\nprincipals = {names}\n{names_extra}\n"
            f"[delivery managers]\nkind = mail\nurl = {url}\n{tls_line}option = ca_file={self.cert[0]}\n"
            f"user = reports\ncredentials_file = {pw}\nfrom = reports@example.com\n"
            "reply_to = sales-ops@example.com\nrecipients = archive@example.com\n"
            f"recipients_query = {recipients}\nformats = {formats}\n"
            "subject = Sales {period} \u2013 {tenant_name}\nretries = 2\nbackoff = 10ms\n" + extra)

    def edit(self, cfg, old, new):
        """Replace OLD by NEW in the configuration file CFG; its new text."""
        with open(cfg, encoding="utf-8") as f:
            text = f.read().replace(old, new)
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(text)
        return text

    def assert_no_secret(self, raw, err, run_ids):
        self.assertNotIn(PASSWORD.encode(), raw)
        self.assertNotIn(PASSWORD, err)
        for run_id in run_ids:
            self.assertNotIn(PASSWORD, repr(self.records(run_id)))

    def check_message(self, rcpts, raw, run_id, tenant, path):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertIn("reports@example.com", msg["From"])
        self.assertIn("sales-ops@example.com", msg["Reply-To"])
        # no [names] tenant query: the view's marked fallback name
        self.assertEqual(str(msg["Subject"]), f"Sales 2026-03 \u2013 [tenant {tenant[:8]}]")
        expected_rcpts = {T1: ["archive@example.com", "boss-one@t1.example", "deputy@t1.example"],
                          T2: ["archive@example.com", "boss@t2.example"]}[tenant]
        self.assertEqual(sorted(rcpts), sorted(expected_rcpts))
        for addr in expected_rcpts:
            self.assertIn(addr, msg["To"])
        attachments = list(msg.iter_attachments())
        self.assertEqual(len(attachments), 1)
        att = attachments[0]
        self.assertEqual(att.get_content_type(), XLSX if path.endswith(".xlsx") else "text/csv")
        self.assertEqual(att.get_filename(), os.path.basename(path))
        with open(path, "rb") as f:
            self.assertEqual(att.get_payload(decode=True), f.read())
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        self.assertIn(run_id, text)
        self.assertIn(tenant, text)
        self.assertIn("2026-03", text)
        return text, html

    def top_three(self, run_id):
        rows = self.db.query("SELECT f.principal_id::text, f.total_amount_won::text"
                             " FROM dyno_crm.report_rep_performance_fact f"
                             " WHERE f.run_id = %s AND f.principal_type = 'USER'"
                             " ORDER BY f.total_amount_won DESC, f.deals_closed_won_count DESC, f.principal_id LIMIT 3",
                             (run_id,))
        return [(NAMES.get(pid, f"[user {pid[:8]}]"), amount) for pid, amount in rows]

    def test_starttls_auth_job_mails_each_tenant_its_managers(self):
        server = self.smtp(tls="starttls", auth=("reports", PASSWORD))
        d, outdir = self.make_dir(), self.make_dir()
        cfg = self.mail_config(server, d, extra=(
            f"\n[job monthly]\ntenant = all\nprincipals = all\nperiod = 2026-03\nformats = csv,xlsx\n"
            f"output_dir = {outdir}\ndeliver = managers\n"))
        rc, out, err = drtest.run_tool(["--config", cfg, "job", "monthly"])
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 6, out)  # per tenant: run id, csv, xlsx
        runs = {T1: lines[0:3], T2: lines[3:6]} if T1 < T2 else {T2: lines[0:3], T1: lines[3:6]}
        self.assertEqual(len(server.messages), 2)
        self.assertTrue(server.logins and all(ok for _, ok in server.logins), server.logins)
        # the job's workers mail in parallel: each message is matched to its tenant by run id
        self.assertEqual(sorted(t for _, raw in server.messages for t, r in runs.items() if r[0].encode() in raw),
                         sorted((T1, T2)), "one message per tenant, each naming its run")
        for rcpts, raw in server.messages:
            tenant = [t for t, r in runs.items() if r[0].encode() in raw][0]
            run_id, paths = runs[tenant][0], runs[tenant][1:]
            xlsx = [p for p in paths if p.endswith(".xlsx")][0]
            text, html = self.check_message(rcpts, raw, run_id, tenant, xlsx)
            self.assert_no_secret(raw, err, [run_id])
            rec = self.records(run_id)
            self.assertEqual(rec[0][:4], ("managers", "mail", "delivered", 1))
            for addr in rcpts:
                self.assertIn(addr, rec[0][4])
            if tenant == T1:
                top = self.top_three(run_id)
                self.assertEqual(len(top), 3)
                for name, amount in top:
                    self.assertIn(f"{name} - {amount}", text)
                    escaped = (name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                               .replace('"', "&quot;").replace("'", "&#39;"))
                    self.assertIn(f"<li>{escaped}: {amount}</li>", html)
                    self.assertNotIn(name, html)

    def test_smtps_and_plain(self):
        for tls, url_scheme, tls_line in (("smtps", "smtps", ""), (None, "smtp", "option = tls=none\n")):
            with self.subTest(tls=tls):
                server = self.smtp(tls=tls, auth=("reports", PASSWORD))
                d, outdir = self.make_dir(), self.make_dir()
                cfg = self.mail_config(server, d, url=f"{url_scheme}://127.0.0.1:{server.port}", tls_line=tls_line)
                rc, out, err = self.run_report(cfg, outdir, "--deliver", "managers", formats="xlsx")
                run_id, paths = self.assert_run_ok(rc, out, err)
                self.assertEqual(len(server.messages), 1)
                rcpts, raw = server.messages[0]
                self.check_message(rcpts, raw, run_id, T1, paths[0])
                self.assert_no_secret(raw, err, [run_id])

    def test_starttls_is_required_unless_tls_none(self):
        server = self.smtp(tls=None)  # offers no STARTTLS
        d, outdir = self.make_dir(), self.make_dir()
        cfg = self.mail_config(server, d, extra="")
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "managers", formats="xlsx")
        self.assertEqual(rc, 76, err)
        self.assertEqual(server.messages, [])
        run_id = out.splitlines()[0]
        self.assertEqual(self.records(run_id)[0][2], "failed")
        self.assert_no_secret(b"", err, [run_id])

    def test_header_injection_in_a_name_becomes_a_space(self):
        server = self.smtp(tls="starttls", auth=("reports", PASSWORD))
        d, outdir = self.make_dir(), self.make_dir()
        tenant_sql = delivery_support.private_file(
            d, "tenant.sql", "SELECT 'Evil' || chr(13) || chr(10) || 'Bcc: victim@evil.example' "
            "WHERE :tenant::text IS NOT NULL\n", 0o644)
        cfg = self.mail_config(server, d, names_extra=f"tenant = {tenant_sql}\n")
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "managers", formats="xlsx")
        run_id, _ = self.assert_run_ok(rc, out, err)
        rcpts, raw = server.messages[0]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertIsNone(msg["Bcc"])
        self.assertNotIn("victim@evil.example", rcpts)
        self.assertIn("Evil", str(msg["Subject"]))
        self.assertIn("victim@evil.example", str(msg["Subject"]))  # kept as text, on the one line

    def test_wrong_password_is_a_recorded_failure_without_the_password(self):
        server = self.smtp(tls="starttls", auth=("reports", "another-password"))
        d, outdir = self.make_dir(), self.make_dir()
        cfg = self.mail_config(server, d)
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "managers", formats="xlsx")
        self.assertEqual(rc, 76, err)
        run_id = out.splitlines()[0]
        rec = self.records(run_id)
        self.assertEqual(rec[0][:3], ("managers", "mail", "failed"))
        self.assertEqual(rec[0][3], 1)  # refused for good: not retried
        self.assertEqual(server.messages, [])
        self.assert_no_secret(b"", err, [run_id])

    def test_ca_file_is_checked_like_known_hosts(self):
        """option ca_file decides which servers we trust: an absolute path whose directories
        and file no one but root and the running user can change, never a symbolic link;
        else 78 naming file, line and key before any database work and any mail."""
        server = self.smtp(tls="starttls", auth=("reports", PASSWORD))
        d = self.make_dir()
        writable = os.path.join(d, "ca-everyone.pem")
        shutil.copy(self.cert[0], writable)
        os.chmod(writable, 0o666)
        open_dir = os.path.join(d, "open")
        os.mkdir(open_dir)
        os.chmod(open_dir, 0o777)
        in_open = os.path.join(open_dir, "ca.pem")
        shutil.copy(self.cert[0], in_open)
        link = os.path.join(d, "ca-link.pem")
        os.symlink(self.cert[0], link)
        cases = [(writable, "is writable by group or others"),
                 (in_open, f"'{open_dir}' is writable by everyone (mode 0777)"),
                 (link, "it is a symbolic link"),
                 ("ca.pem", "the path is relative, expected an absolute one")]
        runs = drtest.count_runs(self.db)
        for path, expect in cases:
            with self.subTest(path=path):
                cfg = self.mail_config(server, self.make_dir())
                text = self.edit(cfg, f"ca_file={self.cert[0]}", f"ca_file={path}")
                line = text.splitlines().index(f"option = ca_file={path}") + 1
                rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "managers", formats="csv")
                self.assertEqual((rc, out), (78, ""), err)
                self.assertIn(f"{cfg}:{line}: [delivery managers] key 'option': ", err)
                self.assertIn("CA certificates file", err)
                self.assertIn(expect, err)
        self.assertEqual(drtest.count_runs(self.db), runs)
        self.assertEqual(server.messages, [])

    def test_tls_none_with_a_login_only_to_a_loopback_host(self):
        """tls=none with user and credentials_file would send AUTH in cleartext: refused
        (78, file, line and key) unless the url's host is 127.0.0.0/8, ::1 or localhost.
        0.0.0.0 reaches this machine too, but is not a loopback name: refused."""
        server = self.smtp(tls=None, auth=("reports", PASSWORD))
        d, runs = self.make_dir(), drtest.count_runs(self.db)
        cfg = self.mail_config(server, d, url=f"smtp://0.0.0.0:{server.port}", tls_line="option = tls=none\n",
                               formats="csv")
        with open(cfg, encoding="utf-8") as f:
            line = f.read().splitlines().index("option = tls=none") + 1
        rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "managers", formats="csv")
        self.assertEqual((rc, out), (78, ""), err)
        self.assertIn(f"{cfg}:{line}: [delivery managers] key 'option': tls=none with user or credentials_file "
                      f"would send the password in cleartext to 'smtp://0.0.0.0:{server.port}'", err)
        self.assertIn("127.0.0.0/8, ::1, localhost", err)
        self.assertEqual((server.logins, server.messages), ([], []))
        self.assertEqual(drtest.count_runs(self.db), runs)
        for host in ("localhost", "127.0.0.2"):
            with self.subTest(host=host):
                cfg = self.mail_config(server, self.make_dir(), url=f"smtp://{host}:{server.port}",
                                       tls_line="option = tls=none\n", formats="csv")
                rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "managers", formats="csv")
                if host == "localhost":
                    self.assert_run_ok(rc, out, err)
                else:  # accepted by the check; nothing listens there
                    self.assertEqual(rc, 76, err)
                    self.assertNotIn("tls=none", err)

    def test_a_message_that_holds_the_password_is_withheld_whole(self):
        """With the password "127" the server's refusal names smtp://127.0.0.1: masking the
        password's characters would still show it (smtp://***.0.0.1); the whole message is
        replaced by a fixed sentence on stderr and in the record."""
        server = self.smtp(tls="starttls", auth=("reports", "another-password"))
        d = self.make_dir()
        cfg = self.mail_config(server, d, formats="csv")
        delivery_support.private_file(d, "smtp.pw", "127\n")
        rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "managers", formats="csv")
        self.assertEqual(rc, 76, err)
        withheld = "the message held the destination's credential and was withheld"
        self.assertIn(f"failed after 1 attempt: {withheld}", err)
        self.assertNotIn("***", err)
        rec = self.records(out.splitlines()[0])
        self.assertEqual(rec[0][5], withheld)

    def test_one_refused_recipient_does_not_sink_the_others(self):
        """The server refuses one of the tenant's addresses (550): the others get the message
        (CURLOPT_MAIL_RCPT_ALLOWFAILS), the record's target names the refused one, a warning
        says so."""
        server = self.smtp(tls="starttls", auth=("reports", PASSWORD), refuse=("deputy@t1.example",))
        cfg = self.mail_config(server, self.make_dir(), formats="csv")
        rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "managers", formats="csv")
        run_id, _ = self.assert_run_ok(rc, out, err)
        self.assertEqual(len(server.messages), 1)
        self.assertEqual(sorted(server.messages[0][0]), ["archive@example.com", "boss-one@t1.example"])
        target = self.records(run_id)[0][4]
        self.assertTrue(target.endswith("; refused by the server: deputy@t1.example (550)"), target)
        self.assertNotIn("deputy", target.split(";")[0])
        self.assertIn("warning: the server refused 1 of 3 recipients (the others got the message): "
                      "deputy@t1.example (550)", err)

    def test_addresses_are_checked_strictly(self):
        """No relay hack ('%', '!'), IP literal, encoded word, quoted or non-ASCII local part:
        from the recipients query the delivery fails (76, recorded, nothing sent); in the
        configuration, 78 naming file, line and key."""
        server = self.smtp(tls="starttls", auth=("reports", PASSWORD))
        for bad in ("u%evil.example@relay.example", "x@[127.0.0.1]", "=?utf-8?q?x?=@q.example", "a!b@c.example",
                    "a..b@c.example", "a@-c.example", "jos\u00e9@c.example"):
            with self.subTest(address=bad):
                d = self.make_dir()
                cfg = self.mail_config(server, d, formats="csv")
                delivery_support.private_file(d, "managers.sql", f"SELECT '{bad}' WHERE :tenant::text IS NOT NULL\n",
                                              0o644)
                rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "managers", formats="csv")
                self.assertEqual(rc, 76, err)
                self.assertIn("which is not a mail address", err)
                self.assertEqual(self.records(out.splitlines()[0])[0][2], "failed")
                cfg = self.mail_config(server, self.make_dir(), formats="csv")
                text = self.edit(cfg, "recipients = archive@example.com", f"recipients = {bad}")
                line = text.splitlines().index(f"recipients = {bad}") + 1
                rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "managers", formats="csv")
                self.assertEqual((rc, out), (78, ""), err)
                self.assertIn(f"{cfg}:{line}: [delivery managers] key 'recipients': ", err)
        self.assertEqual(server.messages, [])

    def test_server_that_disappears_mid_transfer(self):
        gone = delivery_support.DroppingSmtp()
        self.addCleanup(gone.stop)
        cfg = self.mail_config(None, self.make_dir(), url=f"smtp://127.0.0.1:{gone.port}", tls_line="option = tls=none\n",
                               formats="csv,xlsx")
        rc, out, err = self.run_report(cfg, self.make_dir(), "--deliver", "managers", formats="csv,xlsx")
        self.assertEqual(rc, 76, err)
        run_id = out.splitlines()[0]
        self.assertEqual((gone.count, gone.cut), (3, 3))
        self.assertEqual(self.records(run_id)[0][:4], ("managers", "mail", "failed", 3))
        self.assert_no_secret(b"", err, [run_id])

    def test_server_that_disappears_then_deliver_again(self):
        gone = delivery_support.Refuser(greeting=b"220 127.0.0.1 ESMTP\r\n")
        self.addCleanup(gone.stop)
        d, outdir = self.make_dir(), self.make_dir()
        cfg = self.mail_config(None, d, url=f"smtp://127.0.0.1:{gone.port}", formats="csv")
        runs = drtest.count_runs(self.db)
        rc, out, err = self.run_report(cfg, outdir, "--deliver", "managers", formats="csv,xlsx")
        self.assertEqual(rc, 76, err)
        lines = out.splitlines()
        run_id = lines[0]
        self.assertEqual(len(lines), 3)  # the run id and both files: saved and in place
        self.assertEqual(drtest.count_runs(self.db), runs + 1)
        self.assertEqual(gone.count, 3)  # 1 + retries
        rec = self.records(run_id)
        self.assertEqual(rec[0][:4], ("managers", "mail", "failed", 3))
        self.assertTrue(rec[0][5])
        self.assert_no_secret(b"", err, [run_id])
        # the same destination on a working server: re-sent without recomputing
        server = self.smtp(tls="starttls", auth=("reports", PASSWORD))
        cfg2 = self.mail_config(server, self.make_dir(), formats="csv")
        facts = drtest.count_facts(self.db)
        rc, out2, err2 = drtest.run_tool(["--config", cfg2, "deliver", "--run-id", run_id, "--to", "managers",
                                          "--format", "csv,xlsx"])
        self.assertEqual(rc, 0, err2)
        self.assertEqual(out2.splitlines(), [run_id])
        self.assertEqual(drtest.count_facts(self.db), facts)
        self.assertEqual(drtest.count_runs(self.db), runs + 1)
        rcpts, raw = server.messages[0]
        csv = [p for p in lines[1:] if p.endswith(".csv")][0]  # CSV: the same bytes when written again
        self.check_message(rcpts, raw, run_id, T1, csv)
        self.assertEqual([r[2:4] for r in self.records(run_id)], [("failed", 3), ("delivered", 1)])
        self.assert_no_secret(raw, err2, [run_id])


if __name__ == "__main__":
    unittest.main()
