"""Concurrent register clients that record every operation they invoke.

Each worker thread talks to one member (worker i -> member i mod N) and runs
put/get/delete on a small key set so that operations conflict. One record per
operation, in the history format of README.md. A worker whose write ends with
an unknown outcome continues under a new client id: the unknown write stays
open forever, and one client never has two open operations.
"""
import itertools
import json
import threading
import time

import grpc

from etcdclient import Conn, not_sent

OP_TIMEOUT_SECONDS = 1.0
FAILURE_BACKOFF_SECONDS = 0.1
MAX_THINK_SECONDS = 0.02
MAX_OPS_PER_WORKER = 100000  # a bound on the history even if a run is made very long
OP_WEIGHTS = (("get", 5), ("put", 4), ("delete", 1))


class History:
    """Thread-safe list of operation records."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ops = []
        self._ids = itertools.count()

    def new_client_id(self):
        with self._lock:
            return next(self._ids)

    def add(self, record):
        with self._lock:
            self._ops.append(record)

    def records(self):
        with self._lock:
            return sorted(self._ops, key=lambda r: r["invoke"])

    def write(self, path):
        with open(path, "w") as f:
            for r in self.records():
                f.write(json.dumps(r, separators=(",", ":")) + "\n")


def _choose_op(rng):
    total = sum(w for _, w in OP_WEIGHTS)
    x = rng.uniform(0, total)
    for name, w in OP_WEIGHTS:
        x -= w
        if x <= 0:
            return name
    return OP_WEIGHTS[-1][0]


class Worker(threading.Thread):
    def __init__(self, index, endpoint, keys, rng, history, stop, serializable=False):
        super().__init__(name="worker-%d" % index, daemon=True)
        self.endpoint = endpoint
        self.keys = keys
        self.rng = rng
        self.history = history
        self.stop = stop
        self.client = history.new_client_id()
        self.serializable = serializable  # negative control: local, possibly stale reads
        self.error = None

    def run(self):
        conn = Conn(self.endpoint)
        try:
            for seq in range(MAX_OPS_PER_WORKER):
                if self.stop.is_set():
                    break
                ok = self._one(conn, seq)
                if not ok:
                    conn.reset()
                    self.stop.wait(FAILURE_BACKOFF_SECONDS)
                else:
                    self.stop.wait(self.rng.uniform(0, MAX_THINK_SECONDS))
        except Exception as e:  # a harness bug: surfaced by the runner
            self.error = e
        finally:
            conn.close()

    def _one(self, conn, seq):
        """Runs and records one operation; False when it failed or is unknown."""
        op = _choose_op(self.rng)
        key = self.rng.choice(self.keys)
        value = "%d-%d" % (self.client, seq) if op == "put" else None
        rec = {"client": self.client, "op": op, "key": key, "value": value,
               "invoke": time.monotonic_ns(), "return": None, "ok": None, "result": None}
        try:
            if op == "get":
                rec["result"] = conn.get(key, OP_TIMEOUT_SECONDS, self.serializable)
            elif op == "put":
                conn.put(key, value, OP_TIMEOUT_SECONDS)
            else:
                rec["result"] = conn.delete(key, OP_TIMEOUT_SECONDS)
            rec["return"] = time.monotonic_ns()
            rec["ok"] = True
            self.history.add(rec)
            return True
        except grpc.RpcError as e:
            now = time.monotonic_ns()
            if op == "get" or not_sent(e):
                # A failed read changes nothing; a write that never left is refused.
                rec["return"] = now
                rec["ok"] = False
            self.history.add(rec)
            if rec["ok"] is None:
                self.client = self.history.new_client_id()
            return False


def op_counts(records):
    """{"ok": n, "failed": n, "unknown": n}."""
    out = {"ok": 0, "failed": 0, "unknown": 0}
    for r in records:
        out["ok" if r["ok"] else "unknown" if r["ok"] is None else "failed"] += 1
    return out
