#!/usr/bin/env python3
"""Retention under a real schedule, against real processes: a control store (etcd 3.4 or
$GRID_TEST_ETCD_BINARY), one gridmas replica, and a 1-member etcd KVCluster with
spec.backup {schedule "* * * * *", bucket: a temp dir, retention keepLast 2}.

Four fire times run (the current minute once the member is there, then three minute
boundaries: about three and a half minutes). After each new backup: the listed backups are
exactly the two newest, each created in its own fire minute; the job lock's record names the
backup's fire minute as its tick; the pruned backups' objects are gone from the bucket
directory; and gridmas logged exactly one run per fire time.

usage: gridctl_backup_schedule_test.py GRIDMAS GRIDCTL [unittest args]
"""
import calendar
import json
import os
import re
import sys
import time
import unittest

import gridmas_blackbox_test as bb
import gridctl_backup_test as backups
import gridctl_verbs_test as verbs

FIRES = 4
# One fire time each minute, plus the backup itself.
FIRE_TIMEOUT_S = 100


def created_minute(record):
    return calendar.timegm(time.strptime(record["created"], "%Y-%m-%dT%H:%M:%SZ")) // 60


class GridctlBackupScheduleTest(backups.BackupCase):
    def latest_backup_name(self):
        cond = self.backup_condition()
        if cond is None or cond["status"] != "True":
            return None
        return cond["message"].split()[1]

    def wait_for_new_backup(self, seen):
        deadline = time.monotonic() + FIRE_TIMEOUT_S
        while time.monotonic() < deadline:
            name = self.latest_backup_name()
            if name is not None and name not in seen:
                return name
            time.sleep(0.2)
        self.fail("no new scheduled backup after %s; log:\n%s" %
                  (seen, self.log("gridmas.log")))

    def test_keep_last_two_over_four_fire_times(self):
        bucket = os.path.join(self.dir, "bucket")
        spec = backups.KV % ("main", verbs.V_A, backups.BACKUP % ("* * * * *", bucket))
        self.ok("apply", "-f", "-", stdin=spec)
        self.ok("wait", "kv", "main", "--for", "phase=Run", "--timeout",
                backups.OPERATION_TIMEOUT, timeout=150)

        seen = []      # backup names in the order they appeared
        minutes = {}   # name -> fire minute (Unix minutes)
        for _ in range(FIRES):
            name = self.wait_for_new_backup(seen)
            seen.append(name)
            # The job lock's record: the tick (fire minute) that took this backup.
            job = json.loads(self.etcdctl(self.etcd_endpoint, "get", "--print-value-only",
                                          "/gridmas/jobs/last/backup-main"))
            minutes[name] = job["tick"]
            listed = json.loads(self.ok("backup", "list", "kv", "main", "-o", "json"))["items"]
            # Exactly the two newest, newest first.
            self.assertEqual([b["name"] for b in listed], list(reversed(seen[-2:])), listed)
            # Created in its fire minute (or just after it, when the boundary passed meanwhile).
            self.assertIn(created_minute(listed[0]) - job["tick"], (0, 1), (job, listed[0]))
            # Pruned backups are gone from the bucket directory, kept ones are whole.
            for old in seen[:-2]:
                for obj in ("backup.json", "snapshot.db"):
                    self.assertFalse(os.path.exists(os.path.join(bucket, "main", old, obj)),
                                     (old, obj))
            for kept in seen[-2:]:
                for obj in ("backup.json", "snapshot.db"):
                    self.assertTrue(os.path.exists(os.path.join(bucket, "main", kept, obj)),
                                    (kept, obj))

        # One backup per fire time: distinct, consecutive fire minutes.
        fire_minutes = [minutes[n] for n in seen]
        self.assertEqual(len(set(fire_minutes)), FIRES, fire_minutes)
        self.assertEqual(fire_minutes, list(range(fire_minutes[0], fire_minutes[0] + FIRES)),
                         fire_minutes)
        # gridmas ran each tick once (a tick also done twice would log twice).
        with open(os.path.join(self.dir, "gridmas.log"), errors="replace") as f:
            done = re.findall(r'backup of KVCluster "main" tick (\d+) done', f.read())
        for minute in fire_minutes:
            self.assertEqual(done.count(str(minute)), 1, (minute, done))
        # No other backup directory holds a record.
        records = [d for d in os.listdir(os.path.join(bucket, "main"))
                   if os.path.exists(os.path.join(bucket, "main", d, "backup.json"))]
        self.assertEqual(sorted(records), sorted(seen[-2:]))


if __name__ == "__main__":
    bb.GRIDMAS, bb.GRIDCTL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
