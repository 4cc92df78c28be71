#!/usr/bin/env python3
"""Backups in an S3 bucket through gridmas, against real processes: a control store (etcd 3.4
or $GRID_TEST_ETCD_BINARY), an s3rver (the npm package) on a free port with its own
directory, one gridmas replica with --s3-endpoint, --s3-part-size-bytes 5 MiB and s3rver's
default keys, and a 1-member etcd KVCluster with spec.backup.bucket s3://backups/grid.

About 8 MiB of values are written, so the snapshot is uploaded in several parts.
`gridctl backup create` then `gridctl backup list` shows the backup; more keys are written,
then `gridctl restore kvcluster main --backup NAME --wait` brings back exactly the backup's
keys and values.

usage: gridctl_backup_s3_test.py GRIDMAS GRIDCTL S3RVER [unittest args]
"""
import json
import os
import re
import subprocess
import sys
import time
import unittest

import gridmas_blackbox_test as bb
import gridctl_backup_test as backups
import gridctl_verbs_test as verbs

S3RVER = None
S3_BUCKET = "backups"
PART_SIZE_BYTES = 5 * 1024 * 1024
VALUE_BYTES = 64 * 1024
KEYS = 130  # 130 x 64 KiB = 8.1 MiB of values
RESTORE_TIMEOUT = "240s"

SPEC = """apiVersion: grid.dev/v1
kind: KVCluster
metadata: {name: main}
spec:
  engine: etcd
  version: "%s"
  members: 1
  backup:
    bucket: s3://%s/grid
"""


def value_of(i):
    return (("%03d" % i) * (VALUE_BYTES // 3 + 1))[:VALUE_BYTES]


class GridctlBackupS3Test(backups.BackupCase):
    def mas_args(self):
        log = os.path.join(self.dir, "s3rver.log")
        data = os.path.join(self.dir, "s3")
        os.makedirs(data)
        logf = open(log, "wb")
        # s3rver's continuation tokens need Node's legacy OpenSSL provider.
        env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
        self.s3 = subprocess.Popen([S3RVER, "-d", data, "-a", "127.0.0.1", "-p", "0",
                                    "--silent", "--configure-bucket", S3_BUCKET],
                                   stdout=logf, stderr=logf, env=env)
        logf.close()
        self.procs.append(self.s3)
        port = []

        def listening():
            with open(log, errors="replace") as f:
                m = re.search(r"listening on 127\.0\.0\.1:([0-9]+)", f.read())
            if m:
                port.append(int(m.group(1)))
            return bool(m)
        bb.poll(listening, "s3rver listening")
        self.s3_data = data
        return ["--binary", f"etcd@{verbs.V_A}={verbs.etcd_binary()}", "--stop-instances-on-exit",
                "--s3-endpoint", "http://127.0.0.1:%d" % port[0],
                "--s3-part-size-bytes", str(PART_SIZE_BYTES)]

    def setUp(self):
        # s3rver's default key pair; gridmas reads it from its environment.
        os.environ["AWS_ACCESS_KEY_ID"] = "S3RVER"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "S3RVER"
        super().setUp()

    def put_stdin(self, endpoint, key, value):
        env = dict(os.environ, ETCDCTL_API="3")
        r = subprocess.run(["etcdctl", "--endpoints", endpoint, "put", key], input=value,
                           env=env, capture_output=True, text=True, timeout=bb.DEADLINE_S)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_multipart_backup_list_and_restore(self):
        self.ok("apply", "-f", "-", stdin=SPEC % (verbs.V_A, S3_BUCKET))
        self.ok("wait", "kv", "main", "--for", "phase=Run", "--timeout",
                backups.OPERATION_TIMEOUT, timeout=150)
        endpoint = self.get()["status"]["members"][0]["clientURL"]
        for i in range(KEYS):
            self.put_stdin(endpoint, "k%03d" % i, value_of(i))

        out = self.ok("backup", "create", "kv", "main", timeout=120)
        listed = json.loads(self.ok("backup", "list", "kv", "main", "-o", "json"))["items"]
        self.assertEqual(len(listed), 1, listed)
        record = listed[0]
        self.assertEqual(out.splitlines()[0], "backup %s created" % record["name"], out)
        self.assertGreater(record["sizeBytes"], PART_SIZE_BYTES)  # a multipart upload
        self.assertGreater(record["sizeBytes"], KEYS * VALUE_BYTES)
        self.assertTrue(record["verified"])
        table = self.ok("backup", "list", "kv", "main").splitlines()
        self.assertEqual(table[1].split()[0], record["name"], table)
        # The objects are in s3rver's bucket under the prefix.
        stored = []
        for root, _, files in os.walk(os.path.join(self.s3_data, S3_BUCKET)):
            stored += [os.path.join(root, f) for f in files]
        self.assertTrue(any("grid/main/%s/snapshot.db" % record["name"] in p for p in stored),
                        stored)

        # Writes after the backup are undone by the restore.
        self.etcdctl(endpoint, "put", "after-backup", "lost by the restore")
        self.etcdctl(endpoint, "put", "k000", "overwritten after the backup")
        out = self.ok("restore", "kv", "main", "--backup", record["name"], "--wait",
                      "--timeout", RESTORE_TIMEOUT, timeout=300)
        self.assertIn("kvcluster/main restored: ", out)
        self.assertIn(record["name"], out)
        endpoint = self.get()["status"]["members"][0]["clientURL"]
        keys = self.etcdctl(endpoint, "get", "", "--prefix", "--keys-only").split()
        self.assertEqual(keys, ["k%03d" % i for i in range(KEYS)])
        for i in (0, 64, KEYS - 1):
            got = self.etcdctl(endpoint, "get", "k%03d" % i, "--print-value-only")
            self.assertEqual(got.rstrip("\n"), value_of(i), i)


if __name__ == "__main__":
    bb.GRIDMAS, bb.GRIDCTL, S3RVER = sys.argv[1], sys.argv[2], sys.argv[3]
    unittest.main(argv=[sys.argv[0]] + sys.argv[4:], verbosity=2)
