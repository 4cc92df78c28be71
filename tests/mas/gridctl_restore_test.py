#!/usr/bin/env python3
"""Recovery of a quorum loss by one command, against real processes: a control store (etcd 3.4
or $GRID_TEST_ETCD_BINARY), one gridmas replica, and a 3-member etcd KVCluster with
spec.backup {bucket: a temp dir}.

A backup is taken, a key is written after it, then two of the three members are frozen
(SIGSTOP): the cluster has no quorum and refuses writes. `gridctl restore kvcluster main
--wait` stops the members, keeps their data dirs aside, restores all three from the latest
backup and checks HashKV against the backup's: the cluster serves the backup's keys again,
without the key written after it.

With spec.backup.autoRestoreAfterSeconds the same quorum loss is recovered without a command:
once the quorum has been lost that long, the controller restores the latest backup by itself
(condition AutoRestore).

usage: gridctl_restore_test.py GRIDMAS GRIDCTL [unittest args]
"""
import glob
import json
import os
import signal
import subprocess
import sys
import time
import unittest

import gridmas_blackbox_test as bb
import gridctl_backup_test as backups
import gridctl_verbs_test as verbs

RESTORE_TIMEOUT = "240s"
AUTO_AFTER_S = 30  # the smallest autoRestoreAfterSeconds
AUTO_RESTORE_DEADLINE_S = 240
KEYS = 20

SPEC = """apiVersion: grid.dev/v1
kind: KVCluster
metadata: {name: main}
spec:
  engine: etcd
  version: "%s"
  members: 3
  backup:
    bucket: %s
"""


class GridctlRestoreTest(backups.BackupCase):
    def tearDown(self):
        for pid in getattr(self, "frozen", []):
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        super().tearDown()

    def member_pid(self, member):
        with open(os.path.join(self.dir, "root", "instances", "kv_main_" + member,
                               "instance.json")) as f:
            return json.load(f)["pid"]

    def put_fails(self, endpoint, key):
        env = dict(os.environ, ETCDCTL_API="3")
        r = subprocess.run(["etcdctl", "--endpoints", endpoint, "--command-timeout=2s", "put",
                            key, "x"], env=env, capture_output=True, text=True,
                           timeout=bb.DEADLINE_S)
        return r.returncode != 0

    def test_quorum_loss_recovered_by_one_command(self):
        bucket = os.path.join(self.dir, "bucket")
        self.ok("apply", "-f", "-", stdin=SPEC % (verbs.V_A, bucket))
        self.ok("wait", "kv", "main", "--for", "phase=Run", "--timeout", "120s", timeout=150)
        members = self.get()["status"]["members"]
        self.assertEqual(len(members), 3)
        endpoints = ",".join(m["clientURL"] for m in members)
        for i in range(KEYS):
            self.etcdctl(endpoints, "put", "k%02d" % i, "v%d" % i)
        record = json.loads(self.ok("backup", "create", "kv", "main", "-o", "json", timeout=60))
        self.etcdctl(endpoints, "put", "after-backup", "lost by the restore")

        # Quorum lost: two members frozen; a write cannot commit.
        survivor = members[0]
        self.frozen = [self.member_pid(m["name"]) for m in members[1:]]
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)
        self.assertTrue(self.put_fails(survivor["clientURL"], "no-quorum"))

        out = self.ok("restore", "kv", "main", "--wait", "--timeout", RESTORE_TIMEOUT,
                      timeout=300)
        self.assertIn("kvcluster/main restore from backup latest requested at", out)
        self.assertIn("kvcluster/main restored: ", out)
        self.assertIn(record["name"], out)

        obj = self.get()
        self.assertEqual(obj["status"]["phase"], "Run", obj["status"])
        restored = [c for c in obj["status"]["conditions"] if c["type"] == "Restored"]
        self.assertEqual(restored[0]["status"], "True", restored)
        endpoints = ",".join(m["clientURL"] for m in obj["status"]["members"])
        keys = self.etcdctl(endpoints, "get", "", "--prefix", "--keys-only").split()
        self.assertEqual(keys, ["k%02d" % i for i in range(KEYS)])
        self.assertEqual(self.etcdctl(endpoints, "get", "k07", "--print-value-only").strip(),
                         "v7")
        status = json.loads(self.etcdctl(endpoints, "endpoint", "status", "-w", "json"))
        self.assertEqual(len(status), 3)
        for s in status:
            self.assertGreaterEqual(s["Status"]["header"]["revision"], record["revision"])
        # The cluster takes writes again.
        self.etcdctl(endpoints, "put", "after-restore", "ok")
        # The members' data from before the restore is kept aside, never deleted.
        aside = glob.glob(os.path.join(self.dir, "root", "instances", "kv_main_*",
                                       "*before-restore-*"))
        self.assertEqual(len(aside), 3, aside)

        # A backup that does not exist: the restore fails and says why.
        r = self.ctl("restore", "kv", "main", "--backup", "main-19700101T000000Z", "--wait",
                     "--timeout", RESTORE_TIMEOUT, timeout=300)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("restore failed", r.stderr)
        self.assertIn("main-19700101T000000Z", r.stderr)

    def test_quorum_loss_restored_by_itself(self):
        bucket = os.path.join(self.dir, "bucket")
        spec = SPEC % (verbs.V_A, bucket) + "    autoRestoreAfterSeconds: %d\n" % AUTO_AFTER_S
        self.ok("apply", "-f", "-", stdin=spec)
        self.ok("wait", "kv", "main", "--for", "phase=Run", "--timeout", "120s", timeout=150)
        members = self.get()["status"]["members"]
        endpoints = ",".join(m["clientURL"] for m in members)
        for i in range(KEYS):
            self.etcdctl(endpoints, "put", "k%02d" % i, "v%d" % i)
        record = json.loads(self.ok("backup", "create", "kv", "main", "-o", "json", timeout=60))
        self.etcdctl(endpoints, "put", "after-backup", "lost by the restore")

        self.frozen = [self.member_pid(m["name"]) for m in members[1:]]
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

        def auto_restored():
            obj = self.get()
            conds = {c["type"]: c for c in obj["status"].get("conditions", [])}
            restored = conds.get("Restored")
            return (obj["status"].get("phase") == "Run" and "AutoRestore" in conds and
                    restored is not None and restored["status"] == "True")
        deadline = time.monotonic() + AUTO_RESTORE_DEADLINE_S
        while not auto_restored():
            self.assertLess(time.monotonic(), deadline, "no automatic restore: %s; log:\n%s" %
                            (json.dumps(self.get()["status"]), self.log("gridmas.log")))
            time.sleep(0.5)

        obj = self.get()
        conds = {c["type"]: c for c in obj["status"]["conditions"]}
        self.assertEqual(conds["AutoRestore"]["reason"], "AutoRestore", conds)
        self.assertIn("quorum lost since", conds["AutoRestore"]["message"])
        self.assertIn('request "latest requested auto ', conds["Restored"]["message"])
        self.assertIn(record["name"], conds["Restored"]["message"])
        self.assertIn("automatic restore of the latest backup", self.log("gridmas.log"))
        endpoints = ",".join(m["clientURL"] for m in obj["status"]["members"])
        keys = self.etcdctl(endpoints, "get", "", "--prefix", "--keys-only").split()
        self.assertEqual(keys, ["k%02d" % i for i in range(KEYS)])
        self.etcdctl(endpoints, "put", "after-restore", "ok")


if __name__ == "__main__":
    bb.GRIDMAS, bb.GRIDCTL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
