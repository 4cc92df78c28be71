#!/usr/bin/env python3
"""Mirror lag under etcd's `benchmark` put load: gridmas's standby mirror and etcd's own
`etcdctl make-mirror`, side by side on the same primary in one run (not a test).

For each engine (the primary and both copies run that engine): a control store and one
gridmas; KVClusters `p` (primary), `s` (p's standby: spec.standby, mirrored by gridmas) and
`r` (the reference copy, fed by `etcdctl make-mirror` from p), one member each. While
etcd's benchmark tool puts --total keys into p (10 conns, 100 clients, 8-byte keys from a
key space of 100,000, 256-byte values):

  - a probe puts /probe/<n> = its send time into p every 100 ms; watches on s and r record
    when each probe arrives there: the delay is what a reader of each copy sees, measured
    the same way for both mirrors;
  - p's status.mirror (lagRevisions, lagSeconds) is sampled every 250 ms while the load runs.

After the load: the time until both copies hold the last probe, and whether s and r hold
exactly p's keys and values.

usage: mirror_lag.py --build BUILD_DIR --benchmark ETCD_BENCHMARK [--total 200000]
                     [--engines etcd,gridkv]
The benchmark tool is the one bench/etcd_vs_gridkv.sh builds (DIR/etcd-benchmark). Run it
with /usr/bin/python3 (Debian's, which has the etcd3 module).
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import etcd3

from gridbench import Grid, engine_version, poll

PROBE_INTERVAL_S = 0.1
SAMPLE_INTERVAL_S = 0.25


def cluster_yaml(name, engine, version, standby=None):
    y = ("apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {name: %s}\n"
         "spec:\n  engine: %s\n  version: \"%s\"\n  members: 1\n" % (name, engine, version))
    if standby:
        y += "  standby: {cluster: %s}\n" % standby
    return y


def client_of(endpoint):
    host, port = endpoint.split(":")
    return etcd3.client(host=host, port=int(port), timeout=30)


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


class Probe:
    """Puts /probe/<n> into the primary; records each probe's arrival on every copy."""

    def __init__(self, primary, copies):
        self.primary = client_of(primary)
        self.sent = {}
        self.arrived = {name: {} for name in copies}
        self.stop = threading.Event()
        self.cancels = []
        for name, endpoint in copies.items():
            events, cancel = client_of(endpoint).watch_prefix("/probe/")
            self.cancels.append(cancel)
            threading.Thread(target=self._watch, args=(name, events), daemon=True).start()
        self.thread = threading.Thread(target=self._send, daemon=True)

    def _watch(self, name, events):
        for ev in events:
            if isinstance(ev, etcd3.events.PutEvent):
                self.arrived[name].setdefault(ev.key.decode(), time.monotonic())

    def _send(self):
        n = 0
        while not self.stop.is_set():
            key = "/probe/%08d" % n
            self.sent[key] = time.monotonic()
            try:
                self.primary.put(key, "x")
            except Exception:  # a refused probe is simply not counted
                del self.sent[key]
            n += 1
            self.stop.wait(PROBE_INTERVAL_S)

    def delays_ms(self, name):
        got = self.arrived[name]
        return [(got[k] - t) * 1000 for k, t in self.sent.items() if k in got]

    def missing(self, name):
        return [k for k in self.sent if k not in self.arrived[name]]

    def close(self):
        self.stop.set()
        self.thread.join()
        for c in self.cancels:
            c()


def status_mirror(server):
    with urllib.request.urlopen(server + "/apis/grid.dev/v1/kvclusters/p", timeout=5) as r:
        return json.load(r).get("status", {}).get("mirror", {})


PAGE_KEYS = 5000


def all_kvs(endpoint):
    """Every key and value, read in pages at one revision (a single range of 100,000 values
    passes the client's 4 MiB message limit)."""
    c = client_of(endpoint)
    out, start, revision = {}, b"\0", None
    while True:
        # Debian's python3-etcd3 drops `limit`, so the request is built and sent here.
        req = c._build_get_range_request(start, range_end=b"\0", revision=revision)
        req.limit = PAGE_KEYS
        resp = c.kvstub.Range(req, c.timeout)
        revision = revision or resp.header.revision
        for kv in resp.kvs:
            if not kv.key.startswith(b"/grid-mirror/"):
                out[kv.key] = kv.value
        if not resp.more:
            return out
        start = resp.kvs[-1].key + b"\0"


def run_engine(build, benchmark, engine, total):
    grid = Grid(build, prefix="grid-bench-mirror-")
    mirror = None
    try:
        version = engine_version(engine)
        grid.apply(cluster_yaml("s", engine, version) + "---\n" + cluster_yaml("r", engine, version)
                   + "---\n" + cluster_yaml("p", engine, version, standby="s"))
        for name in ("p", "s", "r"):
            grid.ctl("wait", "kv", name, "--for", "phase=Run", "--timeout", "120s")
        poll(lambda: status_mirror(grid.server).get("state") == "Watching",
             "p's mirror to s to watch")
        p, s, r = (grid.client_endpoints(n)[0] for n in ("p", "s", "r"))
        mirror = subprocess.Popen(["etcdctl", "--endpoints", p, "make-mirror", r],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe = Probe(p, {"gridmas": s, "make-mirror": r})
        probe.thread.start()
        samples = []  # taken while the load runs
        stop = threading.Event()
        load_done = threading.Event()

        def sample():
            while not stop.is_set():
                try:
                    m = status_mirror(grid.server)
                    if not load_done.is_set():
                        samples.append((m.get("lagRevisions", 0), m.get("lagSeconds", 0.0)))
                except Exception:
                    pass
                stop.wait(SAMPLE_INTERVAL_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.monotonic()
        out = subprocess.run([benchmark, "--endpoints", p, "--conns", "10", "--clients", "100",
                              "put", "--key-size", "8", "--val-size", "256", "--total", str(total),
                              "--key-space-size", "100000"], capture_output=True, text=True)
        load_s = time.monotonic() - t0
        load_done.set()
        if out.returncode != 0:
            raise RuntimeError("benchmark: " + out.stderr[-2000:])
        rps = next((l.split()[-1] for l in out.stdout.splitlines() if "Requests/sec" in l), "?")
        probe.stop.set()
        probe.thread.join()
        done_at = time.monotonic()
        catch_up = {}
        for name in ("gridmas", "make-mirror"):
            try:
                poll(lambda: not probe.missing(name), name + " to receive every probe", 300)
                catch_up[name] = max(0.0, max(probe.arrived[name].values()) - done_at)
            except RuntimeError:
                catch_up[name] = float("nan")
        poll(lambda: status_mirror(grid.server).get("lagRevisions", 1) == 0, "gridmas lag 0", 300)
        stop.set()
        sampler.join()
        primary = all_kvs(p)
        row = {"engine": engine, "puts": total, "rps": rps, "load_s": load_s,
               "status_lag_rev_max": max((x[0] for x in samples), default=0),
               "status_lag_rev_p50": pct([x[0] for x in samples], 0.5),
               "status_lag_s_max": max((x[1] for x in samples), default=0.0)}
        for name, endpoint in (("gridmas", s), ("make-mirror", r)):
            d = probe.delays_ms(name)
            row[name] = {"p50": pct(d, 0.5), "p99": pct(d, 0.99), "max": max(d, default=0),
                         "catch_up_s": catch_up[name], "equal": all_kvs(endpoint) == primary,
                         "probes": len(d)}
        probe.close()
        return row
    finally:
        if mirror is not None and mirror.poll() is None:
            mirror.terminate()
            mirror.wait()
        grid.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--benchmark", required=True)
    ap.add_argument("--total", type=int, default=200000)
    ap.add_argument("--engines", default="etcd,gridkv")
    args = ap.parse_args()
    rows = [run_engine(os.path.abspath(args.build), os.path.abspath(args.benchmark), e, args.total)
            for e in args.engines.split(",")]
    print("| engine | puts | put req/s | status lag revisions p50 / max | status lag s max |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %s | %s / %s | %.2f |" % (r["engine"], r["puts"], r["rps"],
                                                    r["status_lag_rev_p50"],
                                                    r["status_lag_rev_max"],
                                                    r["status_lag_s_max"]))
    print()
    print("| engine | mirror | probes | delay p50 ms | p99 ms | max ms | catch-up after load s |"
          " copy equal to primary |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        for name in ("gridmas", "make-mirror"):
            m = r[name]
            print("| %s | %s | %d | %.1f | %.1f | %.1f | %.2f | %s |" % (
                r["engine"], name, m["probes"], m["p50"], m["p99"], m["max"], m["catch_up_s"],
                "yes" if m["equal"] else "NO"))
        g, mm = r["gridmas"], r["make-mirror"]
        if mm["p99"] > 0:
            print("ratio gridmas / make-mirror (%s): delay p50 %.2f, p99 %.2f" % (
                r["engine"], g["p50"] / mm["p50"], g["p99"] / mm["p99"]))


if __name__ == "__main__":
    sys.exit(main())
