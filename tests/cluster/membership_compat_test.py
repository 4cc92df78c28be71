#!/usr/bin/python3
"""Drives a 3-member cluster of the reference etcd and a 3-member cluster of the
server under test with the same script of real `etcdctl` (API v3) membership
commands and compares what etcdctl prints, step by step.

usage: membership_compat_test.py [--reference PATH] [--server PATH]
                                 [--etcdctl PATH] [--keep] [-v]
  --server defaults to $GRID_SERVER_UNDER_TEST, else the reference (etcd
  against itself, to check the harness and its normalisation).

Members are named m0..m2 (m3 is added as a learner, promoted, moved to,
updated and removed). A step's transcript is every command line followed by
its normalised stdout, stderr and exit status, plus `#` notes for checks the
harness makes itself (leader agreement, learner caught up, removed member
exited). A step passes when both transcripts are equal; a failing step
prints a unified diff and the script exits 1 at the end. Steps depend on
each other (one cluster pair for the whole script).

Normalised (and only these):
  - member ids (hex and decimal) -> <ID-name>, the cluster id -> <CLUSTER>,
    client/peer ports -> <C-name>/<P-name> (the host is kept), temp dirs;
    the name comes from the member's peer URL, so the same member gets the
    same placeholder in both clusters whatever its random id;
  - rows of member lists and endpoint lists are sorted (etcd orders them by
    member id, which is random) and tables are re-rendered without padding;
  - raft term/index, db sizes, `took`, version 3.4[.x];
  - zap client log lines (level, msg, error kept) and runs of identical ones
    (the client's retry count is timing);
  - where the leader's identity matters before it is pinned by move-leader,
    members are named by role (leader / follower / learner) instead.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, "..", "compat"))
import cluster  # noqa: E402
import servers  # noqa: E402
import etcdctl_compat_test as compat  # noqa: E402  (zap-line and JSON-field rules)

CLUSTER_SIZE = 3
NEW_MEMBER = "m3"
COMMAND_TIMEOUT_SECONDS = 60
RECONFIG_RETRY_DEADLINE_SECONDS = 60
CATCH_UP_DEADLINE_SECONDS = 60
REMOVED_EXIT_DEADLINE_SECONDS = 30
POLL_INTERVAL_SECONDS = 0.1
UNKNOWN_MEMBER_ID = "1234abcd"
# Errors that only mean "not yet": etcd refuses reconfiguration until every
# member has been connected for a while (strict reconfig check), and
# promotion until the learner's log is close to the leader's.
TRANSIENT_RECONFIG_ERRORS = (
    "etcdserver: unhealthy cluster",
    "etcdserver: can only promote a learner member which is in sync with leader",
)
TABLE_PLACEHOLDERS = {"TOOK": "<T>", "DB SIZE": "<SIZE>", "RAFT TERM": "<TERM>",
                      "RAFT INDEX": "<INDEX>", "RAFT APPLIED INDEX": "<INDEX>"}


def replace_id(text, id_text, label):
    """Replaces the id `id_text` by `label`. etcdctl prints some ids as %16x: the padding of a
    short id collapses to one separating space (to none at a line start)."""
    def sub(mt):
        at_line_start = mt.start() == 0 or text[mt.start() - 1] == "\n"
        padded = mt.group(0).startswith(" ")
        return (" " if padded and not at_line_start else "") + label
    return re.sub(r" *(?<![0-9a-zA-Z])%s(?![0-9a-zA-Z])" % re.escape(id_text), sub, text)


class Normaliser:
    """Rewrites what legitimately differs between two clusters."""

    def __init__(self, cl):
        self.cl = cl
        self.ids = {}          # id text (hex, %016x, decimal) -> member name or "CLUSTER"
        self.aliases = {}      # member name -> role label, for role-mode commands

    def learn(self, doc):
        """Learns ids from a `member list -w json` document."""
        if not doc:
            return
        self.register(doc["header"]["cluster_id"], "CLUSTER")
        for m in doc.get("members", []):
            name = self.name_of_peer_urls(m.get("peerURLs", []))
            if name:
                self.register(m["ID"], name)

    def register(self, value, name):
        for form in (str(value), "%x" % value, "%016x" % value):
            self.ids[form] = name

    def name_of_peer_urls(self, urls):
        for u in urls:
            port = u.rsplit(":", 1)[-1]
            for m in self.cl.members:
                if port == str(m.peer_port):
                    return m.name
        return None

    def label(self, name):
        if name == "CLUSTER":
            return "<CLUSTER>"
        return "<ID-%s>" % self.aliases.get(name, name)

    def text(self, text):
        text = text.replace(self.cl.tmp, "<TMP>")
        for m in self.cl.members:
            who = self.aliases.get(m.name, m.name)
            for host in ("127.0.0.1", "localhost"):
                text = text.replace("%s:%d" % (host, m.client_port), "%s:<C-%s>" % (host, who))
                text = text.replace("%s:%d" % (host, m.peer_port), "%s:<P-%s>" % (host, who))
        text = re.sub(r"took = [0-9.]+[a-zµ]+", "took = <T>", text)
        text = re.sub(r'(ETCD_INITIAL_CLUSTER=")([^"]*)"',
                      lambda mt: '%s%s"' % (mt.group(1), ",".join(sorted(mt.group(2).split(",")))),
                      text)
        for k in sorted(self.ids, key=len, reverse=True):
            text = replace_id(text, k, self.label(self.ids[k]))
        lines, prev = [], None
        for line in text.split("\n"):
            line = compat.Normaliser.zap_line(line)
            if line.startswith("<log ") and line == prev:
                continue  # a client retry loop: the number of attempts is timing
            lines.append(line)
            prev = line
        return self.tables("\n".join(lines))

    @staticmethod
    def tables(text):
        """Re-renders etcdctl tables unpadded, placeholders in volatile columns, rows sorted."""
        out, header, rows = [], None, []
        for line in text.split("\n"):
            if line.startswith("+"):
                if header is not None and rows:
                    out.extend(sorted(rows))
                    rows = []
                out.append("+")
                continue
            if line.startswith("|"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                if header is None:
                    header = cells
                    out.append("| " + " | ".join(cells) + " |")
                    continue
                cells = [TABLE_PLACEHOLDERS.get(h, c) if c else c
                         for h, c in zip(header, cells)]
                cells = ["<3.4.x>" if h == "VERSION" and compat.VERSION_PATTERN.match(c) else c
                         for h, c in zip(header, cells)]
                rows.append("| " + " | ".join(cells) + " |")
                continue
            header = None
            out.append(line)
        return "\n".join(out)

    def json_value(self, v, key=None):
        if isinstance(v, dict):
            return {k: self.json_value(x, k) for k, x in v.items()}
        if isinstance(v, list):
            items = [self.json_value(x) for x in v]
            # Member lists and per-endpoint lists come in member-id order; other lists keep theirs.
            if key == "members" or (items and all(isinstance(x, dict) and "Endpoint" in x
                                                  for x in items)):
                items.sort(key=lambda x: json.dumps(x, sort_keys=True))
            return items
        if key in compat.NORMALISED_JSON_FIELDS:
            return compat.NORMALISED_JSON_FIELDS[key]
        if key == "version" and isinstance(v, str) and compat.VERSION_PATTERN.match(v):
            return "<3.4.x>"
        if isinstance(v, int) and not isinstance(v, bool) and str(v) in self.ids:
            return self.label(self.ids[str(v)])
        if isinstance(v, str):
            return self.text(v)
        return v

    def output(self, out, sort_lines):
        stripped = out.strip()
        if stripped[:1] in ("{", "["):
            try:
                doc = json.loads(stripped)
            except ValueError:
                doc = None
            if doc is not None:
                return json.dumps(self.json_value(doc), indent=1, sort_keys=True) + "\n"
        out = self.text(out)
        if sort_lines:
            lines = sorted(out.splitlines())
            out = "\n".join(l for i, l in enumerate(lines)
                            if not (l.startswith("<log ") and i and lines[i - 1] == l)) + "\n"
        return out


class Ctx:
    """Runs etcdctl against one cluster and records a transcript."""

    def __init__(self, cl, etcdctl):
        self.cl = cl
        self.etcdctl = etcdctl
        self.norm = Normaliser(cl)
        self.lines = []
        self.removed_id = UNKNOWN_MEMBER_ID
        self.learn()

    def learn(self):
        self.norm.learn(cluster.etcdctl_json(self.etcdctl, self.cl.endpoints(), "member", "list"))

    def member_id(self, name):
        """The hex id of member `name` from the current member list."""
        doc = cluster.etcdctl_json(self.etcdctl, self.cl.endpoints(), "member", "list")
        self.norm.learn(doc)
        for m in (doc or {}).get("members", []):
            if self.norm.name_of_peer_urls(m["peerURLs"]) == name:
                return "%x" % m["ID"]
        raise KeyError("no member %s in %s" % (name, doc))

    def run(self, args, at=None):
        eps = [self.cl.member(n).endpoint for n in at] if at else [self.cl.members[0].endpoint]
        return subprocess.run([self.etcdctl, "--endpoints", ",".join(eps)] + list(args),
                              env=servers.ctl_env(), capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_SECONDS)

    def ctl(self, *args, at=None, sort_lines=False, aliases=None, retry_transient=False):
        """Runs one etcdctl command at members `at` (default m0) and records it.

        retry_transient: re-run (unrecorded) while etcd answers "not yet" for a
        reconfiguration; the last answer is recorded.
        """
        deadline = time.monotonic() + RECONFIG_RETRY_DEADLINE_SECONDS
        while True:
            r = self.run(args, at)
            if not (retry_transient and r.returncode != 0 and time.monotonic() < deadline
                    and any(e in r.stderr for e in TRANSIENT_RECONFIG_ERRORS)):
                break
            time.sleep(POLL_INTERVAL_SECONDS)
        self.learn()
        self.norm.aliases = aliases or {}
        try:
            where = "@" + ",".join(at) if at else "@m0"
            self.lines.append("$ etcdctl %s %s" % (where, self.norm.text(" ".join(args))))
            out = self.norm.output(r.stdout, sort_lines)
            if out.strip():
                self.lines.append(out.rstrip("\n"))
            err = self.norm.output(r.stderr, sort_lines).strip()
            if err:
                self.lines.append("[stderr] " + err.replace("\n", "\n[stderr] "))
            self.lines.append("[rc=%d]" % r.returncode)
        finally:
            self.norm.aliases = {}
        return r

    def note(self, text):
        self.lines.append("# " + text)

    # ---- roles
    def roles(self):
        """{member name: leader|follower|learner} from every running member's status."""
        doc = cluster.etcdctl_json(self.etcdctl, self.cl.endpoints(), "member", "list")
        learners = {self.norm.name_of_peer_urls(m["peerURLs"]) for m in doc["members"]
                    if m.get("isLearner")}
        lead = self.cl.leader_name()
        return {m.name: ("leader" if m.name == lead else
                         "learner" if m.name in learners else "follower")
                for m in self.cl.members if m.running()}

    def wait_leader(self, name=None):
        """Polls until every running member reports the same leader (`name` if given)."""
        def agreed():
            lead = self.cl.leader_name()
            return lead is not None and (name is None or lead == name)
        self.cl.wait_until("agreement on leader %s" % (name or "(any)"), agreed)

    def leader_check(self):
        """Records, role-free, that the members agree on one voting leader."""
        sts = self.cl.statuses()
        doc = cluster.etcdctl_json(self.etcdctl, self.cl.endpoints(), "member", "list")
        voters = {m["ID"] for m in doc["members"] if not m.get("isLearner")}
        leaders = {s["leader"] for s in sts.values()}
        self_leaders = [n for n, s in sts.items() if s["header"]["member_id"] == s["leader"]]
        self.note("members answering status: %d; all report one leader: %s; "
                  "that leader is a listed voter: %s; members calling themselves leader: %d"
                  % (len(sts), len(leaders) == 1, leaders <= voters, len(self_leaders)))


# ---------------------------------------------------------------- steps ----

def step_member_list(c):
    c.ctl("member", "list", sort_lines=True)
    c.ctl("member", "list", "-w", "table")
    c.ctl("member", "list", "-w", "json")


def step_endpoint_status(c):
    c.wait_leader()
    c.leader_check()
    roles = c.roles()
    c.ctl("endpoint", "status", "--cluster", "-w", "table", aliases=roles)
    c.ctl("endpoint", "status", "--cluster", "-w", "json", aliases=roles)


def step_endpoint_health(c):
    c.ctl("endpoint", "health", "--cluster", sort_lines=True)
    c.ctl("endpoint", "health", "--cluster", "-w", "table")


def step_add_learner(c):
    """Raft thesis §4.2.1 (new servers join without a vote until caught up) and §4.1
    (one member at a time)."""
    m = c.cl.add_member(NEW_MEMBER)
    r = c.ctl("member", "add", NEW_MEMBER, "--learner", "--peer-urls=" + m.peer_url,
              retry_transient=True)
    c.ctl("member", "list", "-w", "table")
    c.ctl("member", "list", "-w", "json")
    # At most one learner at a time (etcd 3.4).
    c.ctl("member", "add", "m4", "--learner", "--peer-urls=http://127.0.0.1:1",
          retry_transient=True)
    found = re.search(r'^ETCD_INITIAL_CLUSTER="([^"]*)"', r.stdout, re.M)
    if r.returncode != 0 or not found:
        raise RuntimeError("member add failed: %s %s" % (r.stdout, r.stderr))
    c.cl.start_added(m, found.group(1))
    c.cl.wait_until("%s published its name" % NEW_MEMBER, lambda: published(c, NEW_MEMBER))
    c.ctl("member", "list", "-w", "table")


def published(c, name):
    # A poll: an answer without members (a member that has just joined can serve MemberList
    # before it holds the membership) means "not yet".
    doc = cluster.etcdctl_json(c.etcdctl, c.cl.endpoints(), "member", "list")
    return doc is not None and any(m.get("name") == name and m.get("clientURLs")
                                   for m in doc.get("members", []))


def step_learner(c):
    """Raft thesis §4.2.1: the learner catches up before it may vote."""
    def caught_up():
        sts = c.cl.statuses()
        lead = c.cl.leader_name()
        return (NEW_MEMBER in sts and lead in sts and
                sts[NEW_MEMBER]["raftAppliedIndex"] >= sts[lead]["raftIndex"])
    c.cl.wait_until("learner caught up", caught_up, CATCH_UP_DEADLINE_SECONDS)
    c.note("learner applied index reached the leader's raft index")
    c.wait_leader()
    roles = c.roles()
    c.ctl("endpoint", "status", "--cluster", "-w", "table", aliases=roles)
    # A learner serves no kv requests (so it is not healthy), and cannot be made leader.
    c.ctl("endpoint", "health", "--cluster", sort_lines=True)
    c.ctl("get", "foo", at=[NEW_MEMBER])
    # ... only serializable reads and status: no member list, hashes, alarms or leases.
    c.ctl("get", "foo", "--consistency=s", at=[NEW_MEMBER])
    c.ctl("member", "list", at=[NEW_MEMBER], sort_lines=True)
    c.ctl("endpoint", "hashkv", at=[NEW_MEMBER])
    c.ctl("alarm", "list", at=[NEW_MEMBER])
    c.ctl("lease", "grant", "60", at=[NEW_MEMBER])
    c.ctl("lease", "list", at=[NEW_MEMBER])
    c.ctl("lease", "timetolive", "694d77aa9e38260f", at=[NEW_MEMBER])
    # (keep-alive is refused too, but etcdctl shows etcd's stream refusal as "EOF" or as the
    # error, varying run to run; lease_service_test checks gridkv's.)
    c.ctl("move-leader", c.member_id(NEW_MEMBER), at=[m.name for m in c.cl.members])


def step_promote(c):
    # A learner serves no Cluster call, not even its own promotion.
    c.ctl("member", "promote", c.member_id(NEW_MEMBER), at=[NEW_MEMBER])
    promote_through_follower_while_learner_lags(c)
    c.ctl("member", "promote", c.member_id(NEW_MEMBER), retry_transient=True)
    c.ctl("member", "list", "-w", "table")
    c.ctl("member", "list", "-w", "json")


def promote_through_follower_while_learner_lags(c):
    """Only the leader knows how far a learner's log has come, so a promote sent to a
    follower is checked by the leader too (etcd forwards it). The learner is paused and the
    log grows past it (its match index below 90% of the leader's): refused through a
    follower; then it resumes and catches up."""
    learner = c.cl.member(NEW_MEMBER)
    c.wait_leader()
    follower = next(n for n, role in sorted(c.roles().items()) if role == "follower")
    lead = c.cl.leader_name()
    raft_index = c.cl.statuses()[lead]["raftIndex"]
    learner.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(raft_index // 5 + 10):  # well past the 90% rule
            cluster.ctl(c.cl, [c.cl.member(lead).endpoint], "put", "lag-%d" % i, "v")
        r = c.run(("member", "promote", c.member_id(NEW_MEMBER)), [follower])
    finally:
        learner.proc.send_signal(signal.SIGCONT)
    c.note("promote through a follower while the learner lags: rc=%d %s"
           % (r.returncode, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""))


def step_kv_through_new_member(c):
    c.ctl("put", "cluster-key", "v1", at=[NEW_MEMBER])
    c.ctl("get", "cluster-key", at=[NEW_MEMBER])
    c.ctl("get", "cluster-key", "-w", "json", at=[NEW_MEMBER])
    c.ctl("get", "cluster-key", at=["m1"])


def step_move_leader(c):
    """Raft thesis §3.10: leadership transfer."""
    everyone = [m.name for m in c.cl.members]
    c.wait_leader()
    old = c.cl.leader_name()
    c.ctl("move-leader", c.member_id(NEW_MEMBER), at=everyone, aliases={old: "leader"})
    c.wait_leader(NEW_MEMBER)
    c.leader_check()
    c.ctl("endpoint", "status", "--cluster", "-w", "table")
    c.ctl("move-leader", c.member_id(NEW_MEMBER), at=everyone)      # already leader
    c.ctl("move-leader", c.member_id("m0"), at=["m1", "m2"])         # no leader among them
    c.ctl("move-leader", c.member_id("m0"), at=everyone)
    c.wait_leader("m0")
    c.ctl("endpoint", "status", "--cluster", "-w", "table")
    c.ctl("move-leader", UNKNOWN_MEMBER_ID, at=everyone)


def step_member_update(c):
    port = c.cl.member(NEW_MEMBER).peer_port
    c.ctl("member", "update", c.member_id(NEW_MEMBER),
          "--peer-urls=http://localhost:%d" % port, retry_transient=True)
    c.ctl("member", "list", "-w", "json")
    c.ctl("member", "update", c.member_id(NEW_MEMBER),
          "--peer-urls=" + c.cl.member("m1").peer_url)
    c.ctl("member", "update", UNKNOWN_MEMBER_ID, "--peer-urls=http://127.0.0.1:2")


def step_member_remove(c):
    """Raft thesis §4.2.2: removing a server; the removed server stops."""
    m = c.cl.member(NEW_MEMBER)
    m.expect_exit = True
    c.removed_id = c.member_id(NEW_MEMBER)
    c.ctl("member", "remove", c.removed_id, retry_transient=True)
    c.note("removed member stopped by itself within %ds: %s"
           % (REMOVED_EXIT_DEADLINE_SECONDS, m.wait_exit(REMOVED_EXIT_DEADLINE_SECONDS)))
    c.ctl("member", "list", "-w", "table")
    c.ctl("member", "list", "-w", "json")
    c.ctl("endpoint", "health", "--cluster", sort_lines=True)
    c.ctl("put", "cluster-key", "v2", at=["m1"])
    c.ctl("get", "cluster-key", at=["m2"])


def step_errors(c):
    c.ctl("member", "remove", UNKNOWN_MEMBER_ID)
    c.ctl("member", "remove", c.removed_id)
    c.ctl("member", "promote", c.member_id("m1"))
    c.ctl("member", "promote", UNKNOWN_MEMBER_ID)
    c.ctl("member", "add", "dup", "--peer-urls=" + c.cl.member("m1").peer_url)
    c.ctl("member", "add", "dup", "--learner", "--peer-urls=" + c.cl.member("m2").peer_url)
    c.ctl("member", "list", "-w", "table")


STEPS = [
    ("member_list", step_member_list),
    ("endpoint_status", step_endpoint_status),
    ("endpoint_health", step_endpoint_health),
    ("member_add_learner", step_add_learner),
    ("learner", step_learner),
    ("member_promote", step_promote),
    ("kv_through_new_member", step_kv_through_new_member),
    ("move_leader", step_move_leader),
    ("member_update", step_member_update),
    ("member_remove", step_member_remove),
    ("errors", step_errors),
]


def run(reference, under_test, etcdctl, keep, verbose):
    passed = failed = 0
    clusters = []
    try:
        for binary, label in ((reference, "reference"), (under_test, "under-test")):
            clusters.append(cluster.Cluster(binary, label, CLUSTER_SIZE, etcdctl, keep).start())
        ctxs = [Ctx(cl, etcdctl) for cl in clusters]
        for name, step in STEPS:
            transcripts = []
            for c in ctxs:
                c.lines = []
                t0 = time.monotonic()
                try:
                    step(c)
                except Exception as e:  # recorded: the other side's transcript will differ
                    c.lines.append("# exception: %s" % str(e).split("\n")[0])
                    if verbose:
                        print(str(e))
                if verbose:
                    print("    [%s] %s %.1fs" % (c.cl.label, name, time.monotonic() - t0))
                transcripts.append("\n".join(c.lines).split("\n"))
            if compat.report_step(name, transcripts[0], transcripts[1], verbose):
                passed += 1
            else:
                failed += 1
    finally:
        for cl in clusters:
            cl.close()
    return passed, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", default=servers.DEFAULT_REFERENCE)
    ap.add_argument("--server", default=os.environ.get("GRID_SERVER_UNDER_TEST"))
    ap.add_argument("--etcdctl", default=servers.DEFAULT_ETCDCTL)
    ap.add_argument("--keep", action="store_true", help="keep data dirs and logs")
    ap.add_argument("-v", action="store_true", help="print passing transcripts and timings")
    a = ap.parse_args()
    under_test = a.server or a.reference
    servers.DEFAULT_ETCDCTL_PATH[0] = a.etcdctl
    # ctest's timeout sends SIGTERM: unwind so every member is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    print("reference: %s\nunder test: %s" % (a.reference, under_test))
    try:
        passed, failed = run(a.reference, under_test, a.etcdctl, a.keep, a.v)
    except Exception as e:  # a cluster did not start: nothing to compare
        print("FAIL cluster start: %s" % e)
        passed, failed = 0, len(STEPS)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
