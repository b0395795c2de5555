"""What the delivery tests (test_delivery_*.py) share: a configuration writer, the
delivery records of a run, free loopback ports, a test certificate made with openssl, an
SMTP server (Debian's python3-aiosmtpd) that keeps every message it receives, and an
OpenSSH server (Debian's openssh-server) on a loopback port with its own host key.

Everything runs on 127.0.0.1 and is started and stopped by the test itself."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import drtest

RECORD_SQL = ("SELECT destination, kind, status, attempts, target, error, finished_at IS NOT NULL"
              " FROM dyno_crm.report_delivery WHERE run_id = %s ORDER BY id")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_file(directory, name, text, mode=0o600):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


class DeliveryTestCase(drtest.FixtureTestCase):
    """A fixture database and helpers for configurations with [delivery NAME] sections."""

    def write_config(self, body):
        d = self.make_dir()
        return private_file(d, "dynoreport.conf", f"[connection]\nconnect = {self.db.odbc}\n\n{body}")

    def records(self, run_id):
        return self.db.query(RECORD_SQL, (run_id,))

    def run_report(self, cfg, outdir, *extra, formats="csv"):
        return drtest.run_tool(["--config", cfg, "run", "--tenant", drtest.T1, "--all-principals",
                                "--period", "2026-03", "--format", formats, "--output-dir", outdir, *extra])


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 / localhost; returns (cert, key) paths."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class SmtpServer:
    """aiosmtpd on 127.0.0.1:PORT in a thread of the test. tls: None, "starttls" (required)
    or "smtps"; auth: (user, password) to require AUTH; refuse: addresses whose RCPT TO is
    answered 550. self.messages: (envelope rcpts, raw bytes) of each message accepted."""

    def __init__(self, tls=None, cert=None, auth=None, refuse=()):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult
        import ssl
        self.messages, self.logins = [], []
        self.port = free_port()
        server = self

        class Handler:
            async def handle_RCPT(self, srv, session, envelope, address, rcpt_options):
                if address in refuse:
                    return "550 5.1.1 no such mailbox"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, srv, session, envelope):
                server.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
                return "250 OK"

        def authenticator(srv, session, envelope, mechanism, auth_data):
            ok = auth is not None and auth_data.login.decode() == auth[0] and auth_data.password.decode() == auth[1]
            server.logins.append((mechanism, ok))
            # handled=False: aiosmtpd sends the 235 / 535 reply itself
            return AuthResult(success=ok, handled=False)

        kwargs, ssl_ctx = {}, None
        if tls:
            ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_ctx.load_cert_chain(*cert)
        if tls == "starttls":
            kwargs.update(tls_context=ssl_ctx, require_starttls=True)
        elif tls == "smtps":
            kwargs.update(ssl_context=ssl_ctx)  # TLS from the first byte
        if auth:
            # over SMTPS the whole session is TLS, but aiosmtpd only knows of STARTTLS's
            kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=tls == "starttls")
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self):
        self.controller.stop()


class Refuser:
    """A TCP server on 127.0.0.1 that accepts connections and closes each one at once
    (after a greeting, if given): a server that disappears mid-conversation. Counts them."""

    def __init__(self, greeting=None):
        self.port = free_port()
        self.count = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.greeting = greeting
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.count += 1
            try:
                self._serve(conn)
            except OSError:
                pass
            conn.close()

    def _serve(self, conn):
        if self.greeting:
            conn.sendall(self.greeting)
            time.sleep(0.05)

    def stop(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


class DroppingSmtp(Refuser):
    """A plain SMTP server that accepts the envelope and DATA, reads part of the message
    and then closes the connection: a server that disappears mid-transfer. self.count:
    connections, self.cut: transfers cut short."""

    def __init__(self):
        self.cut = 0
        super().__init__()

    def _serve(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rb")
        conn.sendall(b"220 127.0.0.1 ESMTP\r\n")
        while True:
            line = f.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-127.0.0.1\r\n250 8BITMIME\r\n")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                conn.sendall(b"250 OK\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go on\r\n")
                f.read(2000)  # part of the message, then gone
                self.cut += 1
                return
            else:
                conn.sendall(b"502 no\r\n")


class SshServer:
    """/usr/sbin/sshd -D on 127.0.0.1:PORT with its own config, host key and one authorized
    client key, for SFTP. root may log in (CI runs as root) with the key only. Files:
    self.client_key (private, 0600), self.known_hosts (the right host key),
    self.wrong_known_hosts (another key for the same host), self.user."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="drtest-sshd-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.user = os.environ.get("USER") or __import__("pwd").getpwuid(os.geteuid()).pw_name
        keygen = ["ssh-keygen", "-q", "-N", ""]
        host_key = os.path.join(self.dir, "host_ecdsa")
        other_key = os.path.join(self.dir, "other_ecdsa")
        self.client_key = os.path.join(self.dir, "client_ecdsa")
        for path, extra in ((host_key, []), (other_key, []), (self.client_key, ["-m", "PEM"])):
            subprocess.run(keygen + ["-t", "ecdsa", "-b", "256", "-f", path] + extra, check=True, timeout=60)
        auth_keys = os.path.join(self.dir, "authorized_keys")
        shutil.copy(self.client_key + ".pub", auth_keys)
        os.chmod(auth_keys, 0o600)
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        self.wrong_known_hosts = os.path.join(self.dir, "wrong_known_hosts")
        for path, key in ((self.known_hosts, host_key), (self.wrong_known_hosts, other_key)):
            with open(key + ".pub", encoding="ascii") as f:
                kind, blob = f.read().split()[:2]
            with open(path, "w", encoding="ascii") as f:
                f.write(f"[127.0.0.1]:{self.port} {kind} {blob}\n")
        self.upload_dir = os.path.join(self.dir, "drop")
        os.mkdir(self.upload_dir)
        config = os.path.join(self.dir, "sshd_config")
        with open(config, "w", encoding="ascii") as f:
            f.write(f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
                    f"AuthorizedKeysFile {auth_keys}\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
                    "UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n"
                    f"PidFile {os.path.join(self.dir, 'sshd.pid')}\nLogLevel ERROR\n")
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
        self.log = open(os.path.join(self.dir, "sshd.log"), "wb")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"sshd exited ({self.proc.returncode}): {self.read_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"sshd did not start: {self.read_log()}")

    def read_log(self):
        self.log.flush()
        with open(os.path.join(self.dir, "sshd.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.dir, True)
