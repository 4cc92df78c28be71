#!/usr/bin/env python3
"""Backup and restore times through gridmas, etcd 3.4 and gridkv side by side (not a test).

For each engine: a control store (etcd), one gridmas, a 3-member KVCluster with
spec.backup {bucket: a local directory}; the cluster is filled with --mib MiB of values
(64 KiB each, through the python3-etcd3 client), then timed:

  backup   `gridctl backup create`   (snapshot stream from one member, upload, read-back check)
  restore  `gridctl restore --wait`  (stop, data dirs aside, fetch, restore 3 members, start,
                                      HashKV check on every member)

usage: backup_restore.py --build BUILD_DIR [--mib 256] [--engines etcd,gridkv]
Run it with /usr/bin/python3 (Debian's, which has the etcd3 module).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import etcd3

from gridbench import Grid, etcd_version

VALUE_BYTES = 64 * 1024


def run_engine(build, engine, mib):
    grid = Grid(build)
    try:
        version = "local" if engine == "gridkv" else etcd_version()
        bucket = os.path.join(grid.dir, "bucket")
        spec = ("apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: main}\n"
                "spec:\n  engine: %s\n  version: \"%s\"\n  members: 3\n"
                "  quotaBackendBytes: %d\n  backup: {bucket: %s}\n"
                % (engine, version, 8 << 30, bucket))
        r = subprocess.run([os.path.join(build, "cmd/gridctl/gridctl"), "--server", grid.server,
                            "apply", "-f", "-"], input=spec, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        grid.ctl("wait", "kv", "main", "--for", "phase=Run", "--timeout", "120s")
        members = json.loads(grid.ctl("get", "kv", "main", "-o", "json"))["status"]["members"]
        host, port = members[0]["clientURL"].split("//")[1].split(":")
        client = etcd3.client(host=host, port=int(port), timeout=60)
        value = os.urandom(VALUE_BYTES)
        count = mib * (1 << 20) // VALUE_BYTES
        t0 = time.monotonic()
        for i in range(count):
            client.put("bench/%08d" % i, value)
        fill_s = time.monotonic() - t0

        t0 = time.monotonic()
        record = json.loads(grid.ctl("backup", "create", "kv", "main", "-o", "json",
                                     "--timeout", "60m"))
        backup_s = time.monotonic() - t0

        t0 = time.monotonic()
        grid.ctl("restore", "kv", "main", "--wait", "--timeout", "60m")
        restore_s = time.monotonic() - t0
        members = json.loads(grid.ctl("get", "kv", "main", "-o", "json"))["status"]["members"]
        host, port = members[0]["clientURL"].split("//")[1].split(":")
        client = etcd3.client(host=host, port=int(port), timeout=60)
        got, _ = client.get("bench/%08d" % (count - 1))
        if got != value:
            raise RuntimeError("the last key did not come back after the restore")
        return {"engine": engine, "keys": count, "fill_s": fill_s,
                "snapshot_mib": record["sizeBytes"] / (1 << 20), "backup_s": backup_s,
                "restore_s": restore_s}
    finally:
        grid.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--engines", default="etcd,gridkv")
    args = ap.parse_args()
    rows = [run_engine(os.path.abspath(args.build), e, args.mib)
            for e in args.engines.split(",")]
    print("| engine | keys | data written (MiB) | snapshot (MiB) | backup s | MiB/s | "
          "restore (3 members) s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %d | %.0f | %.1f | %.0f | %.1f |" % (
            r["engine"], r["keys"], args.mib, r["snapshot_mib"], r["backup_s"],
            r["snapshot_mib"] / r["backup_s"], r["restore_s"]))
    if len(rows) == 2:
        print("ratio %s/%s: backup %.2f, restore %.2f" % (
            rows[1]["engine"], rows[0]["engine"], rows[1]["backup_s"] / rows[0]["backup_s"],
            rows[1]["restore_s"] / rows[0]["restore_s"]))


if __name__ == "__main__":
    sys.exit(main())
