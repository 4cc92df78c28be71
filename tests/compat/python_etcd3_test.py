#!/usr/bin/python3
"""Drives the reference etcd and a server under test through the
python-etcd3 client library (Debian's python3-etcd3) with the same calls and
compares the results.

usage: python_etcd3_test.py [SERVER_BINARY] [--reference PATH] [--only REGEX] [-v]
  SERVER_BINARY defaults to $GRID_SERVER_UNDER_TEST, else the reference.

Each step is (name, function(client, recorder)); the recorder collects
result lines; a step passes when both servers give the same lines. Steps run
in order on one fresh server pair, so revisions are compared as-is. Leases
are granted with explicit ids, so ids need no normalising; member/cluster
ids, raft term/index, db size and the version string (if it matches 3.4[.x])
are normalised. Prints `N passed, M failed` last; exits 1 on any failure.
"""
import argparse
import difflib
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

import etcd3  # noqa: E402
import grpc  # noqa: E402
from etcd3 import etcdrpc  # noqa: E402

WATCH_DEADLINE_SECONDS = 15
CLIENT_TIMEOUT_SECONDS = 10
LEASE_ID = 0x1000
LEASE_ID_2 = 0x2000


class Recorder:
    def __init__(self, member_ids):
        self.lines = []
        self.member_ids = member_ids

    def __call__(self, label, value):
        text = "%s: %s" % (label, value)
        for mid, ph in self.member_ids.items():
            text = text.replace(str(mid), ph)
        self.lines.append(text)

    def call(self, label, fn, *args, **kw):
        """Records fn's result, or the exception's class and gRPC details."""
        try:
            result = fn(*args, **kw)
        except grpc.RpcError as e:
            self(label, "RpcError %s %s" % (e.code(), e.details()))
            return None
        except Exception as e:  # client-library exceptions are part of the contract
            detail = e.args[0] if e.args else ""
            if isinstance(detail, grpc.RpcError):
                detail = "%s %s" % (detail.code(), detail.details())
            self(label, "%s %s" % (type(e).__name__, detail))
            return None
        self(label, result)
        return result


def meta(m):
    if m is None:
        return None
    return dict(key=m.key, create=m.create_revision, mod=m.mod_revision,
                version=m.version, lease=m.lease_id, rev=m.response_header.revision)


def kvs(pairs):
    return [(v, meta(m)) for v, m in pairs]


def header_rev(client):
    return client.get_response("any").header.revision


def raw_range(client, key, revision):
    req = etcdrpc.RangeRequest(key=key.encode(), revision=revision)
    r = client.kvstub.Range(req, CLIENT_TIMEOUT_SECONDS)
    return [(kv.key, kv.value, kv.mod_revision) for kv in r.kvs]


# ---------------------------------------------------------------- steps ----

def step_put_get(c, rec):
    for k, v in [("a", "1"), ("b", "2"), ("foo", "bar"), ("foo/1", "x"), ("foo/2", "y")]:
        r = c.put(k, v)
        rec("put " + k, r.header.revision)
    r = c.put("foo", "bar2", prev_kv=True)
    rec("put prev_kv", (r.prev_kv.value, r.prev_kv.mod_revision))
    v, m = c.get("foo")
    rec("get foo", (v, meta(m)))
    rec("get missing", c.get("missing"))
    rec("get_prefix", kvs(c.get_prefix("foo")))
    rec("get_all desc value", kvs(c.get_all(sort_order="descend", sort_target="value")))
    rec("get_prefix asc create", kvs(c.get_prefix("f", sort_order="ascend", sort_target="create")))
    rec("get_range", kvs(c.get_range("a", "foo")))
    rec("get_all", kvs(c.get_all()))
    rec("get serializable", c.get("a", serializable=True)[0])


def step_delete(c, rec):
    rec("delete existing", c.delete("b"))
    rec("delete missing", c.delete("b"))
    r = c.delete("a", prev_kv=True, return_response=True)
    rec("delete prev_kv", (r.deleted, [(kv.key, kv.value) for kv in r.prev_kvs]))
    c.put("p/1", "1")
    c.put("p/2", "2")
    r = c.delete_prefix("p/")
    rec("delete_prefix", (r.deleted, r.header.revision))


def step_txn(c, rec):
    t = c.transactions
    ok, resp = c.transaction(compare=[t.value("foo") == "bar2", t.version("foo") > 0],
                             success=[t.put("t1", "one"), t.get("foo")],
                             failure=[t.put("t1", "fail")])
    rec("txn success", (ok, len(resp), [[(v, meta(m)) for v, m in r] if isinstance(r, list)
                                         else type(r).__name__ for r in resp]))
    ok, resp = c.transaction(compare=[t.mod("foo") < 1],
                             success=[t.put("t2", "x")],
                             failure=[t.delete("t1"), t.put("t3", "y")])
    rec("txn failure", (ok, len(resp)))
    ok, _ = c.transaction(compare=[t.create("t3") != 0], success=[], failure=[])
    rec("txn create", ok)
    rec("after txn", kvs(c.get_prefix("t")))
    rec.call("duplicate key", c.transaction, compare=[],
             success=[t.put("d", "1"), t.put("d", "2")], failure=[])


def step_replace(c, rec):
    c.put("r", "v1")
    rec("replace ok", c.replace("r", "v1", "v2"))
    rec("replace stale", c.replace("r", "v1", "v3"))
    rec("value", c.get("r")[0])
    rec("put_if_not_exists new", c.put_if_not_exists("r2", "x"))
    rec("put_if_not_exists old", c.put_if_not_exists("r2", "y"))


def step_lease(c, rec):
    lease = c.lease(600, lease_id=LEASE_ID)
    rec("grant", (lease.id, lease.ttl))
    c.put("lk1", "v", lease=lease)
    c.put("lk2", "v", lease=LEASE_ID)
    rec("granted_ttl", lease.granted_ttl)
    rec("remaining within ttl", 0 < lease.remaining_ttl <= 600)
    rec("keys", sorted(lease.keys))
    rr = list(lease.refresh())
    rec("refresh", [(r.ID, r.TTL) for r in rr])
    rec.call("duplicate grant", lambda: c.lease(60, lease_id=LEASE_ID).id)
    rec("lk1 lease", meta(c.get("lk1")[1]))
    lease.revoke()
    rec("after revoke", list(c.get_prefix("lk")))
    info = c.get_lease_info(LEASE_ID)
    rec("info after revoke", (info.ID, info.TTL))
    rec.call("revoke unknown", lambda: c.revoke_lease(LEASE_ID_2) and None)
    rec.call("refresh unknown", lambda: [(r.ID, r.TTL) for r in c.refresh_lease(LEASE_ID_2)])
    rec.call("ttl unknown", lambda: c.get_lease_info(LEASE_ID_2).TTL)
    rec.call("put unknown lease", lambda: c.put("nl", "v", lease=LEASE_ID_2).header.revision)


def collect_watch(start, wait_key, register):
    """Registers a watch via `register(callback)`, waits for wait_key."""
    events, done = [], threading.Event()

    def cb(resp):
        if isinstance(resp, Exception):
            events.append(("error", type(resp).__name__))
            done.set()
            return
        for ev in resp.events:
            events.append((type(ev).__name__, ev.key, ev.value, ev.mod_revision))
            if ev.key == wait_key:
                done.set()
    watch_id = register(cb)
    done.wait(WATCH_DEADLINE_SECONDS)
    return watch_id, events


def step_watch_callback(c, rec):
    start = header_rev(c) + 1
    for k, v in [("w/a", "1"), ("w/b", "2"), ("w/a", "3")]:
        c.put(k, v)
    c.delete("w/b")
    c.put("w/end", "x")
    wid, events = collect_watch(start, b"w/end", lambda cb: c.add_watch_prefix_callback(
        "w/", cb, start_revision=start))
    c.cancel_watch(wid)
    rec("history events", events)
    # single key, live, start_revision so a late registration loses nothing
    start = header_rev(c) + 1
    holder = {}

    def register(cb):
        holder["id"] = c.add_watch_callback("live", cb, start_revision=start)
        return holder["id"]
    t = threading.Thread(target=lambda: holder.update(r=collect_watch(start, b"live", register)))
    t.start()
    c.put("live", "1")
    t.join(WATCH_DEADLINE_SECONDS + 1)
    c.cancel_watch(holder["id"])
    rec("live events", holder.get("r", (None, []))[1])


def step_watch_iterator(c, rec):
    start = header_rev(c) + 1
    c.put("it/1", "a")
    c.put("it/2", "b")
    c.put("it/stop", "c")
    it, cancel = c.watch_prefix("it/", start_revision=start)
    out = []

    def consume():
        for ev in it:
            out.append((type(ev).__name__, ev.key, ev.value, ev.mod_revision))
            if ev.key == b"it/stop":
                break
    t = threading.Thread(target=consume, daemon=True)
    t.start()
    t.join(WATCH_DEADLINE_SECONDS)
    cancel()
    rec("iterator events", out)


def step_lock(c, rec):
    lock = c.lock("mylock", ttl=60)
    rec("acquire", lock.acquire(timeout=10))
    rec("is_acquired", lock.is_acquired())
    # A contended acquire() retries through tenacity's wait hook, whose
    # signature this packaged python-etcd3 gets wrong; only uncontended
    # acquisitions are exercised.
    other = c.lock("mylock", ttl=60)
    rec("other is_acquired", other.is_acquired())
    rec("lock keys", [m.key for _, m in c.get_prefix("/locks/")])
    rec("release", lock.release())
    rec("release again", lock.release())
    lock.lease.revoke()
    rec("other acquire after release", other.acquire(timeout=10))
    rec("other is_acquired", other.is_acquired())
    rec("release 2", other.release())
    other.lease.revoke()
    rec("lock keys left", list(c.get_prefix("/locks/")))


def step_status_members(c, rec):
    st = c.status()
    rec("status version", "<3.4.x>" if re.match(r"^3\.4(\.\d+)?$", st.version) else st.version)
    rec("status db_size > 0", st.db_size > 0)
    rec("status leader", st.leader.id if st.leader else None)
    rec("members", [(m.id, m.name, len(m.peer_urls), len(m.client_urls)) for m in c.members])
    rec("alarms", list(c.list_alarms()))


def step_compaction(c, rec):
    c.put("cmp", "1")
    c.put("cmp", "2")
    rev = header_rev(c)
    rec("range at rev-1", raw_range(c, "cmp", rev - 1))
    c.compact(rev - 1, physical=True)
    rec.call("range at compacted rev", raw_range, c, "cmp", rev - 2)
    rec("range at compact rev", raw_range(c, "cmp", rev - 1))
    rec.call("compact again", c.compact, rev - 2)
    rec.call("compact future", c.compact, rev + 1000)
    rec.call("range future", raw_range, c, "cmp", rev + 1000)
    _, events = collect_watch(2, b"never", lambda cb: c.add_watch_callback(
        "cmp", cb, start_revision=2))
    rec("watch compacted", events)
    c.defragment()
    rec("after defrag", c.get("cmp")[0])


STEPS = [
    ("put_get", step_put_get),
    ("delete", step_delete),
    ("txn", step_txn),
    ("replace", step_replace),
    ("lease", step_lease),
    ("watch_callback", step_watch_callback),
    ("watch_iterator", step_watch_iterator),
    ("lock", step_lock),
    ("status_members", step_status_members),
    ("compaction", step_compaction),
]


def member_ids(server):
    c = etcd3.client("127.0.0.1", server.client_port, timeout=CLIENT_TIMEOUT_SECONDS)
    ids = {}
    for i, m in enumerate(c.members):
        ids[m.id] = "<MEMBER%d>" % (i + 1)
    ids[c.get_response("x").header.cluster_id] = "<CLUSTER1>"
    c.close()
    return ids


def quiet_closed_channel(args):
    """Watch threads of closed clients report 'Channel closed'; not a result."""
    if isinstance(args.exc_value, ValueError) and "Channel closed" in str(args.exc_value):
        return
    sys.__excepthook__(args.exc_type, args.exc_value, args.exc_traceback)


def main():
    threading.excepthook = quiet_closed_channel
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("server", nargs="?", default=os.environ.get("GRID_SERVER_UNDER_TEST"))
    ap.add_argument("--reference", default=servers.DEFAULT_REFERENCE)
    ap.add_argument("--etcdctl", default=servers.DEFAULT_ETCDCTL)
    ap.add_argument("--only", help="regex of step names to run")
    ap.add_argument("-v", action="store_true", help="print passing results too")
    a = ap.parse_args()
    under_test = a.server or a.reference
    servers.DEFAULT_ETCDCTL_PATH[0] = a.etcdctl
    print("reference: %s\nunder test: %s" % (a.reference, under_test))
    steps = [(n, f) for n, f in STEPS if not a.only or re.search(a.only, n)]
    passed = failed = 0
    with servers.Server(a.reference, "reference") as ref, \
            servers.Server(under_test, "under-test") as sut:
        pairs = [(etcd3.client("127.0.0.1", s.client_port, timeout=CLIENT_TIMEOUT_SECONDS),
                  member_ids(s)) for s in (ref, sut)]
        for name, fn in steps:
            results = []
            for client, ids in pairs:
                rec = Recorder(ids)
                try:
                    fn(client, rec)
                except Exception as e:  # a broken step must not stop the others
                    rec("exception", repr(e))
                results.append(rec.lines)
            if results[0] == results[1]:
                passed += 1
                print("PASS %s" % name)
                if a.v:
                    print("    " + "\n    ".join(results[0]))
            else:
                failed += 1
                print("FAIL %s" % name)
                print("    " + "\n    ".join(difflib.unified_diff(
                    results[0], results[1], "reference", "under-test", lineterm="")))
        for client, _ in pairs:
            client.close()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
