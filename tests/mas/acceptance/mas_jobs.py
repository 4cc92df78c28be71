"""Every write of gridmas' scheduled-inspection records and reports, for the acceptance
suite of scheduled jobs.

For KVCluster <c> under the store prefix P:
  P/jobs/last/inspect-<c>   the job's last-run record {"tick", "replica"}, written by the
                            replica that claimed the tick, before the job runs
  P/inspections/<c>         the inspection report, written by that job, stamped with the
                            same "tick" and "replica"

RunLog watches both key prefixes from a start revision on one watch stream and keeps every
put (deduplicated by key and mod revision, so a re-sent event counts once); a failed,
canceled or compacted watch, a delete or a value that is not JSON is an error. runs()
pairs each record with the report written after it and before the cluster's next record;
check_runs() states what "each tick ran exactly once" means over such a list.
"""

import json
import queue
import threading

import grpc
from etcd3 import etcdrpc
from etcd3.utils import increment_last_byte

# How many writes RunLog keeps; a test that watches more is broken.
MAX_WRITES = 10000

RECORD, REPORT = "record", "report"


class Write:
    def __init__(self, kind, cluster, revision, value):
        self.kind, self.cluster, self.revision, self.value = kind, cluster, revision, value

    def __repr__(self):
        return f"{self.kind}({self.cluster} @{self.revision} {self.value})"


class Run:
    """One claimed tick: its record and, once written, its report."""

    def __init__(self, record):
        self.record = record
        self.report = None

    @property
    def tick(self):
        return self.record.value.get("tick")

    @property
    def replica(self):
        return self.record.value.get("replica")

    def __repr__(self):
        report = "none"
        if self.report is not None:
            v = self.report.value
            report = f"@{self.report.revision} {v.get('tick')}/{v.get('replica')}"
        return f"Run(tick {self.tick} by {self.replica} @{self.record.revision}, report {report})"


def header_revision(client):
    """The store's current revision."""
    return client.kvstub.Range(etcdrpc.RangeRequest(key=b"\0"), client.timeout).header.revision


def mod_revision_at(client, key, revision):
    """The mod revision of `key` as of `revision` (0 when absent then)."""
    r = client.kvstub.Range(etcdrpc.RangeRequest(key=key.encode(), revision=revision),
                            client.timeout)
    return r.kvs[0].mod_revision if r.kvs else 0


class RunLog:
    def __init__(self, client, prefix="/gridmas"):
        self.client = client
        self.record_prefix = f"{prefix}/jobs/last/inspect-"
        self.report_prefix = f"{prefix}/inspections/"
        self.lock_prefix = f"{prefix}/jobs/lock/inspect-"  # the inspection locks' queues
        self._lock = threading.Lock()
        self._writes = {}  # (key, mod revision) -> Write; guarded by _lock
        self._errors = []  # guarded by _lock
        self._stopping = threading.Event()
        self._requests = None
        self._call = None
        self._thread = None

    def record_key(self, cluster):
        return self.record_prefix + cluster

    def report_key(self, cluster):
        return self.report_prefix + cluster

    def start(self, start_revision):
        """Watches both prefixes from `start_revision` on one stream of its own (stop() ends
        it; a stream that fails is an error, never restarted silently)."""
        requests = queue.Queue()
        for prefix in (self.record_prefix, self.report_prefix):
            key = prefix.encode()
            requests.put(etcdrpc.WatchRequest(create_request=etcdrpc.WatchCreateRequest(
                key=key, range_end=increment_last_byte(key), start_revision=start_revision)))
        self._requests = requests
        self._call = etcdrpc.WatchStub(self.client.channel).Watch(iter(requests.get, None))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is None:
            return
        self._stopping.set()
        self._requests.put(None)
        self._call.cancel()
        self._thread.join(timeout=10)
        self._thread = None

    def _run(self):
        try:
            for response in self._call:
                self._on(response)
        except grpc.RpcError as e:
            if not self._stopping.is_set():
                with self._lock:
                    self._errors.append(f"watch: {e.code()} {e.details()}")

    def _on(self, response):
        with self._lock:
            if response.compact_revision:
                self._errors.append(f"watch: compacted at {response.compact_revision}")
            if response.canceled and not self._stopping.is_set():
                self._errors.append(f"watch canceled: {response.cancel_reason}")
            for event in response.events:
                key = event.kv.key.decode()
                if event.type != event.PUT:
                    self._errors.append(f"{key} deleted at {event.kv.mod_revision}")
                    continue
                if key.startswith(self.record_prefix):
                    kind, cluster = RECORD, key[len(self.record_prefix):]
                else:
                    kind, cluster = REPORT, key[len(self.report_prefix):]
                try:
                    value = json.loads(event.kv.value)
                except ValueError:
                    self._errors.append(f"{key} @{event.kv.mod_revision}: not JSON")
                    continue
                if len(self._writes) >= MAX_WRITES:
                    self._errors.append(f"more than {MAX_WRITES} writes")
                    return
                self._writes[(key, event.kv.mod_revision)] = Write(
                    kind, cluster, event.kv.mod_revision, value)

    def errors(self):
        with self._lock:
            return list(self._errors)

    def seen(self, key, revision):
        with self._lock:
            return (key, revision) in self._writes

    def writes(self, cluster, from_revision, to_revision=None):
        """The cluster's record and report writes in [from_revision, to_revision], in order."""
        with self._lock:
            out = [w for w in self._writes.values() if w.cluster == cluster and
                   w.revision >= from_revision and
                   (to_revision is None or w.revision <= to_revision)]
        return sorted(out, key=lambda w: w.revision)

    def runs(self, cluster, from_revision, to_revision=None):
        """(runs, stray reports): each record with the report written after it and before the
        next record; a report with no record before it (or a second one) is a stray."""
        runs, strays = [], []
        for w in self.writes(cluster, from_revision, to_revision):
            if w.kind == RECORD:
                runs.append(Run(w))
            elif runs and runs[-1].report is None:
                runs[-1].report = w
            else:
                strays.append(w)
        return runs, strays

    def complete_to(self, clusters):
        """A revision up to which every write of `clusters` has been delivered: the current
        revision once the watch has delivered each key's last write as of that revision;
        None while it has not."""
        cut = header_revision(self.client)
        for cluster in clusters:
            for key in (self.record_key(cluster), self.report_key(cluster)):
                last = mod_revision_at(self.client, key, cut)
                if last and not self.seen(key, last):
                    return None
        return cut


def check_runs(runs, strays, replicas, unreported=()):
    """What is wrong with one cluster's runs over a window (a list of messages; empty when
    every tick ran exactly once): the ticks are consecutive and each claimed once (no gap,
    no duplicate); every record names one of `replicas`; every run has exactly one report
    carrying the record's tick and replica, except the runs in `unreported` (claimed by a
    replica killed while running them: at most once, so they count as run without a
    report); no stray report."""
    problems = []
    ticks = [r.tick for r in runs]
    if not ticks:
        return ["no run observed"]
    if ticks != list(range(ticks[0], ticks[0] + len(ticks))):
        problems.append(f"ticks not consecutive and once each: {ticks}")
    for r in runs:
        if r.replica not in replicas:
            problems.append(f"{r} names no known replica")
        if r.report is None:
            if r not in unreported:
                problems.append(f"{r} has no report")
            continue
        stamp = (r.report.value.get("tick"), r.report.value.get("replica"))
        if stamp != (r.tick, r.replica):
            problems.append(f"{r}: the report says tick {stamp[0]} by {stamp[1]}")
    for s in strays:
        problems.append(f"report with no claimed tick: {s}")
    return problems
