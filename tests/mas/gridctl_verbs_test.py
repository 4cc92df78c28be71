#!/usr/bin/env python3
"""gridctl's operation verbs against real processes: a control store (etcd 3.4 or
$GRID_TEST_ETCD_BINARY), one gridmas replica, and a KVCluster of etcd members run by it.
Two versions name the same etcd binary (etcd@3.4.23-a and etcd@3.4.23-b), which is enough
for a real rolling upgrade, member by member.

usage: gridctl_verbs_test.py GRIDMAS GRIDCTL [unittest args]
"""
import glob
import http.client
import json
import os
import shutil
import signal
import sys
import unittest
import urllib.parse

import gridmas_blackbox_test as bb

OPERATION_TIMEOUT = "120s"
V_A, V_B = "3.4.23-a", "3.4.23-b"

KV = """apiVersion: grid.dev/v1
kind: KVCluster
metadata: {name: main}
spec: {engine: etcd, version: "%s", members: %d}
"""


def etcd_binary():
    return os.environ.get("GRID_TEST_ETCD_BINARY") or shutil.which("etcd")


class InstancesCase(bb.GridmasCase):
    """A gridmas that runs instances; tearDown stops gridmas, then kills what is left."""

    def tearDown(self):
        # gridmas first (it would restart what is killed), stopping its instances on exit;
        # then any instance left, by its recorded pid.
        if self.mas.poll() is None:
            self.mas.send_signal(signal.SIGTERM)
            try:
                self.mas.wait(timeout=bb.DEADLINE_S)
            except Exception:
                self.mas.kill()
        for record in glob.glob(os.path.join(self.dir, "root", "instances", "*",
                                             "instance.json")):
            try:
                with open(record) as f:
                    pid = json.load(f).get("pid", 0)
                if pid > 0:
                    os.killpg(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        super().tearDown()

    def ok(self, *args, stdin=None, timeout=bb.DEADLINE_S):
        r = self.ctl(*args, stdin=stdin, timeout=timeout)
        self.assertEqual(r.returncode, 0, "gridctl %s: %s\n%s" %
                         (" ".join(args), r.stderr, self.log("gridmas.log")))
        return r.stdout

    def get(self):
        return json.loads(self.ok("get", "kv", "main", "-o", "json"))


class GridctlVerbsTest(InstancesCase):
    def mas_args(self):
        etcd = etcd_binary()
        return ["--binary", f"etcd@{V_A}={etcd}", "--binary", f"etcd@{V_B}={etcd}",
                "--stop-instances-on-exit"]

    def test_scale_upgrade_invalid_inspect_delete_labelled_for_wipe(self):
        self.assertIn("kvcluster/main created",
                      self.ok("apply", "-f", "-", stdin=KV % (V_A, 1)))
        self.ok("wait", "kv", "main", "--for", "phase=Run", "--timeout", OPERATION_TIMEOUT,
                timeout=150)

        # Scale 1 -> 3, waiting until every member is there and healthy.
        out = self.ok("scale", "kv", "main", "--members", "3", "--wait", "--timeout",
                      OPERATION_TIMEOUT, timeout=150)
        self.assertIn("kvcluster/main scaled: members 1 -> 3 (generation 2)\n", out)
        self.assertTrue(out.endswith("kvcluster/main phase=Run\n"), out)
        obj = self.get()
        self.assertEqual(obj["status"]["phase"], "Run")
        self.assertEqual(len(obj["status"]["members"]), 3)
        self.assertTrue(all(m["healthy"] for m in obj["status"]["members"]), obj)

        out = self.ok("scale", "kv", "main", "--members", "3")
        self.assertEqual(out, "kvcluster/main unchanged: members already 3 (generation 2)\n")

        # Invalid values: refused by the server, the field named; nothing changes.
        for bad in ("9", "0"):
            r = self.ctl("scale", "kv", "main", "--members", bad)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertTrue(r.stderr.startswith("error: "), r.stderr)
            self.assertIn("spec.members", r.stderr)
            self.assertIn("got " + bad, r.stderr)
        r = self.ctl("scale", "kv", "main", "--replicas", "3")
        self.assertEqual(r.returncode, 1)
        self.assertIn("scale kvcluster takes --members N", r.stderr)
        r = self.ctl("upgrade", "kv", "main", "--version", "")
        self.assertEqual(r.returncode, 1)
        self.assertIn("spec.version", r.stderr)
        self.assertEqual(self.get()["metadata"]["generation"], 2)

        # Rolling upgrade a -> b.
        out = self.ok("upgrade", "kv", "main", "--version", V_B, "--wait", "--timeout",
                      OPERATION_TIMEOUT, timeout=150)
        self.assertIn(f"kvcluster/main upgraded: version {V_A} -> {V_B} (generation 3)\n", out)
        self.assertTrue(out.endswith("kvcluster/main phase=Run\n"), out)
        obj = self.get()
        self.assertEqual({m["version"] for m in obj["status"]["members"]}, {V_B})
        self.assertEqual(len(obj["status"]["members"]), 3)

        # Inspection: text, then JSON.
        out = self.ok("inspect", "kv", "main")
        self.assertTrue(out.startswith("Inspection of kvcluster/main at "), out)
        rows = [line.split() for line in out.splitlines() if line.startswith("  main-")]
        self.assertEqual(sorted(r[0] for r in rows), ["main-0", "main-1", "main-2"], out)
        self.assertTrue(all(r[2] == "yes" for r in rows), out)
        self.assertEqual(sum(1 for r in rows if r[3] == "*"), 1, out)
        self.assertIn("Alarms: none", out)
        self.assertIn("Conditions:", out)
        report = json.loads(self.ok("inspect", "kv", "main", "-o", "json"))
        self.assertEqual(report["cluster"], "main")
        self.assertEqual(len(report["members"]), 3)
        r = self.ctl("inspect", "kv", "nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn('"nope" not found', r.stderr)

        # `curl -XPOST URL`: no body, no Content-Length.
        url = urllib.parse.urlsplit(self.server)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=bb.DEADLINE_S)
        conn.putrequest("POST", "/apis/grid.dev/v1/kvclusters/main/inspect")
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        self.assertEqual(resp.status, 200, body)
        self.assertEqual(json.loads(body)["cluster"], "main")

        # Delete wiping the data: the version deleted is the one labelled for the wipe, and
        # the controller wipes even when it never read that version (it takes the label from
        # the watch's DELETED event).
        data_dirs = glob.glob(os.path.join(self.dir, "root", "instances", "kv_main_*", "data"))
        self.assertTrue(data_dirs)
        since = self.get()["metadata"]["resourceVersion"]
        out = self.ok("delete", "kv", "main", "--wipe-data")
        self.assertEqual(out, "kvcluster/main deleted (labelled grid.dev/wipe-on-delete=true: "
                              "the controller wipes the members' data)\n")
        deleted = self.watch_until_deleted(since)
        self.assertEqual(deleted["metadata"]["labels"], {"grid.dev/wipe-on-delete": "true"})
        bb.poll(lambda: not any(os.path.exists(d) for d in data_dirs),
                "the members' data dirs to be wiped")

    def watch_until_deleted(self, since):
        """The object of the DELETED event after revision `since` of kvclusters/main."""
        url = urllib.parse.urlsplit(self.server)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=bb.DEADLINE_S)
        try:
            conn.request("GET", "/apis/grid.dev/v1/kvclusters?watch=1&resourceVersion=" + since)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            while True:
                line = resp.readline()
                self.assertTrue(line, "the watch ended before the deletion")
                event = json.loads(line)
                if event["type"] == "DELETED" and event["object"]["metadata"]["name"] == "main":
                    return event["object"]
        finally:
            conn.close()

    def test_routerfleet_verbs_change_the_spec(self):
        self.ok("apply", "-f", "-", stdin=(
            "apiVersion: grid.dev/v1\nkind: RouterFleet\nmetadata: {name: edge}\n"
            "spec: {version: \"0.1.0\", replicas: 1, routesPrefix: /grid/routes/}\n"))
        out = self.ok("scale", "rf", "edge", "--replicas", "2")
        self.assertEqual(out, "routerfleet/edge scaled: replicas 1 -> 2 (generation 2)\n")
        out = self.ok("upgrade", "rf", "edge", "--version", "0.2.0")
        self.assertEqual(out, "routerfleet/edge upgraded: version 0.1.0 -> 0.2.0 (generation 3)\n")
        r = self.ctl("scale", "rf", "edge", "--replicas", "65")
        self.assertEqual(r.returncode, 1)
        self.assertIn("spec.replicas", r.stderr)
        r = self.ctl("scale", "rf", "edge", "--members", "3")
        self.assertEqual(r.returncode, 1)
        self.assertIn("scale routerfleet takes --replicas N", r.stderr)
        r = self.ctl("inspect", "rf", "edge")
        self.assertEqual(r.returncode, 1)
        self.assertIn("inspect takes a kvcluster", r.stderr)
        r = self.ctl("delete", "rf", "edge", "--wipe-data")
        self.assertEqual(r.returncode, 1)
        self.assertIn("only a kvcluster has data", r.stderr)
        spec = json.loads(self.ok("get", "rf", "edge", "-o", "json"))["spec"]
        self.assertEqual((spec["replicas"], spec["version"]), (2, "0.2.0"))


if __name__ == "__main__":
    bb.GRIDMAS, bb.GRIDCTL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
