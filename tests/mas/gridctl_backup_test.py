#!/usr/bin/env python3
"""Backups through gridmas and gridctl against real processes: a control store (etcd 3.4 or
$GRID_TEST_ETCD_BINARY), one gridmas replica, and a 1-member etcd KVCluster with
spec.backup {schedule "* * * * *", bucket: a temp dir, retention keepLast 2}.

The scheduled path is checked for one tick only: the first fire time (the current minute) is
run as soon as the cluster has a member, so the test does not wait for a minute boundary.

usage: gridctl_backup_test.py GRIDMAS GRIDCTL [unittest args]
"""
import calendar
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

import gridmas_blackbox_test as bb
import gridctl_verbs_test as verbs

OPERATION_TIMEOUT = "120s"

KV = """apiVersion: grid.dev/v1
kind: KVCluster
metadata: {name: %s}
spec:
  engine: etcd
  version: "%s"
  members: 1
%s"""

BACKUP = """  backup:
    schedule: "%s"
    bucket: %s
    retention: {keepLast: 2}
"""


class BackupCase(verbs.InstancesCase):
    """gridmas running etcd members, with helpers; the tests are in the subclasses."""

    def mas_args(self):
        # s3:// buckets: an endpoint where nothing listens.
        return ["--binary", f"etcd@{verbs.V_A}={verbs.etcd_binary()}", "--stop-instances-on-exit",
                "--s3-endpoint", "http://127.0.0.1:%d" % bb.free_port()]

    def etcdctl(self, endpoint, *args):
        env = dict(os.environ, ETCDCTL_API="3")
        r = subprocess.run(["etcdctl", "--endpoints", endpoint] + list(args), env=env,
                           capture_output=True, text=True, timeout=bb.DEADLINE_S)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def backup_condition(self, name="main"):
        status = json.loads(self.ok("get", "kv", name, "-o", "json")).get("status", {})
        for c in status.get("conditions", []):
            if c["type"] == "BackupSucceeded":
                return c
        return None


class GridctlBackupTest(BackupCase):
    def test_scheduled_tick_create_list_retention_and_errors(self):
        bucket = os.path.join(self.dir, "bucket")
        spec = KV % ("main", verbs.V_A, BACKUP % ("* * * * *", bucket))
        self.assertIn("kvcluster/main created", self.ok("apply", "-f", "-", stdin=spec))

        # A bad schedule is refused, the field named; nothing is stored.
        r = self.ctl("apply", "-f", "-", stdin=KV % ("bad", verbs.V_A,
                                                     BACKUP % ("0 24 * * *", bucket)))
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("spec.backup.schedule", r.stderr)
        self.assertIn("hour at position 3", r.stderr)
        self.assertEqual(self.ctl("get", "kv", "bad").returncode, 1)

        self.ok("wait", "kv", "main", "--for", "phase=Run", "--timeout", OPERATION_TIMEOUT,
                timeout=150)
        endpoint = self.get()["status"]["members"][0]["clientURL"]

        # The scheduled tick of the current minute runs once the member is there.
        bb.poll(lambda: self.backup_condition() is not None, "the scheduled backup")
        cond = self.backup_condition()
        self.assertEqual((cond["status"], cond["reason"]), ("True", "BackupSucceeded"), cond)
        self.assertTrue(cond["message"].startswith("backup main-"), cond)
        scheduled = cond["message"].split()[1]
        # The job lock's record: the tick is the fire time in Unix minutes (this minute, or
        # the next one when it turned meanwhile).
        job = json.loads(self.etcdctl(self.etcd_endpoint, "get", "--print-value-only",
                                      "/gridmas/jobs/last/backup-main"))
        self.assertIn(int(time.time()) // 60 - job["tick"], (0, 1), job)
        self.assertEqual(job["replica"], "bb")

        # Two backups on demand with writes between them.
        out = self.ok("backup", "create", "kv", "main", timeout=60)
        first = json.loads(self.ok("backup", "list", "kv", "main", "-o", "json"))["items"][0]
        self.assertEqual(out.splitlines()[0], "backup %s created" % first["name"], out)
        self.assertIn("  revision  %d\n" % first["revision"], out)
        self.assertIn("  size      %d bytes\n" % first["sizeBytes"], out)
        self.assertIn("  sha256    %s\n" % first["sha256"], out)
        for i in range(3):
            self.etcdctl(endpoint, "put", "k%d" % i, "v%d" % i)
        second = json.loads(self.ok("backup", "create", "kv", "main", "-o", "json",
                                    timeout=60))
        self.assertGreaterEqual(second["revision"], first["revision"] + 3)
        self.assertTrue(second["verified"])
        self.assertEqual(second["cluster"], "main")

        # keepLast 2: the scheduled one is gone (unless a minute boundary added one since,
        # which then is the newest); newest first.
        listed = json.loads(self.ok("backup", "list", "kv", "main", "-o", "json"))["items"]
        names = [b["name"] for b in listed]
        self.assertEqual(len(listed), 2, names)
        self.assertIn(second["name"], names)
        self.assertNotIn(scheduled, names)
        self.assertGreaterEqual(listed[0]["created"], listed[1]["created"])
        self.assertGreaterEqual(listed[0]["revision"], listed[1]["revision"])
        table = self.ok("backup", "list", "kv", "main").splitlines()
        self.assertEqual(table[0].split(), ["NAME", "REVISION", "SIZE", "CREATED", "SHA256"])
        self.assertEqual([row.split()[0] for row in table[1:]], names)
        row = table[1 + names.index(second["name"])].split()
        self.assertEqual(row[1:3], [str(second["revision"]), str(second["sizeBytes"])])
        # Each listed backup is complete in the bucket.
        for name in names:
            self.assertTrue(os.path.exists(os.path.join(bucket, "main", name, "backup.json")))

        # The job lock and the last-outcome key live in the control store.
        last = json.loads(self.etcdctl(self.etcd_endpoint, "get", "--print-value-only",
                                       "/gridmas/backups/main/last"))
        self.assertEqual(last["outcome"], "succeeded", last)
        self.assertIn(last["name"], names)

        # No spec.backup: 400 naming it; unknown cluster: 404; not a kvcluster.
        self.ok("apply", "-f", "-", stdin=KV % ("plain", verbs.V_A, ""))
        r = self.ctl("backup", "create", "kv", "plain")
        self.assertEqual(r.returncode, 1)
        self.assertIn("spec.backup", r.stderr)
        r = self.ctl("backup", "list", "kv", "nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn('"nope" not found', r.stderr)
        r = self.ctl("backup", "list", "rf", "main")
        self.assertEqual(r.returncode, 1)
        self.assertIn("backup takes a kvcluster", r.stderr)
        self.ok("delete", "kv", "plain")

    def test_verify_and_metrics(self):
        bucket = os.path.join(self.dir, "bucket")
        self.ok("apply", "-f", "-", stdin=KV % ("main", verbs.V_A,
                                                "  backup: {bucket: %s}\n" % bucket))
        self.ok("wait", "kv", "main", "--for", "phase=Run", "--timeout", OPERATION_TIMEOUT,
                timeout=150)
        first = json.loads(self.ok("backup", "create", "kv", "main", "-o", "json", timeout=60))
        second = json.loads(self.ok("backup", "create", "kv", "main", "-o", "json", timeout=60))

        # Intact backups pass, by name and as latest.
        out = self.ok("backup", "verify", "kv", "main", first["name"], timeout=60)
        self.assertEqual(out, "backup %s OK: %d bytes, revision %d, sha256 %s\n" % (
            first["name"], first["sizeBytes"], first["revision"], first["sha256"]))
        out = self.ok("backup", "verify", "kv", "main", "latest", timeout=60)
        self.assertTrue(out.startswith("backup %s OK: " % second["name"]), out)

        # One flipped byte in the middle of the stored snapshot: found by its trailing
        # SHA-256, the check's offset (size - 32) and the object named; exit 1.
        path = os.path.join(bucket, "main", first["name"], "snapshot.db")
        with open(path, "r+b") as f:
            f.seek(first["sizeBytes"] // 2)
            byte = f.read(1)
            f.seek(first["sizeBytes"] // 2)
            f.write(bytes([byte[0] ^ 0xFF]))
        r = self.ctl("backup", "verify", "kv", "main", first["name"], timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("backup %s failed verification: " % first["name"], r.stderr)
        self.assertIn("Corruption", r.stderr)
        self.assertIn("main/%s/snapshot.db" % first["name"], r.stderr)
        self.assertIn("offset %d" % (first["sizeBytes"] - 32), r.stderr)
        answer = json.loads(self.ctl("backup", "verify", "kv", "main", first["name"], "-o",
                                     "json", timeout=60).stdout)
        self.assertFalse(answer["ok"], answer)
        self.assertEqual(answer["backup"]["name"], first["name"])
        self.assertTrue(self.ok("backup", "verify", "kv", "main", second["name"],
                                timeout=60).startswith("backup %s OK" % second["name"]))
        # A backup that is not there: 404, named.
        r = self.ctl("backup", "verify", "kv", "main", "main-19700101T000000Z")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no verified backup main-19700101T000000Z", r.stderr)

        # The backup series on /metrics.
        with urllib.request.urlopen(self.server + "/metrics", timeout=bb.DEADLINE_S) as resp:
            text = resp.read().decode()
        series = {}
        for line in text.splitlines():
            if line.startswith("grid_mas_backup"):
                key, value = line.rsplit(" ", 1)
                series[key] = float(value)
        self.assertEqual(series.get('grid_mas_backups_total{cluster="main",result="succeeded"}'),
                         2, text)
        self.assertEqual(series.get('grid_mas_backup_last_size_bytes{cluster="main"}'),
                         second["sizeBytes"], text)
        created = calendar.timegm(time.strptime(second["created"], "%Y-%m-%dT%H:%M:%SZ"))
        self.assertEqual(
            series.get('grid_mas_backup_last_success_timestamp_seconds{cluster="main"}'),
            created, text)
        self.assertEqual(series.get('grid_mas_backup_duration_seconds_count{cluster="main"}'),
                         2, text)
        self.assertIn('grid_mas_backup_duration_seconds_bucket{cluster="main",le="+Inf"} 2',
                      text)

    def test_unreachable_bucket_is_503_naming_it(self):
        self.ok("apply", "-f", "-", stdin=KV % ("s3c", verbs.V_A,
                                                "  backup: {bucket: 's3://nothing/here'}\n"))
        url = self.server + "/apis/grid.dev/v1/kvclusters/s3c/backups"
        for method in ("GET", "POST"):
            if method == "POST":
                self.ok("wait", "kv", "s3c", "--for", "phase=Run", "--timeout",
                        OPERATION_TIMEOUT, timeout=150)
            request = urllib.request.Request(url, method=method, data=b"" if method == "POST"
                                             else None)
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=bb.DEADLINE_S)
            body = json.loads(caught.exception.read())
            self.assertEqual(caught.exception.code, 503, (method, body))
            self.assertIn("s3://nothing/here", body["message"])
        # The failure is where a user sees it.
        cond = self.backup_condition("s3c")
        self.assertEqual((cond["status"], cond["reason"]), ("False", "BackupFailed"), cond)
        self.assertIn("s3://nothing/here", cond["message"])
        r = self.ctl("backup", "create", "kv", "s3c")
        self.assertEqual(r.returncode, 1)
        self.assertIn("s3://nothing/here", r.stderr)
        with urllib.request.urlopen(self.server + "/metrics", timeout=bb.DEADLINE_S) as resp:
            text = resp.read().decode()
        self.assertIn('grid_mas_backups_total{cluster="s3c",result="failed"} 2', text)
        self.assertNotIn('grid_mas_backup_last_success_timestamp_seconds{cluster="s3c"}', text)
        self.ok("delete", "kv", "s3c")


if __name__ == "__main__":
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    bb.GRIDMAS, bb.GRIDCTL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
