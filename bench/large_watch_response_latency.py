#!/usr/bin/env python3
"""How long after a txn's response its watch response arrives, when the txn changes 10,000
keys under a watched prefix (a router moving 10,000 tenants): gridkv against etcd 3.4, for
the project's C++ client (client::Watcher, through the `watch_arrival_probe` tool) and for a
Python watcher (python3-etcd3).

Starts one single-member store of each kind (own temp data dir, free loopback ports,
--max-txn-ops 20000, --max-request-bytes 16 MiB), one watcher of each kind per store (each in
its own process), writes the keys once, then moves them all back and forth in one txn per
round, alternating the stores. Per round it takes CLOCK_MONOTONIC right after the txn call
returns and the arrival time each watcher prints, and reports medians and ranges of the
difference. Nothing is asserted; times go to stdout.

    python3 bench/large_watch_response_latency.py --gridkv BUILD/cmd/gridkv/gridkv \\
        --probe BUILD/src/client/watch_arrival_probe [--etcd etcd] [--rounds 12] [--keys 10000]

Run with `--python-watcher HOST:PORT PREFIX` it is the Python watcher process itself.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PREFIX = "/grid/routes/tenants/"
MAX_TXN_OPS = 20000
MAX_REQUEST_BYTES = 16 * 1024 * 1024
READY_DEADLINE_S = 30.0
ARRIVAL_DEADLINE_S = 20.0


def python_watcher(endpoint, prefix):
    """Prints "ready", then "<header revision> <events> <monotonic ns>" per watch response."""
    import etcd3
    host, port = endpoint.rsplit(":", 1)
    client = etcd3.client(host, int(port), timeout=30,
                          grpc_options=[("grpc.max_receive_message_length", -1)])

    def on_response(resp):
        now_ns = time.monotonic_ns()
        if isinstance(resp, Exception):
            print(f"error {resp}", flush=True)
            return
        print(f"{resp.header.revision} {len(resp.events)} {now_ns}", flush=True)

    client.add_watch_prefix_callback(prefix, on_response)
    print("ready", flush=True)
    sys.stdin.read()  # until the driver closes the pipe


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lines:
    """The stdout lines of a child, read by a thread; wait() polls with a deadline."""

    def __init__(self, proc):
        self.lines = []
        self.cv = threading.Condition()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc):
        for raw in proc.stdout:
            with self.cv:
                self.lines.append(raw.decode().strip())
                self.cv.notify_all()

    def wait(self, predicate, what, timeout):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for line in self.lines:
                    if predicate(line):
                        return line
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"timed out waiting for {what}; got {self.lines[-3:]}")
                self.cv.wait(left)


class Store:
    def __init__(self, kind, binary, tmp, procs):
        self.kind = kind
        self.port = free_port()
        peer_port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        data = os.path.join(tmp, kind)
        client_url, peer_url = f"http://{self.endpoint}", f"http://127.0.0.1:{peer_port}"
        args = [binary, "--name", "s0", "--data-dir", data,
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", f"s0={peer_url}", "--initial-cluster-state", "new",
                "--log-level", "error", "--max-txn-ops", str(MAX_TXN_OPS),
                "--max-request-bytes", str(MAX_REQUEST_BYTES)]
        self.log = open(os.path.join(tmp, f"{kind}.log"), "wb")
        self.proc = procs.start(args, stdout=self.log, stderr=subprocess.STDOUT)
        import etcd3
        end = time.monotonic() + READY_DEADLINE_S
        while True:
            try:
                self.client = etcd3.client("127.0.0.1", self.port, timeout=60)
                self.client.get("/probe")
                break
            except Exception:  # noqa: BLE001  (not up yet)
                if time.monotonic() > end or self.proc.poll() is not None:
                    raise RuntimeError(f"{kind} did not answer")
                time.sleep(0.05)

    def txn_all(self, keys, value):
        from etcd3 import etcdrpc
        ops = [etcdrpc.RequestOp(request_put=etcdrpc.PutRequest(key=k, value=value))
               for k in keys]
        req = etcdrpc.TxnRequest(compare=[], success=ops, failure=[])
        t0 = time.monotonic_ns()
        resp = self.client.kvstub.Txn(req, 60)
        t1 = time.monotonic_ns()
        return resp.header.revision, t0, t1

    def txn_cpp(self, keys, value):
        """The same txn through the C++ client (its response decodes in a few ms)."""
        seen = len(self.txn_lines.lines)
        self.txn_proc.stdin.write(f"{keys} {value}\n".encode())
        self.txn_proc.stdin.flush()
        line = self.txn_lines.wait(lambda line: self.txn_lines.lines.index(line) >= seen,
                                   "txn", ARRIVAL_DEADLINE_S)
        if line.startswith("error"):
            raise RuntimeError(line)
        rev, t0, t1 = (int(x) for x in line.split())
        return rev, t0, t1


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, **kwargs):
        p = subprocess.Popen(args, stdin=kwargs.pop("stdin", subprocess.DEVNULL), **kwargs)
        self.procs.append(p)
        return p

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()


def summary(values_ms):
    if not values_ms:
        return "-"
    return (f"median {statistics.median(values_ms):6.1f} ms  range "
            f"{min(values_ms):6.1f}..{max(values_ms):6.1f} ms  (n={len(values_ms)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python-watcher", nargs=2, metavar=("ENDPOINT", "PREFIX"))
    ap.add_argument("--gridkv")
    ap.add_argument("--etcd", default=shutil.which("etcd") or "etcd")
    ap.add_argument("--gridkv-baseline", help="another gridkv build, measured as store "
                    "'gridkv-base' (before/after comparisons in one run)")
    ap.add_argument("--probe", help="watch_arrival_probe binary")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--stores", default="gridkv,etcd")
    ap.add_argument("--watchers", default="cpp,python")
    args = ap.parse_args()
    if args.python_watcher:
        python_watcher(*args.python_watcher)
        return
    if not args.gridkv or not args.probe:
        ap.error("--gridkv and --probe are required")

    tmp = tempfile.mkdtemp(prefix="watchlat-")
    procs = Procs()
    try:
        binaries = {"gridkv": args.gridkv, "etcd": args.etcd, "gridkv-base": args.gridkv_baseline}
        kinds = args.stores.split(",")
        if args.gridkv_baseline and "gridkv-base" not in kinds:
            kinds.insert(0, "gridkv-base")
        watcher_kinds = args.watchers.split(",")
        stores = {k: Store(k, binaries[k], tmp, procs) for k in kinds}
        keys = [f"{PREFIX}t{i:05d}".encode() for i in range(args.keys)]
        for s in stores.values():
            s.txn_all(keys, b'{"cell": "c1"}')
            p = procs.start([args.probe, "txn", s.endpoint, PREFIX], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
            s.txn_proc, s.txn_lines = p, Lines(p)
        watchers = {}
        for k, s in stores.items():
            for w in watcher_kinds:
                cmd = ([args.probe, "watch", s.endpoint, PREFIX] if w == "cpp" else
                       [sys.executable, os.path.abspath(__file__), "--python-watcher",
                        s.endpoint, PREFIX])
                p = procs.start(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                lines = Lines(p)
                lines.wait(lambda line: line == "ready", f"{w} watcher on {k}", READY_DEADLINE_S)
                watchers[(k, w)] = lines
        results = {(k, w): [] for k in kinds for w in watcher_kinds}
        calls = {k: [] for k in kinds}
        for r in range(args.rounds):
            for k in (kinds if r % 2 == 0 else list(reversed(kinds))):  # alternate the order
                rev, t0, t1 = stores[k].txn_cpp(args.keys, f'{{"cell":"c{2 + r % 2}"}}')
                calls[k].append((t1 - t0) / 1e6)
                row = [f"round {r:2d} {k:11s} rev {rev}: txn call {(t1 - t0) / 1e6:6.1f} ms"]
                for w in watcher_kinds:
                    line = watchers[(k, w)].wait(
                        lambda line: line.split()[0] == str(rev), f"{w} revision {rev}",
                        ARRIVAL_DEADLINE_S)
                    _, n, at_ns = line.split()
                    delta_ms = (int(at_ns) - t1) / 1e6
                    results[(k, w)].append(delta_ms)
                    row.append(f"{w} +{delta_ms:6.1f} ms ({n} events)")
                print("; ".join(row), flush=True)
                time.sleep(0.2)  # let both stores settle between rounds
        print()
        for k in kinds:
            print(f"{k:11s} txn call:               {summary(calls[k])}")
            for w in watcher_kinds:
                print(f"{k:11s} txn response -> {w:6s}: {summary(results[(k, w)])}")
    finally:
        procs.kill_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
