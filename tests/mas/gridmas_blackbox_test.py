#!/usr/bin/env python3
"""Black-box test of gridmas and gridctl: a real etcd 3.4 (or $GRID_TEST_ETCD_BINARY), the
gridmas binary on a kernel-chosen port, and the gridctl binary driving it.

usage: gridmas_blackbox_test.py GRIDMAS GRIDCTL [unittest args]
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

GRIDMAS = None
GRIDCTL = None
DEADLINE_S = 30

KV_YAML = """apiVersion: grid.dev/v1
kind: KVCluster
metadata:
  name: orders
  labels: {team: payments}
spec:
  version: "3.4.23"
  members: %d
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(pred, what):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class GridmasCase(unittest.TestCase):
    """A store (etcd), one gridmas replica on it and gridctl; mas_args() adds flags."""

    def mas_args(self):
        return []

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gridmas-bb-")
        self.procs = []
        etcd = os.environ.get("GRID_TEST_ETCD_BINARY") or shutil.which("etcd")
        self.assertIsNotNone(etcd, "no etcd binary (set GRID_TEST_ETCD_BINARY)")
        client, peer = free_port(), free_port()
        self.etcd_endpoint = "127.0.0.1:%d" % client
        flags = os.environ.get("GRID_TEST_ETCD_FLAGS", "").split()
        self.etcd = self.spawn([
            etcd, "--name", "m0", "--data-dir", os.path.join(self.dir, "etcd"),
            "--listen-client-urls", "http://" + self.etcd_endpoint,
            "--advertise-client-urls", "http://" + self.etcd_endpoint,
            "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
            "--initial-cluster", "m0=http://127.0.0.1:%d" % peer] + flags,
            log="etcd.log")
        self.mas = self.spawn([
            GRIDMAS, "--endpoints", self.etcd_endpoint, "--listen", "127.0.0.1:0",
            "--replica", "bb", "--root", os.path.join(self.dir, "root")] + self.mas_args(),
            log="gridmas.log", stdout=subprocess.PIPE)
        self.server = "http://" + self.read_api_address()
        poll(self.ready, "gridmas /readyz")

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def spawn(self, argv, log, stdout=None):
        logf = open(os.path.join(self.dir, log), "wb")
        p = subprocess.Popen(argv, stdout=stdout or logf, stderr=logf)
        logf.close()
        self.procs.append(p)
        return p

    def read_api_address(self):
        deadline = time.monotonic() + DEADLINE_S
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.mas.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.mas.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
        text = line.decode().strip()
        self.assertTrue(text.startswith("api on "), "gridmas printed %r; log:\n%s" %
                        (text, self.log("gridmas.log")))
        return text[len("api on "):]

    def log(self, name):
        with open(os.path.join(self.dir, name), errors="replace") as f:
            return f.read()[-4000:]

    def ready(self):
        try:
            with urllib.request.urlopen(self.server + "/readyz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def ctl(self, *args, stdin=None, server=None, timeout=DEADLINE_S):
        env = dict(os.environ, GRIDCTL_SERVER=server or self.server)
        return subprocess.run([GRIDCTL] + list(args), input=stdin, capture_output=True,
                              text=True, env=env, timeout=timeout)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path


class GridmasBlackboxTest(GridmasCase):
    def test_apply_get_describe_conflict_invalid_delete(self):
        kv = self.write("kv.yaml", KV_YAML % 3 + "---\n# a fleet\n" +
                        "apiVersion: grid.dev/v1\nkind: RouterFleet\nmetadata: {name: edge}\n"
                        "spec: {version: \"0.1.0\", routesPrefix: /grid/routes/}\n")
        r = self.ctl("apply", "-f", kv)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("kvcluster/orders created", r.stdout)
        self.assertIn("routerfleet/edge created", r.stdout)

        r = self.ctl("get", "kv")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, row = r.stdout.splitlines()[:2]
        self.assertEqual(header.split(), ["NAME", "PHASE", "MEMBERS", "VERSION", "AGE"])
        self.assertEqual(row.split()[0], "orders")
        self.assertEqual(row.split()[3], "3.4.23")
        r = self.ctl("get", "RF")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("REPLICAS", r.stdout)
        self.assertIn("edge", r.stdout)

        r = self.ctl("describe", "kvclusters", "orders")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Name:         orders", r.stdout)
        self.assertIn("members: 3", r.stdout)
        self.assertIn("Conditions:", r.stdout)

        r = self.ctl("get", "kv", "orders", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        obj = json.loads(r.stdout)
        rv1 = obj["metadata"]["resourceVersion"]
        self.assertEqual(obj["metadata"]["labels"], {"team": "payments"})

        # Unchanged, then a spec change.
        r = self.ctl("apply", "-f", "-", stdin=KV_YAML % 3)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("kvcluster/orders unchanged", r.stdout)
        r = self.ctl("apply", "-f", "-", stdin=KV_YAML % 5)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("kvcluster/orders configured", r.stdout)
        r = self.ctl("get", "kv", "orders", "-o", "yaml")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("members: 5", r.stdout)
        self.assertIn("generation: 2", r.stdout)

        # A stale resourceVersion is a conflict.
        stale = KV_YAML.replace("  name: orders\n",
                                "  name: orders\n  resourceVersion: \"%s\"\n" % rv1) % 1
        r = self.ctl("apply", "-f", "-", stdin=stale)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("error: "), r.stderr)
        self.assertIn("resourceVersion %s is stale" % rv1, r.stderr)

        # An invalid spec names the field.
        r = self.ctl("apply", "-f", "-", stdin=KV_YAML % 9)
        self.assertEqual(r.returncode, 1)
        self.assertIn("error: ", r.stderr)
        self.assertIn("spec.members", r.stderr)
        r = self.ctl("apply", "-f", "-", stdin=(KV_YAML % 3).replace("members", "memberz"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("spec.memberz", r.stderr)

        r = self.ctl("delete", "kv", "orders")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("kvcluster/orders deleted", r.stdout)
        r = self.ctl("wait", "kv", "orders", "--for", "delete", "--timeout", "10s")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("get", "kv", "orders")
        self.assertEqual(r.returncode, 1)
        self.assertIn('error: KVCluster "orders" not found', r.stderr)
        r = self.ctl("get", "pods")
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown kind", r.stderr)

    def test_wait_times_out_and_unreachable_server_exits_2(self):
        self.assertEqual(self.ctl("apply", "-f", "-", stdin=KV_YAML % 1).returncode, 0)
        r = self.ctl("wait", "kv", "orders", "--for", "phase=Run", "--timeout", "1s")
        self.assertEqual(r.returncode, 1)
        self.assertIn("timed out", r.stderr)
        r = self.ctl("get", "kv", server="http://127.0.0.1:%d" % free_port())
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot reach the gridmas API", r.stderr)

    def test_sigterm_exits_cleanly(self):
        poll(lambda: "leadership gained by bb" in self.log("gridmas.log"), "leadership")
        self.mas.send_signal(signal.SIGTERM)
        self.assertEqual(self.mas.wait(timeout=DEADLINE_S), 0, self.log("gridmas.log"))
        self.assertIn("leadership lost by bb", self.log("gridmas.log"))
        self.assertIn("controllers stopped", self.log("gridmas.log"))


if __name__ == "__main__":
    GRIDMAS, GRIDCTL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
