#!/usr/bin/env python3
"""Snapshot migration between gridkv and etcd 3.4, end to end with the real tools.

  gridkv -> `etcdctl snapshot save` -> `etcdctl snapshot status` (revision, total keys)
         -> `etcdctl snapshot restore` -> etcd serves the same keys and lease
  etcd   -> `etcdctl snapshot save` -> `gridkv snapshot restore` -> gridkv serves the same
         keys, revision and lease; a corrupt file is refused with "expected sha256".

Usage: snapshot_migration_test.py GRIDKV [--etcd ETCD] [--etcdctl ETCDCTL]
Fails (never skips) when etcd or etcdctl cannot be run.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

READY_DEADLINE_SECONDS = 30
POLL_INTERVAL_SECONDS = 0.05
STOP_DEADLINE_SECONDS = 10
MANY_KEYS = 3000             # enough for branch pages in the key bucket
BIG_VALUE_BYTES = 100 * 1024  # overflow pages
LEASE_TTL_SECONDS = 1000


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Member:
    """One single-member server (gridkv or etcd) on free loopback ports."""

    def __init__(self, binary, etcdctl, data_dir, name="m1"):
        self.binary, self.etcdctl, self.data_dir, self.name = binary, etcdctl, data_dir, name
        self.client = "http://127.0.0.1:%d" % free_port()
        self.peer = "http://127.0.0.1:%d" % free_port()
        self.proc = None

    def cluster_flags(self):
        return ["--name", self.name, "--initial-cluster", "%s=%s" % (self.name, self.peer),
                "--initial-advertise-peer-urls", self.peer,
                "--initial-cluster-token", "migration"]

    def start(self):
        flags = self.cluster_flags() + [
            "--data-dir", self.data_dir, "--listen-client-urls", self.client,
            "--advertise-client-urls", self.client, "--listen-peer-urls", self.peer]
        self.log = open(self.data_dir + ".log", "ab")
        self.proc = subprocess.Popen([self.binary] + flags, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited during start, see %s.log"
                                     % (self.binary, self.data_dir))
            if self.ctl(["endpoint", "health"], check=False).returncode == 0:
                return self
            time.sleep(POLL_INTERVAL_SECONDS)
        raise AssertionError("%s not ready in time" % self.binary)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                print("warning: %s ignored SIGTERM; killing it" % self.binary)
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def ctl(self, args, check=True):
        r = subprocess.run([self.etcdctl, "--endpoints", self.client] + args,
                           env=dict(os.environ, ETCDCTL_API="3"), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError("etcdctl %s failed: %s" % (" ".join(args), r.stderr))
        return r

    def revision(self):
        return int(json.loads(self.ctl(["get", "foo", "-w", "json"]).stdout)["header"]["revision"])

    def fill(self):
        """Writes the data set; returns the lease id (hex)."""
        self.ctl(["put", "foo", "bar"])
        self.ctl(["put", "foo", "baz"])
        self.ctl(["put", "a", "1"])
        self.ctl(["put", "big", "v" * BIG_VALUE_BYTES])
        out = self.ctl(["lease", "grant", str(LEASE_TTL_SECONDS)]).stdout.split()
        lease = out[1]
        self.ctl(["put", "withlease", "x", "--lease=" + lease])
        self.ctl(["del", "a"])
        # Many keys in one txn per 100 (etcdctl txn reads its ops from stdin).
        for start in range(0, MANY_KEYS, 100):
            ops = "".join('put k%05d "%d"\n' % (i, i) for i in range(start, start + 100))
            r = subprocess.run([self.etcdctl, "--endpoints", self.client, "txn"],
                               input="\n" + ops + "\n\n", env=dict(os.environ, ETCDCTL_API="3"),
                               capture_output=True, text=True)
            assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stderr
        return lease

    def check_data(self, lease, revision):
        get = lambda k: self.ctl(["get", k, "--print-value-only"]).stdout.rstrip("\n")
        assert get("foo") == "baz", get("foo")
        assert get("withlease") == "x"
        assert get("a") == ""
        assert get("big") == "v" * BIG_VALUE_BYTES
        count = json.loads(self.ctl(["get", "k", "--prefix", "--keys-only", "-w", "json"])
                           .stdout)["count"]
        assert count == MANY_KEYS, count
        assert self.revision() == revision, (self.revision(), revision)
        leases = self.ctl(["lease", "list"]).stdout
        assert lease in leases, leases
        ttl = self.ctl(["lease", "timetolive", lease]).stdout
        assert "granted with TTL(%ds)" % LEASE_TTL_SECONDS in ttl, ttl
        keys = self.ctl(["lease", "timetolive", "--keys", lease]).stdout
        assert "withlease" in keys, keys


def snapshot_status(etcdctl, path):
    r = subprocess.run([etcdctl, "snapshot", "status", "-w", "json", path],
                       env=dict(os.environ, ETCDCTL_API="3"), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def gridkv_to_etcd(args, tmp):
    grid = Member(args.gridkv, args.etcdctl, os.path.join(tmp, "grid1")).start()
    try:
        lease = grid.fill()
        revision = grid.revision()
        snap = os.path.join(tmp, "grid.snapshot")
        out = grid.ctl(["snapshot", "save", snap]).stdout
        assert "Snapshot saved at %s" % snap in out, out
    finally:
        grid.stop()
    st = snapshot_status(args.etcdctl, snap)
    assert st["revision"] == revision, (st, revision)
    # Every revision of the key bucket (minus nothing: no compaction) plus meta/cluster rows.
    assert st["totalKey"] >= revision - 1, st
    etcd = Member(args.etcd, args.etcdctl, os.path.join(tmp, "etcd1"))
    r = subprocess.run([args.etcdctl, "snapshot", "restore", snap, "--data-dir", etcd.data_dir]
                       + etcd.cluster_flags(),
                       env=dict(os.environ, ETCDCTL_API="3"), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    etcd.start()
    try:
        etcd.check_data(lease, revision)
    finally:
        etcd.stop()
    print("ok gridkv -> etcd (revision %d, %d keys in snapshot)" % (revision, st["totalKey"]))


def etcd_to_gridkv(args, tmp):
    etcd = Member(args.etcd, args.etcdctl, os.path.join(tmp, "etcd2")).start()
    try:
        lease = etcd.fill()
        etcd.ctl(["compact", "3"])
        revision = etcd.revision()
        snap = os.path.join(tmp, "etcd.snapshot")
        etcd.ctl(["snapshot", "save", snap])
    finally:
        etcd.stop()
    grid = Member(args.gridkv, args.etcdctl, os.path.join(tmp, "grid2"))
    r = subprocess.run([args.gridkv, "snapshot", "restore", snap, "--data-dir", grid.data_dir]
                       + grid.cluster_flags(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    grid.start()
    try:
        grid.check_data(lease, revision)
        r = grid.ctl(["get", "foo", "--rev", "2"], check=False)
        assert "required revision has been compacted" in r.stderr, r.stderr
    finally:
        grid.stop()
    # A damaged copy is refused before anything is written.
    bad = os.path.join(tmp, "bad.snapshot")
    shutil.copy(snap, bad)
    with open(bad, "r+b") as f:
        f.seek(4096 * 2 + 100)
        f.write(b"\xff" * 8)
    r = subprocess.run([args.gridkv, "snapshot", "restore", bad, "--data-dir",
                        os.path.join(tmp, "grid3")] + grid.cluster_flags(),
                       capture_output=True, text=True)
    assert r.returncode != 0 and "expected sha256" in r.stderr, r.stderr
    print("ok etcd -> gridkv (revision %d)" % revision)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("gridkv")
    p.add_argument("--etcd", default=shutil.which("etcd") or "etcd")
    p.add_argument("--etcdctl", default=shutil.which("etcdctl") or "etcdctl")
    args = p.parse_args()
    for tool in (args.gridkv, args.etcd, args.etcdctl):
        if shutil.which(tool) is None:
            print("FAIL: cannot run %s" % tool)
            return 1
    tmp = tempfile.mkdtemp(prefix="snapshot-migration-")
    try:
        gridkv_to_etcd(args, tmp)
        etcd_to_gridkv(args, tmp)
    except AssertionError as e:
        print("FAIL: %s (logs in %s)" % (e, tmp))
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
