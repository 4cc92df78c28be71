#!/usr/bin/python3
"""Crash durability: kill -9 a store member under write load, many times, and check that
every acknowledged write survives the restart and that no unacknowledged write is half
applied.

Each writer thread runs txns that put two keys (a/<w>/<n> and b/<w>/<n>) in one revision and
records a txn as acknowledged only when the server answered. After each crash and restart:
  - every acknowledged pair is present with its value;
  - for every n, a/<w>/<n> exists if and only if b/<w>/<n> exists (atomicity);
  - the revision never goes backwards across restarts.

Usage: kill9_test.py SERVER_BINARY [--cycles N] [--writers N]
Prints "N passed, M failed" and exits non-zero on failure.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import etcd3

READY_TIMEOUT_S = 30
# Each cycle lets the writers run until this many txns were acknowledged (at least), then
# kills the server at a random moment shortly after.
MIN_ACKED_PER_CYCLE = 50


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Member:
    def __init__(self, binary, data_dir, log_path):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None
        self.port = None

    def start(self):
        self.port = free_port()
        peer = free_port()
        url = f"http://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--name", "durability", "--data-dir", self.data_dir,
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"durability=http://127.0.0.1:{peer}",
             # Flush the backend and release the log often, so crashes also hit that path.
             "--snapshot-count", "200"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                c = self.client()
                c.status()
                c.close()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("server not ready within %ds" % READY_TIMEOUT_S)

    def client(self):
        return etcd3.client(host="127.0.0.1", port=self.port, timeout=10)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def writer(member, wid, start_n, acked, stop):
    c = member.client()
    n = start_n
    while not stop.is_set():
        a, b = f"a/{wid}/{n:08d}", f"b/{wid}/{n:08d}"
        value = f"v{wid}-{n}"
        try:
            ok, _ = c.transaction(compare=[], success=[c.transactions.put(a, value),
                                                      c.transactions.put(b, value)],
                                  failure=[])
            if ok:
                acked.append((a, b, value))
        except Exception:
            return  # the server is gone; this txn is unacknowledged
        n += 1


def check(member, acked_all, last_revision):
    """Returns (failures, revision now)."""
    c = member.client()
    failures = []
    kvs = {m.key.decode(): v.decode() for v, m in c.get_all()}
    for a, b, value in acked_all:
        if kvs.get(a) != value or kvs.get(b) != value:
            failures.append(f"acknowledged txn lost: {a}={kvs.get(a)!r} {b}={kvs.get(b)!r}")
    for key in kvs:
        prefix, rest = key[:2], key[2:]
        twin = {"a/": "b/", "b/": "a/"}.get(prefix)
        if twin and twin + rest not in kvs:
            failures.append(f"half-applied txn: {key} present, {twin + rest} missing")
    resp = c.kvstub.Range(etcd3.etcdrpc.RangeRequest(key=b"\0", range_end=b"\0", count_only=True),
                          10)
    revision = resp.header.revision
    if revision < last_revision:
        failures.append(f"revision went back from {last_revision} to {revision}")
    c.close()
    return failures, revision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--cycles", type=int, default=int(os.environ.get("GRID_KILL9_CYCLES", "20")))
    ap.add_argument("--writers", type=int, default=8)
    args = ap.parse_args()

    root = tempfile.mkdtemp(prefix="grid-kill9-")
    member = Member(args.binary, os.path.join(root, "data"), os.path.join(root, "server.log"))
    rng = random.Random(int(os.environ.get("GRID_KILL9_SEED", "1")))
    passed = failed = 0
    acked_all = []
    next_n = 0
    last_revision = 0
    try:
        member.start()
        for cycle in range(args.cycles):
            acked = []
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(member, w, next_n, acked, stop))
                       for w in range(args.writers)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 60
            while len(acked) < MIN_ACKED_PER_CYCLE and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.2))  # a random point inside the load, not a wait
            member.kill9()
            stop.set()
            for t in threads:
                t.join()
            acked_all.extend(acked)
            next_n += 1_000_000
            member.start()
            failures, last_revision = check(member, acked_all, last_revision)
            if failures or not acked:
                failed += 1
                print(f"cycle {cycle}: FAIL ({len(acked)} acked this cycle)")
                for f in failures[:20]:
                    print("   ", f)
            else:
                passed += 1
                print(f"cycle {cycle}: ok ({len(acked)} acked this cycle, {len(acked_all)} in all)")
    except Exception as e:
        failed += 1
        print(f"error: {e}")
        try:
            with open(member.log_path, "rb") as f:
                print(f.read()[-4000:].decode(errors="replace"))
        except OSError:
            pass
    finally:
        member.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
