#!/usr/bin/python3
"""Fault-injection runs against a real replicated etcd-API cluster (see README.md).

Each run: start N members, run register clients and lock clients while faults
are injected, heal, read every key from every member, tear down, then check
the history (linearizability via the external checker), the durability of
acknowledged writes, and the lock fencing tokens. Prints a summary table.

Exit status: 0 every run clean; 1 a violation was found; 2 a run could not be
judged (harness or startup error, checker verdict unknown, bad usage); 77
partitions were asked for where network namespaces cannot be made.
"""
import argparse
import collections
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checks  # noqa: E402
import locks  # noqa: E402
import network as netmod  # noqa: E402
import nemesis as nemmod  # noqa: E402
import workload  # noqa: E402
from cluster import Cluster  # noqa: E402

STARTUP_DEADLINE_SECONDS = 60
RECOVERY_DEADLINE_SECONDS = 60
TAIL_SECONDS = 1.0  # clients keep running this long on the healed cluster
JOIN_DEADLINE_SECONDS = 15
SETUP_DEADLINE_SECONDS = 20
KEY_COUNT = 3
EXIT_NO_PARTITIONS = 77
MAX_PROBLEMS_SHOWN = 5


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", required=True, help="etcd or gridkv binary")
    p.add_argument("--members", type=int, default=3, choices=(3, 5))
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--seconds", type=float, default=20.0, help="fault period of one run")
    p.add_argument("--faults", default="kill,pause,partition",
                   help="comma-separated subset of " + ",".join(nemmod.FAULT_KINDS))
    p.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    p.add_argument("--keep", action="store_true", help="keep data dirs, logs and histories")
    p.add_argument("--checker", help="grid-lincheck binary")
    p.add_argument("--record-only", action="store_true",
                   help="record (and keep) histories without the linearizability checker")
    p.add_argument("--clients", type=int, default=5, help="register client threads")
    p.add_argument("--lockers", type=int, default=3, help="lock client threads")
    p.add_argument("--heartbeat-ms", type=int, default=100)
    p.add_argument("--election-ms", type=int, default=1000)
    p.add_argument("--serializable-reads", action="store_true",
                   help="negative control: clients read a member's local state, which may be "
                        "stale under faults; the checks are expected to report violations")
    p.add_argument("--network", choices=("auto", "netns", "loopback"), default="auto",
                   help="auto: namespaces when they work here, else loopback")
    p.add_argument("--workdir", default=None, help="parent of the run directories")
    a = p.parse_args(argv)
    a.fault_kinds = [f for f in a.faults.split(",") if f]
    bad = [f for f in a.fault_kinds if f not in nemmod.FAULT_KINDS]
    if bad or not a.fault_kinds:
        p.error("--faults must be a non-empty subset of %s" % ",".join(nemmod.FAULT_KINDS))
    if not os.access(a.server, os.X_OK):
        p.error("--server %s is not an executable" % a.server)
    if a.runs < 1 or a.seconds <= 0 or a.clients < 1 or a.lockers < 0:
        p.error("--runs, --seconds and --clients must be positive")
    if not a.record_only:
        if not a.checker:
            p.error("--checker is required to judge histories (or pass --record-only)")
        if not os.access(a.checker, os.X_OK):
            p.error("checker %s is missing or not executable: histories cannot be judged"
                    % a.checker)
    return a


class RunResult:
    def __init__(self, index, run_dir):
        self.index = index
        self.run_dir = run_dir
        self.faults = {k: 0 for k in nemmod.FAULT_KINDS}
        self.ops = {"ok": 0, "failed": 0, "unknown": 0}
        self.verdict = "not run"
        self.verdict_line = ""
        self.lost = 0
        self.locks = {"holders": 0, "overlaps": 0, "bad_overlaps": 0, "fence_violations": 0}
        self.fallback = []
        self.problems = []
        self.error = None
        self.lock_attempts = 0
        self.lock_failures = collections.Counter()

    def violation(self):
        return (self.verdict == "VIOLATION" or self.lost > 0 or self.fallback
                or self.locks["bad_overlaps"] > 0 or self.locks["fence_violations"] > 0)

    def inconclusive(self):
        return self.error is not None or self.verdict == "unknown"


def _put_with_retry(cluster, key, value):
    deadline = time.monotonic() + SETUP_DEADLINE_SECONDS
    while True:
        for m in cluster.members:
            try:
                m.conn.put(key, value, 1.0)
                return
            except Exception:
                m.conn.reset()
        if time.monotonic() > deadline:
            raise RuntimeError("could not write %s during setup" % key)
        time.sleep(0.1)


def run_once(args, index, network, base_dir, rng):
    run_dir = os.path.join(base_dir, "run-%03d" % index)
    os.makedirs(run_dir)
    res = RunResult(index, run_dir)
    keys = ["k%d" % i for i in range(KEY_COUNT)]
    cluster = Cluster(args.server, args.members, run_dir, network, "chaos-%d" % index,
                      args.heartbeat_ms, args.election_ms)
    nem = nemmod.Nemesis(cluster, network, args.fault_kinds, rng,
                         os.path.join(run_dir, "nemesis.jsonl"))
    history = workload.History()
    stop = threading.Event()
    threads = []
    try:
        cluster.start_all()
        cluster.wait_healthy(STARTUP_DEADLINE_SECONDS)
        _put_with_retry(cluster, locks.FENCE_KEY, locks.token_text(0))
        n = args.members
        for i in range(args.clients):
            threads.append(workload.Worker(i, cluster.members[i % n].endpoint, keys,
                                           random.Random(rng.random()), history, stop,
                                           args.serializable_reads))
        for i in range(args.lockers):
            threads.append(locks.Locker(i, cluster.members[(i + 1) % n].endpoint,
                                        random.Random(rng.random()), stop))
        for t in threads:
            t.start()

        def tick():
            cluster.check_alive()
            for t in threads:
                if t.error is not None:
                    raise RuntimeError("%s failed: %r" % (t.name, t.error))

        nem.run(args.seconds, tick)
        res.faults = dict(nem.counts)
        nem.hold(TAIL_SECONDS, tick)
        stop.set()
        deadline = time.monotonic() + JOIN_DEADLINE_SECONDS
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                raise RuntimeError("%s did not stop" % t.name)
        tick()
        cluster.wait_healthy(RECOVERY_DEADLINE_SECONDS)
        reads = checks.final_reads(cluster, keys + [locks.FENCE_KEY])
    except Exception as e:
        res.error = "%s: %s" % (type(e).__name__, e)
        reads = None
    finally:
        stop.set()
        res.faults = dict(nem.counts)
        nem.close()
        cluster.stop_all()
        network.heal()

    records = history.records()
    history_path = os.path.join(run_dir, "history.jsonl")
    history.write(history_path)
    holds = [h for t in threads if isinstance(t, locks.Locker) for h in t.holds]
    locks.write_holds(os.path.join(run_dir, "locks.jsonl"), holds)
    res.ops = workload.op_counts(records)
    lockers = [t for t in threads if isinstance(t, locks.Locker)]
    res.lock_attempts = sum(t.attempts for t in lockers)
    for t in lockers:
        res.lock_failures.update(t.failures)
    if res.error is not None:
        return res
    if not args.record_only:
        res.verdict, res.verdict_line = checks.run_lincheck(
            args.checker, history_path, os.path.join(run_dir, "lincheck.txt"))
    lost, problems = checks.check_durability(records, {k: reads[k] for k in keys})
    res.lost = lost
    res.problems += problems
    fence_values = set(reads[locks.FENCE_KEY].values())
    final_fence = fence_values.pop() if len(fence_values) == 1 else None
    if final_fence is None:
        res.problems.append("members disagree on the fence: %s" % reads[locks.FENCE_KEY])
        res.lost += 1
    lock_report = locks.check_holds(holds, final_fence)
    res.problems += lock_report.pop("problems")
    res.locks = lock_report
    res.fallback = checks.fallback_check(records)
    res.problems += ["fallback: " + p for p in res.fallback]
    return res


def _row(cells, widths):
    return "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))


HEADER = ["run", "kill", "pause", "part", "ops ok", "failed", "unknown", "lincheck",
          "lost", "holders", "overlaps", "lock bad", "fence bad", "fallback"]


def _cells(name, r):
    return [name, r.faults["kill"], r.faults["pause"], r.faults["partition"], r.ops["ok"],
            r.ops["failed"], r.ops["unknown"], "ERROR" if r.error else r.verdict, r.lost,
            r.locks["holders"], r.locks["overlaps"], r.locks["bad_overlaps"],
            r.locks["fence_violations"], len(r.fallback)]


def print_summary(results):
    rows = [_cells(str(r.index), r) for r in results]
    total = RunResult("all", "")
    for r in results:
        for k in total.faults:
            total.faults[k] += r.faults[k]
        for k in total.ops:
            total.ops[k] += r.ops[k]
        for k in total.locks:
            total.locks[k] += r.locks[k]
        total.lost += r.lost
        total.fallback += r.fallback
    verdicts = [("ERROR" if r.error else r.verdict) for r in results]
    summary = ",".join("%d %s" % (verdicts.count(v), v) for v in sorted(set(verdicts)))
    rows.append(_cells("all", total)[:7] + [summary] + _cells("all", total)[8:])
    widths = [max(len(str(x[i])) for x in rows + [HEADER]) for i in range(len(HEADER))]
    print(_row(HEADER, widths))
    for row in rows:
        print(_row(row, widths))


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv):
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    netmod.sweep_stale_namespaces()
    usable, why = netmod.netns_usable()
    if args.network == "loopback":
        usable, why = False, "--network loopback"
    if not usable and (args.network == "netns" or "partition" in args.fault_kinds):
        print("chaos: cannot inject partitions here (%s); use --faults kill,pause" % why)
        return EXIT_NO_PARTITIONS
    network = (netmod.NetnsNetwork if usable else netmod.LoopbackNetwork)(args.members)
    base_dir = tempfile.mkdtemp(prefix="grid-chaos-", dir=args.workdir)
    print("chaos: server %s, %d members, %d run(s) of %gs, faults %s, seed %d"
          % (args.server, args.members, args.runs, args.seconds, ",".join(args.fault_kinds),
             seed))
    print("chaos: network: %s; work dir %s" % (network.description, base_dir))
    results = []
    try:
        for i in range(args.runs):
            rng = random.Random("%d-%d" % (seed, i))
            t0 = time.monotonic()
            r = run_once(args, i, network, base_dir, rng)
            results.append(r)
            status = ("ERROR " + r.error if r.error else
                      "violation" if r.violation() else
                      "inconclusive" if r.inconclusive() else "clean")
            print("chaos: run %d: %s (%.0fs, %d ops, %d lock attempts, verdict %s)"
                  % (i, status, time.monotonic() - t0, sum(r.ops.values()), r.lock_attempts,
                     r.verdict))
            if r.lock_failures:
                print("  lock calls that failed: %s" % ", ".join(
                    "%s x%d" % kv for kv in sorted(r.lock_failures.items())))
            if r.verdict_line and r.verdict != "linearizable":
                print("  checker: %s" % r.verdict_line)
            for p in r.problems[:MAX_PROBLEMS_SHOWN]:
                print("  " + p)
            if len(r.problems) > MAX_PROBLEMS_SHOWN:
                print("  ... %d more" % (len(r.problems) - MAX_PROBLEMS_SHOWN))
            if args.keep or args.record_only or r.violation() or r.inconclusive():
                print("  kept %s" % r.run_dir)
            else:
                shutil.rmtree(r.run_dir, ignore_errors=True)
    finally:
        network.close()
        if not os.listdir(base_dir):
            os.rmdir(base_dir)
    print()
    print_summary(results)
    if any(r.violation() for r in results):
        return 1
    if any(r.inconclusive() for r in results):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
