"""Processes and clients for gridrouter's store-mode acceptance tests.

A Store is one single-member etcd-v3 server (etcd 3.4 or gridkv, same flags) on free loopback
ports with its data dir in a temp dir; it can be SIGKILLed and restarted on the same data dir
and ports. A Router is the real gridrouter following a prefix of that store. Backends are
tests/router/backend.py's (store_backend.py). LoadLoop is a client loop on its own threads
that records every answer and every failure. Relay is a TCP relay that can cut a client off
the store. Every wait polls with a deadline; every process gets SIGKILL if the test process
dies (setpriv --pdeathsig) and is killed at the end of its test.
"""

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import etcd3
from etcd3 import etcdrpc

HERE = os.path.dirname(os.path.abspath(__file__))
DEADLINE_S = 20.0
STORE_READY_DEADLINE_S = 30.0
MAX_TXN_OPS = 20000  # both stores take --max-txn-ops; a 10,000-tenant move is one txn

sys.path.insert(0, os.path.dirname(HERE))
from procs import (Processes, die_with_parent, free_port, port_of, read_lines,  # noqa: E402,F401
                   wait_for)


class Backend:
    def __init__(self, procs, name, delay_ms=0):
        self.name = name
        args = [sys.executable, os.path.join(HERE, "store_backend.py"), "--name", name,
                "--delay-ms", str(delay_ms)]
        self.proc = procs.start(args)
        self.port = port_of(read_lines(self.proc, 1)[0])
        self.address = f"127.0.0.1:{self.port}"


class Store:
    """One single-member store: etcd 3.4 or gridkv, started with etcd's flags."""

    def __init__(self, procs, kind, binary, tmp, name="store"):
        self.procs = procs
        self.kind = kind
        self.binary = binary
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "store.log")
        self.client_port = free_port()
        self.peer_port = free_port()
        self.endpoint = f"127.0.0.1:{self.client_port}"
        self.proc = None
        self._client = None

    def start(self):
        client_url = f"http://{self.endpoint}"
        peer_url = f"http://127.0.0.1:{self.peer_port}"
        args = [self.binary, "--name", "s0", "--data-dir", self.data_dir,
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", f"s0={peer_url}", "--initial-cluster-state", "new",
                "--initial-cluster-token", "routerstore", "--log-level", "error",
                "--max-txn-ops", str(MAX_TXN_OPS)]
        with open(self.log_path, "ab") as log:
            self.proc = self.procs.start(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        def answers():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.kind} exited with {self.proc.returncode}:\n"
                                     f"{self.log_tail()}")
            try:  # a fresh client per try: a channel that failed once backs off for seconds
                socket.create_connection(("127.0.0.1", self.client_port), timeout=1).close()
                probe = etcd3.client("127.0.0.1", self.client_port, timeout=2)
            except OSError:
                return False
            try:
                probe.get("/probe")
                return True
            except Exception:  # noqa: BLE001  (not up yet: any client error)
                return False
            finally:
                probe.close()
        wait_for(answers, f"{self.kind} to answer", timeout=STORE_READY_DEADLINE_S,
                 interval=0.05)
        return self

    def kill(self):
        """SIGKILL: no chance to flush or say goodbye."""
        self.proc.kill()
        self.proc.wait()

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def client(self):
        if self._client is None:
            self._client = etcd3.client("127.0.0.1", self.client_port, timeout=30)
        return self._client

    def close_client(self):
        if self._client is not None:
            self._client.close()
            self._client = None


class Table:
    """The route table's keys under one prefix, written as JSON (one txn per call)."""

    def __init__(self, store, prefix):
        self.store = store
        self.prefix = prefix

    def key(self, kind, name=None):
        return f"{self.prefix}/{kind}" if name is None else f"{self.prefix}/{kind}/{name}"

    def txn(self, puts=(), deletes=()):
        """puts: (key, object) pairs; one txn; returns the store revision it made."""
        ops = [etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(
            key=k.encode(), value=(v if isinstance(v, str) else json.dumps(v)).encode()))
            for k, v in puts]
        ops += [etcdrpc.RequestOp(request_delete_range=etcdrpc.DeleteRangeRequest(
            key=k.encode())) for k in deletes]
        c = self.store.client()
        resp = c.kvstub.Txn(etcdrpc.TxnRequest(compare=[], success=ops, failure=[]), 60)
        return resp.header.revision

    def put(self, kind, name, value):
        return self.txn([(self.key(kind, name), value)])

    def put_router(self, value):
        return self.txn([(self.key("router"), value)])


class Router:
    """The real gridrouter in store mode."""

    def __init__(self, procs, gridrouter, tmp, endpoints, prefix, listen="127.0.0.1:0",
                 threads=1, name="router", extra=(), wait_listening=True):
        self.stderr_path = os.path.join(tmp, f"{name}.err")
        self.stderr = open(self.stderr_path, "ab")
        procs.files.append(self.stderr)
        args = [gridrouter, "--endpoints", endpoints, "--prefix", prefix, "--listen", listen,
                "--admin", "127.0.0.1:0", "--threads", str(threads), *extra]
        self.proc = procs.start(args, stderr=self.stderr)
        self.port = None
        self.admin_port = port_of(read_lines(self.proc, 1)[0])  # "admin on": printed at once
        if wait_listening:
            self.wait_listening()

    def wait_listening(self, timeout=DEADLINE_S):
        """Reads the "listening on" line: the router binds its port only once it has a
        table (from the store or its cache)."""
        self.port = port_of(read_lines(self.proc, 1, timeout=timeout)[0])

    def admin(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}",
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def routes(self):
        return json.loads(self.admin("/routes")[1])

    def stats(self):
        return json.loads(self.admin("/stats")[1])

    def wait_revision(self, revision, timeout=DEADLINE_S):
        """Polls /routes until the serving table is at `revision` or later; returns /routes.

        `revision` is the table the proxy serves; `store_revision` is the last store
        revision the watcher applied (or refused), so both at `revision` means the change
        was seen and is the one serving."""
        def at():
            r = self.routes()
            served = r.get("revision", 0) >= revision and r.get("store_revision", 0) >= revision
            return r if served else None
        try:
            return wait_for(at, f"/routes revision {revision}", timeout=timeout, interval=0.005)
        except AssertionError:
            raise AssertionError(f"/routes never reached revision {revision}: {self.routes()}\n"
                                 f"{self.err_tail()}")

    def err_tail(self, n=3000):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read()[-n:].decode(errors="replace")


def request(port, path="/", headers=None, source=None, timeout=10):
    """One GET on a fresh connection: (status, parsed JSON body or text, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode(errors="replace")
        return r.status, parsed, r.headers
    finally:
        conn.close()


def backend_of(port, path="/", headers=None, **kwargs):
    status, body, _ = request(port, path, headers, **kwargs)
    if status != 200 or not isinstance(body, dict):
        raise AssertionError(f"GET {path} {headers}: {status} {body}")
    return body["backend"]


class Session:
    """A keep-alive client connection for many sequential requests."""

    def __init__(self, port, timeout=10):
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def get(self, path="/", headers=None):
        self.conn.request("GET", path, headers=headers or {})
        r = self.conn.getresponse()
        body = r.read()
        return r.status, body, r.headers

    def backend(self, path="/", headers=None):
        status, body, _ = self.get(path, headers)
        if status != 200:
            raise AssertionError(f"GET {path} {headers}: {status} {body[:200]}")
        return json.loads(body)["backend"]

    def close(self):
        self.conn.close()


class LoadLoop:
    """`threads` clients sending GETs until stop(); records (backend) per answer, in order of
    completion, and every failure (non-2xx status or socket error) with its description.

    Every request takes a start number before it is sent; started() is the count taken so
    far. A request whose number is at least started() read after a change became visible was
    sent after it: since_started(mark) gives those answers only (a request sent before the
    change may complete after any number of later ones while its thread waits to run).

    keep_alive=False: one fresh connection per request (Connection: close), as a client that
    must survive a listener handover does.
    """

    def __init__(self, port, headers_for, threads=4, path="/", keep_alive=True, timeout=10):
        self.port = port
        self.headers_for = headers_for  # (thread index, request number) -> headers
        self.path = path
        self.keep_alive = keep_alive
        self.timeout = timeout
        self.lock = threading.Lock()
        self.records = []  # (start number, backend name), in completion order
        self.failures = []
        self.next_start = 0  # guarded by lock
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def count(self):
        with self.lock:
            return len(self.records) + len(self.failures)

    def wait_count(self, n, timeout=DEADLINE_S):
        wait_for(lambda: self.count() >= n, f"{n} answers from the load loop", timeout)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=self.timeout + 5)

    def started(self):
        with self.lock:
            return self.next_start

    def since(self, mark):
        """Backend names of the answers from the mark-th completed one on."""
        with self.lock:
            return [name for _, name in self.records[mark:]]

    def since_started(self, mark):
        """Backend names of the answers to requests with start number >= mark, in order of
        completion."""
        with self.lock:
            return [name for start, name in self.records if start >= mark]

    def _run(self, index):
        conn = None
        n = 0
        while not self.stopping.is_set():
            n += 1
            headers = dict(self.headers_for(index, n))
            if not self.keep_alive:
                headers["Connection"] = "close"
            with self.lock:
                start = self.next_start
                self.next_start += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                conn.request("GET", self.path, headers=headers)
                r = conn.getresponse()
                body = r.read()
                if r.status // 100 != 2:
                    with self.lock:
                        self.failures.append(f"status {r.status}: {body[:200]!r}")
                else:
                    name = json.loads(body)["backend"]
                    with self.lock:
                        self.records.append((start, name))
                if not self.keep_alive or r.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException, ValueError) as e:
                with self.lock:
                    self.failures.append(f"{type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


class Relay:
    """A TCP relay from a loopback port to `target_port`. cut() closes every relayed
    connection and refuses new ones (accepted, then closed at once) until heal()."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []
        self.cut_off = False
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self):
        with self.lock:
            self.cut_off = True
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def heal(self):
        with self.lock:
            self.cut_off = False

    def close(self):
        self.closed = True
        self.cut()
        self.listener.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                refuse = self.cut_off
            if refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a, b):
        socks = [a, b]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [], 0.5)
                if self.closed:
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass
