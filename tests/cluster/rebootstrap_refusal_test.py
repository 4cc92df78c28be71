#!/usr/bin/python3
"""A member that lost its data is not bootstrapped a second time.

usage: rebootstrap_refusal_test.py --server PATH [--etcdctl PATH] [--keep]

3 members started with --initial-cluster-state new; KEYS keys written. One follower gets
SIGKILL, its data dir is deleted, and it is started again with the same flags (state new,
same name, peer URL and token): it must exit non-zero within REFUSAL_DEADLINE_SECONDS saying
"member <id> has already been bootstrapped", since as a fresh member with the same id it
could count toward a quorum for entries it no longer holds. The other two keep serving. A
member that the cluster does not list, started with state existing, must be refused too.
Then the documented recovery: `member remove <id>`, `member add` with the same peer URL, and
a start with state existing on an empty data dir; its first MemberList answer (asked from the
moment it starts) lists every member the leader lists, and every key written before (and while
it was out) is readable from it with a serializable (local) read. etcd 3.4
and gridkv must both pass (run with --server "$(command -v etcd)" to check the test itself).
"""
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, "..", "compat"))
import cluster  # noqa: E402

import etcd3  # noqa: E402  (Debian's python3-etcd3)

KEYS = 20
REFUSAL_DEADLINE_SECONDS = 30
JOIN_DEADLINE_SECONDS = 60
RECONFIG_DEADLINE_SECONDS = 60
COMMAND_TIMEOUT_SECONDS = 20
POLL_INTERVAL_SECONDS = 0.2
FIRST_ANSWER_POLL_SECONDS = 0.005
PREFIX = "rebootstrap/"
REFUSAL = "has already been bootstrapped"

Failure = cluster.Failure


def ctl(cl, m, *args, check=True):
    return cluster.ctl(cl, [m.endpoint], *args, check=check,
                       timeout_seconds=COMMAND_TIMEOUT_SECONDS)


def poll(what, predicate, deadline_seconds):
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(POLL_INTERVAL_SECONDS)
    raise Failure("not %s within %ds" % (what, deadline_seconds))


def member_ids_by_name(cl, m):
    doc = cluster.etcdctl_json(cl.etcdctl, [m.endpoint], "member", "list")
    if doc is None:
        raise Failure("member list at %s failed" % m.name)
    return {x.get("name", ""): "%x" % x["ID"] for x in doc["members"]}


def reconfigure(cl, m, *args):
    """A membership command, retried while etcd's strict reconfiguration check says the
    cluster is not healthy yet. Returns its stdout."""
    out = {}

    def done():
        r = ctl(cl, m, *args, check=False)
        if r.returncode != 0:
            if "unhealthy cluster" in r.stderr:
                return False
            raise Failure("%s: %s" % (" ".join(args), r.stderr))
        out["stdout"] = r.stdout
        return True
    poll(" ".join(args), done, RECONFIG_DEADLINE_SECONDS)
    return out["stdout"]


def member_ids(cl, m):
    """Sorted hex ids of `m`'s MemberList answer, or None when it does not answer."""
    doc = cluster.etcdctl_json(cl.etcdctl, [m.endpoint], "member", "list")
    if doc is None:
        return None
    return sorted("%x" % x["ID"] for x in doc.get("members", []))


def first_member_list(m):
    """The sorted hex ids of the first MemberList answer of `m`, started just now: asked through
    a fresh gRPC connection every FIRST_ANSWER_POLL_SECONDS from the moment the process starts,
    so that an answer given while it still catches up is seen (etcdctl starts too slowly for
    that). A member that joined answers with the full membership as soon as it serves clients
    (etcd 3.4)."""
    host, port = m.endpoint.split(":")
    deadline = time.monotonic() + JOIN_DEADLINE_SECONDS
    last = None
    while time.monotonic() < deadline:
        if not m.running():
            raise Failure("%s exited with %s before answering MemberList:\n%s"
                          % (m.name, m.proc.returncode, m.log_tail()))
        client = etcd3.client(host=host, port=int(port), timeout=COMMAND_TIMEOUT_SECONDS)
        try:
            return sorted("%x" % x.id for x in client.members)
        except Exception as e:  # not serving yet: any gRPC error
            last = e
        finally:
            client.close()
        time.sleep(FIRST_ANSWER_POLL_SECONDS)
    raise Failure("%s did not answer MemberList within %ds (last error: %s)"
                  % (m.name, JOIN_DEADLINE_SECONDS, last))


def log_size(m):
    try:
        return os.path.getsize(m.log_path)
    except OSError:
        return 0


def log_since(m, offset):
    with open(m.log_path, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def local_value(cl, m, key):
    r = ctl(cl, m, "get", key, "--consistency=s", "--print-value-only", check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def check_refused(m, offset, what):
    if not m.wait_exit(REFUSAL_DEADLINE_SECONDS):
        raise Failure("%s: still running after %ds" % (what, REFUSAL_DEADLINE_SECONDS))
    code = m.proc.returncode
    out = log_since(m, offset)
    if code == 0:
        raise Failure("%s: exited 0:\n%s" % (what, out[-cluster.LOG_TAIL_BYTES:]))
    return code, out


def run(args):
    with cluster.Cluster(args.server, "rebootstrap", 3, args.etcdctl, keep=args.keep) as cl:
        cl.wait_until("a leader", lambda: cl.leader_name() is not None)
        leader = cl.member(cl.leader_name())
        victim = next(m for m in cl.members if m is not leader)
        for i in range(KEYS):
            ctl(cl, leader, "put", "%s%02d" % (PREFIX, i), "v%d" % i)
        victim_id = member_ids_by_name(cl, leader)[victim.name]
        poll("%s has every key" % victim.name,
             lambda: local_value(cl, victim, "%s%02d" % (PREFIX, KEYS - 1)) == "v%d" % (KEYS - 1),
             JOIN_DEADLINE_SECONDS)

        # Lose the member's data and start it as if for the first time.
        victim.expect_exit = True
        victim.proc.kill()
        victim.proc.wait()
        shutil.rmtree(os.path.join(victim.dir, "data"))
        offset = log_size(victim)
        t0 = time.monotonic()
        victim.start(cl.initial_cluster(), "new")
        code, out = check_refused(victim, offset, "%s restarted with state new and no data"
                                  % victim.name)
        if not re.search(r"member %s %s" % (victim_id, REFUSAL), out):
            raise Failure("%s exited %d without \"member %s %s\":\n%s"
                          % (victim.name, code, victim_id, REFUSAL,
                             out[-cluster.LOG_TAIL_BYTES:]))
        line = next(l for l in out.splitlines() if REFUSAL in l)
        print("%s (member %s) refused to bootstrap again in %.1fs, exit %d:\n  %s"
              % (victim.name, victim_id, time.monotonic() - t0, code, line.strip()[:600]))
        victim.proc = None

        # The other two still serve, and the refused start changed nothing.
        ctl(cl, leader, "put", PREFIX + "while-out", "w")
        survivor = next(m for m in cl.members if m is not leader and m is not victim)
        poll("the write while %s was out at %s" % (victim.name, survivor.name),
             lambda: local_value(cl, survivor, PREFIX + "while-out") == "w",
             JOIN_DEADLINE_SECONDS)
        if len(member_ids_by_name(cl, leader)) != 3:
            raise Failure("membership changed after the refused start")

        # A member the cluster does not list cannot join with state existing.
        stranger = cl.add_member("stranger")
        stranger.expect_exit = True
        stranger.start(cl.initial_cluster(), "existing")
        code, out = check_refused(stranger, 0, "a member not added, started with state existing")
        last = [l for l in out.splitlines() if l.strip()][-1:]
        print("a member the cluster does not list, state existing: exit %d: %s"
              % (code, last[0].strip()[:400] if last else ""))
        cl.members.remove(stranger)
        stranger.proc = None

        # The documented recovery: remove, add back, start with state existing on an empty dir.
        reconfigure(cl, leader, "member", "remove", victim_id)
        added = reconfigure(cl, leader, "member", "add", victim.name,
                            "--peer-urls=" + victim.peer_url)
        found = re.search(r'^ETCD_INITIAL_CLUSTER="([^"]*)"', added, re.M)
        if not found:
            raise Failure("member add printed no ETCD_INITIAL_CLUSTER:\n%s" % added)
        shutil.rmtree(os.path.join(victim.dir, "data"), ignore_errors=True)
        victim.expect_exit = False
        want_ids = member_ids(cl, leader)
        if want_ids is None:
            raise Failure("member list at the leader %s failed" % leader.name)
        victim.start(found.group(1), "existing")
        first_ids = first_member_list(victim)
        if first_ids != want_ids:
            raise Failure("the joined %s first answered MemberList with %s, the leader lists %s"
                          % (victim.name, first_ids, want_ids))
        new_id = member_ids_by_name(cl, leader).get(victim.name)
        keys = ["%s%02d" % (PREFIX, i) for i in range(KEYS)] + [PREFIX + "while-out"]
        want = ["v%d" % i for i in range(KEYS)] + ["w"]
        poll("every key readable at the re-added %s" % victim.name,
             lambda: [local_value(cl, victim, k) for k in keys] == want,
             JOIN_DEADLINE_SECONDS)
        cl.wait_until("every member healthy", cl._all_healthy)
        print("%s rejoined as member %s (was %s); all %d keys read locally from it"
              % (victim.name, new_id, victim_id, len(keys)))


if __name__ == "__main__":
    sys.exit(cluster.run_scenario(run))
