"""A PostgreSQL wire-protocol proxy that records what a client sends, for the tests that
count the tool's round trips (test_wire.py).

Listens on 127.0.0.1 (a free port), forwards every connection to the test server, and
records the client's messages of protocol 3 by type: the untyped ones first (SSLRequest,
the startup packet), then (type byte, body). The server's bytes pass through untouched,
so the client talks to the real server through the real driver; nothing is changed.
A round trip is a message the client then waits on: a simple Query ('Q') or a Sync ('S').
"""
import socket
import struct
import threading

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


class Recorder:
    """The client messages of every connection made through one proxy."""

    def __init__(self):
        self.lock = threading.Lock()
        self.connections = []  # one list of (type, body) per client connection

    def new_connection(self):
        msgs = []
        with self.lock:
            self.connections.append(msgs)
        return msgs

    def messages(self):
        with self.lock:
            return [m for conn in self.connections for m in conn]

    def round_trips(self):
        return sum(1 for t, _ in self.messages() if t in (b"Q", b"S"))

    def texts(self, kind):
        """The statement texts of the Parse (KIND b"P": name, then text) or simple Query
        (b"Q") messages sent, in order."""
        out = []
        for t, body in self.messages():
            if t != kind:
                continue
            if kind == b"P":
                body = body[body.index(b"\0") + 1:]  # past the statement's name
            out.append(body[:body.index(b"\0")].decode("utf-8", "replace"))
        return out


def _read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _shutdown(*socks):
    """End both directions of a proxied connection (the other pipe's recv returns)."""
    for sock in socks:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _pipe_server(server, client):
    try:
        while True:
            data = server.recv(65536)
            if not data:
                break
            client.sendall(data)
    except OSError:
        pass
    finally:
        _shutdown(client, server)


def _pipe_client(client, server, msgs):
    """Forward the client's bytes message by message, recording each."""
    try:
        typed = False
        while True:
            if not typed:
                head = _read_exact(client, 4)
                if head is None:
                    break
                (length,) = struct.unpack("!I", head)
                body = _read_exact(client, length - 4)
                if body is None:
                    break
                code = struct.unpack("!I", body[:4])[0] if len(body) >= 4 else 0
                msgs.append((None, body))
                server.sendall(head + body)
                if code not in (SSL_REQUEST, GSSENC_REQUEST):
                    typed = True  # the startup packet: typed messages from now on
                continue
            head = _read_exact(client, 5)
            if head is None:
                break
            length = struct.unpack("!I", head[1:])[0]
            body = _read_exact(client, length - 4)
            if body is None:
                break
            msgs.append((head[:1], body))
            server.sendall(head + body)
    except OSError:
        pass
    finally:
        _shutdown(client, server)


class Proxy:
    """`with Proxy(host, port) as p:` connect to 127.0.0.1:p.port; p.recorder holds what
    the clients sent."""

    def __init__(self, host, port):
        self.target = (host, int(port))
        self.recorder = Recorder()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.threads = []
        self.socks = []
        self.accepter = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socks += [client, server]
            msgs = self.recorder.new_connection()
            for target, args in ((_pipe_client, (client, server, msgs)), (_pipe_server, (server, client))):
                t = threading.Thread(target=target, args=args, daemon=True)
                t.start()
                self.threads.append(t)

    def __enter__(self):
        self.accepter.start()
        return self

    def __exit__(self, *exc):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of _accept
        except OSError:
            pass
        self.listener.close()
        self.accepter.join(timeout=10)
        for t in self.threads:
            t.join(timeout=10)
        for s in self.socks:
            s.close()
        return False
