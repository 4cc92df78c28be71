#!/usr/bin/env python3
"""The standby controller against real processes: a control store (etcd 3.4 or
$GRID_TEST_ETCD_BINARY), one gridmas replica and 1-member etcd KVClusters.

Mirror and switch-over: KVCluster p with spec.standby {cluster: s}. Under a put/delete load
status.mirror reports the lag; the standby's member is killed (gridmas restarts it) and the
mirror resumes; once the load stops s equals p (keys and values) with lag 0; a write to s by
someone else is reported in status.mirror.foreignWrites. Then `gridctl switchover kvcluster p
--wait` while a writer keeps writing to p: every put p acknowledged is on s, p refuses puts
afterwards (NOSPACE), and the promotion reports 0 uncopied revisions.

Fail-over: p2 -> s2 under load, p2's member frozen (SIGSTOP): `gridctl failover kvcluster p2
--wait` promotes s2 and reports the primary unreachable and the revisions that may be missing.

The members are etcd 3.4, or gridkv when $GRID_STANDBY_TEST_GRIDKV names its binary.

usage: gridctl_standby_test.py GRIDMAS GRIDCTL [unittest args]
"""
import glob
import json
import os
import signal
import sys
import threading
import time
import unittest
import urllib.request

import etcd3

import gridmas_blackbox_test as bb
import gridctl_verbs_test as verbs

PROMOTE_TIMEOUT = "120s"
GRIDKV = os.environ.get("GRID_STANDBY_TEST_GRIDKV", "")
ENGINE = "gridkv" if GRIDKV else "etcd"

KV = """apiVersion: grid.dev/v1
kind: KVCluster
metadata: {name: %s}
spec:
  engine: %s
  version: "%s"
  members: 1
%s"""


def standby(cluster):
    return "  standby: {cluster: %s}\n" % cluster


def poll(pred, what, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class Writer(threading.Thread):
    """Puts <prefix><i> = v<i> as fast as it can; every 5th put also deletes an earlier key.
    `acked` holds the puts the store acknowledged (key -> value), minus the deleted keys;
    `refused` counts puts refused with "database space exceeded". With `retries`, a failed put
    is retried (as a client would) until the store refuses it for lack of space."""

    def __init__(self, endpoint, prefix):
        super().__init__(daemon=True)
        host, port = endpoint.split(":")
        self.client = etcd3.client(host=host, port=int(port), timeout=3)
        self.prefix = prefix
        self.acked = {}
        self.refused = 0
        self.errors = 0
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            key, value = "%s%05d" % (self.prefix, i), "v%d" % i
            try:
                self.client.put(key, value)
                self.acked[key] = value
                if i % 5 == 4:
                    victim = "%s%05d" % (self.prefix, i - 3)
                    self.client.delete(victim)
                    self.acked.pop(victim, None)
                i += 1
            except Exception as e:  # refused or unreachable: a client retries
                if "database space exceeded" in str(e):
                    self.refused += 1
                else:
                    self.errors += 1
                time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.join(timeout=30)


class StandbyTest(verbs.InstancesCase):
    def mas_args(self):
        binary = GRIDKV or verbs.etcd_binary()
        return ["--binary", f"{ENGINE}@{verbs.V_A}={binary}", "--stop-instances-on-exit"]

    def setUp(self):
        super().setUp()
        self.frozen = []
        self.writers = []

    def tearDown(self):
        for w in self.writers:
            w.stop.set()
        for pid in self.frozen:
            try:
                os.killpg(pid, signal.SIGCONT)
            except OSError:
                pass
        super().tearDown()

    def obj(self, name):
        return json.loads(self.ok("get", "kv", name, "-o", "json"))

    def mirror(self, name):
        return self.obj(name).get("status", {}).get("mirror") or {}

    def metrics(self):
        with urllib.request.urlopen(self.server + "/metrics", timeout=5) as r:
            return r.read().decode()

    def endpoint(self, name):
        url = self.obj(name)["status"]["members"][0]["clientURL"]
        return url[len("http://"):]

    def member_pid(self, cluster):
        records = glob.glob(os.path.join(self.dir, "root", "instances", "kv_%s_*" % cluster,
                                         "instance.json"))
        self.assertEqual(len(records), 1, records)
        with open(records[0]) as f:
            return json.load(f)["pid"]

    def client(self, name):
        host, port = self.endpoint(name).split(":")
        return etcd3.client(host=host, port=int(port), timeout=3)

    def keys(self, name, prefix):
        return {m.key.decode(): v.decode() for v, m in self.client(name).get_prefix(prefix)}

    def start_clusters(self, primary, standby_name):
        self.ok("apply", "-f", "-", stdin=KV % (standby_name, ENGINE, verbs.V_A, ""))
        self.ok("apply", "-f", "-", stdin=KV % (primary, ENGINE, verbs.V_A,
                                                  standby(standby_name)))
        for name in (primary, standby_name):
            self.ok("wait", "kv", name, "--for", "phase=Run", "--timeout", "90s", timeout=100)
        poll(lambda: self.mirror(primary).get("state") == "Watching", "the mirror watching")

    def writer(self, name, prefix):
        w = Writer(self.endpoint(name), prefix)
        self.writers.append(w)
        w.start()
        return w

    def test_mirror_resume_foreign_write_and_switchover(self):
        self.start_clusters("p", "s")
        load = self.writer("p", "/load/")

        # Lag is reported while the load runs.
        poll(lambda: self.mirror("p").get("appliedRevision", 0) > 20, "applied revisions")
        m = self.mirror("p")
        for field in ("lagRevisions", "lagSeconds", "primaryRevision", "updated"):
            self.assertIn(field, m)
        self.assertEqual(m["standby"], "s")
        # ... and in gridmas's metrics, beside the controllers' reconcile counts.
        poll(lambda: 'grid_mas_mirror_lag_revisions{cluster="p",standby="s"}' in self.metrics(),
             "the mirror lag series")
        self.assertIn('grid_mas_reconciles_total{kind="KVCluster",result="ok"}', self.metrics())

        # The standby's member killed: gridmas restarts it, the mirror resumes.
        pid = self.member_pid("s")
        failed_before = m.get("sessionsFailed", 0)
        os.killpg(pid, signal.SIGKILL)
        poll(lambda: self.member_pid("s") != pid, "the standby's member restarted")
        poll(lambda: self.mirror("p").get("sessionsFailed", 0) > failed_before,
             "the mirror noticing the standby's loss")
        poll(lambda: self.mirror("p").get("state") == "Watching", "the mirror watching again")
        applied = self.mirror("p")["appliedRevision"]
        poll(lambda: self.mirror("p")["appliedRevision"] > applied, "the mirror applying again")

        # The load stops: the standby equals the primary, lag 0.
        load.finish()
        self.assertGreater(len(load.acked), 50)
        poll(lambda: self.keys("s", "/load/") == self.keys("p", "/load/"), "s equal to p")
        self.assertEqual(self.keys("p", "/load/"), load.acked)
        poll(lambda: self.mirror("p").get("lagRevisions") == 0, "lag 0")
        self.assertEqual(self.mirror("p").get("fullCopies"), 1)  # the resume did not copy

        # A foreign write to the standby is reported.
        self.client("s").put("/load/foreign", "x")
        poll(lambda: self.mirror("p").get("foreignWrites", 0) >= 1, "the foreign write reported")
        self.assertEqual(self.mirror("p")["lastForeignKey"], "/load/foreign")
        self.client("s").delete("/load/foreign")

        # Switch-over under a writer that retries: nothing acknowledged is lost.
        sw = self.writer("p", "/sw/")
        poll(lambda: len(sw.acked) > 20, "writes before the switch-over")
        r = self.ctl("switchover", "kv", "p", "--wait", "--timeout", PROMOTE_TIMEOUT, timeout=150)
        self.assertEqual(r.returncode, 0, r.stderr + self.log("gridmas.log"))
        self.assertIn("kvcluster/s promoted at revision", r.stdout)
        self.assertIn("uncopied revisions 0", r.stdout)
        poll(lambda: sw.refused > 0, "puts refused by the fenced primary")
        sw.finish()
        on_s = self.keys("s", "/sw/")
        self.assertEqual({k: on_s.get(k) for k in sw.acked}, sw.acked)
        self.assertEqual(self.keys("p", "/sw/"), on_s)
        with self.assertRaises(Exception) as refused:
            self.client("p").put("/after", "x")
        self.assertIn("database space exceeded", str(refused.exception))
        m = self.mirror("p")
        promotion = m["promotion"]
        self.assertEqual((promotion["result"], promotion["promoted"], promotion["mode"]),
                         ("Succeeded", "s", "switchover"), promotion)
        self.assertEqual(promotion["uncopiedRevisions"], 0, promotion)
        self.assertEqual((m["state"], m["writeFenced"]), ("Promoted", True), m)
        self.assertNotIn("operation", m)
        history = self.obj("p")["status"]["history"]
        self.assertEqual((history[-1]["name"], history[-1]["result"]), ("Switchover", "Succeeded"))
        poll(lambda: 'grid_mas_operation_duration_seconds_count{kind="KVCluster",'
                     'operation="Switchover",result="Succeeded"} 1' in self.metrics(),
             "the switch-over's duration in the metrics")
        # The promoted standby takes writes.
        self.client("s").put("/after", "x")
        self.assertIn("Mirror:", self.ok("describe", "kv", "p"))

    def test_failover_reports_what_it_could_not_copy(self):
        self.start_clusters("p2", "s2")
        load = self.writer("p2", "/load/")
        poll(lambda: self.mirror("p2").get("appliedRevision", 0) > 20, "applied revisions")
        pid = self.member_pid("p2")
        os.killpg(pid, signal.SIGSTOP)
        self.frozen.append(pid)
        r = self.ctl("failover", "kv", "p2", "--wait", "--timeout", PROMOTE_TIMEOUT, timeout=150)
        load.stop.set()
        self.assertEqual(r.returncode, 0, r.stderr + self.log("gridmas.log"))
        self.assertIn("kvcluster/s2 promoted", r.stdout)
        self.assertIn("primary reachable: false", r.stdout)
        self.assertIn("missing revisions", r.stdout)
        promotion = self.mirror("p2")["promotion"]
        self.assertEqual((promotion["result"], promotion["promoted"]), ("Succeeded", "s2"))
        self.assertFalse(promotion["primaryReachable"])
        self.assertGreaterEqual(promotion["missingRevisions"], 0)
        self.assertEqual(promotion["missingRevisions"],
                         promotion["primaryRevision"] - promotion["appliedRevision"])
        # The standby holds every acknowledged put up to what it applied and takes writes.
        self.client("s2").put("/after", "x")


if __name__ == "__main__":
    bb.GRIDMAS, bb.GRIDCTL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
