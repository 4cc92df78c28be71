#!/usr/bin/python3
"""Drives the reference etcd and a server under test with the same script of
real `etcdctl` (API v3) commands and compares what etcdctl prints.

usage: etcdctl_compat_test.py [SERVER_BINARY] [--reference PATH]
                              [--etcdctl PATH] [--only REGEX] [-v]
  SERVER_BINARY defaults to $GRID_SERVER_UNDER_TEST, else the reference
  (etcd against itself, to check the harness).

Each step is (name, commands); a step's transcript is every command line
followed by its normalised stdout, stderr and exit status. A step passes
when both transcripts are equal; a failing step prints a unified diff and
the remaining steps still run. Steps share one server pair per STEP GROUP,
in order, so revisions are compared as-is ("on a fresh store the same
commands give the same revisions").

Normalised (and only these): member/cluster/lease ids (-> <MEMBER1>,
<CLUSTER1>, <ID1>.. in order of first appearance, hex and decimal), the
client/peer ports and temp dirs, zap client log lines (reduced to
level+msg+error), lease `remaining(Ns)`, health-check `took`, and in JSON
output the fields in NORMALISED_JSON_FIELDS (raft term/index, db sizes,
server version if it matches 3.4[.x], the hash in the general hashkv step).
Prints `N passed, M failed` last; exits 1 if any step failed.
"""
import argparse
import difflib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

COMMAND_TIMEOUT_SECONDS = 30
BACKGROUND_DEADLINE_SECONDS = 15
POLL_INTERVAL_SECONDS = 0.05
QUOTA_BYTES = 256 * 1024
QUOTA_VALUE_BYTES = 8 * 1024
QUOTA_MAX_WRITES = 400
LIMIT_MAX_REQUEST_BYTES = 4096
LIMIT_MAX_TXN_OPS = 4
SNAPSHOT_TRAILER_BYTES = 32  # SHA-256 of the preceding bytes
SNAPSHOT_ALIGN_BYTES = 512

NORMALISED_JSON_FIELDS = {
    "raft_term": "<TERM>", "raftTerm": "<TERM>",
    "raftIndex": "<INDEX>", "raftAppliedIndex": "<INDEX>",
    "dbSize": "<SIZE>", "dbSizeInUse": "<SIZE>",
    "took": "<T>",
}
VERSION_PATTERN = re.compile(r"^3\.4(\.\d+)?$")


class Normaliser:
    """Per-server rewriting of values that legitimately differ."""

    def __init__(self, server):
        self.server = server
        self.ids = {}          # text form -> placeholder
        self.counters = {}
        self.normalise_hash = True

    def register(self, value, kind):
        """Registers an id given as int; both hex and decimal forms map."""
        if str(value) in self.ids:
            return
        n = self.counters.get(kind, 0) + 1
        self.counters[kind] = n
        ph = "<%s%d>" % (kind, n)
        self.ids[str(value)] = ph
        self.ids["%x" % value] = ph
        self.ids["%016x" % value] = ph

    def learn(self, text):
        # etcd prints lease ids as %016x (lease grant, lock/elect keys).
        for m in re.finditer(r"(?<![0-9a-zA-Z])([0-9a-f]{16})(?![0-9a-zA-Z])", text):
            self.register(int(m.group(1), 16), "ID")
        # Lock and election keys carry the session's lease id as %x: no leading zeros, so an
        # id below 2^60 has fewer than 16 digits there and is not caught above.
        for m in re.finditer(r"(?:mylock|myelection)/([0-9a-f]{1,16})(?![0-9a-zA-Z])", text):
            self.register(int(m.group(1), 16), "ID")

    def text(self, text):
        self.learn(text)
        s = self.server
        text = text.replace(s.tmp, "<TMP>")
        for host in ("127.0.0.1", "localhost"):
            text = text.replace("%s:%d" % (host, s.client_port), "<CLIENT>")
            text = text.replace("%s:%d" % (host, s.peer_port), "<PEER>")
        text = re.sub(r"remaining\(-?\d+s\)", "remaining(<N>s)", text)
        text = re.sub(r"took = [0-9.]+[a-zµ]+", "took = <T>", text)
        # etcd lists a lease's keys in map order (unspecified): compare them as a set.
        text = re.sub(r"attached keys\(\[([^\]]*)\]\)",
                      lambda m: "attached keys([%s])" % " ".join(sorted(m.group(1).split())), text)
        lines = [self.zap_line(l) for l in text.split("\n")]
        text = "\n".join(lines)
        for k in sorted(self.ids, key=len, reverse=True):
            text = re.sub(r"(?<![0-9a-zA-Z])%s(?![0-9a-zA-Z])" % re.escape(k), self.ids[k], text)
        return text

    @staticmethod
    def zap_line(line):
        if not line.startswith('{"level":'):
            return line
        try:
            rec = json.loads(line)
        except ValueError:
            return line
        keep = ["level=%s" % rec.get("level"), "msg=%s" % rec.get("msg")]
        if "error" in rec:
            keep.append("error=%s" % rec["error"])
        return "<log %s>" % " ".join(keep)

    def json_value(self, v, key=None):
        if isinstance(v, dict):
            return {k: self.json_value(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [self.json_value(x) for x in v]
        if key in NORMALISED_JSON_FIELDS:
            return NORMALISED_JSON_FIELDS[key]
        if key == "version" and isinstance(v, str) and VERSION_PATTERN.match(v):
            return "<3.4.x>"
        if key == "hash" and self.normalise_hash:
            return "<HASH>"
        if key == "Endpoint":
            return self.text(v)
        if isinstance(v, (int, str)) and str(v) in self.ids:
            return self.ids[str(v)]
        if isinstance(v, str):
            return self.text(v)
        return v

    def output(self, out):
        stripped = out.strip()
        if stripped[:1] in ("{", "["):
            try:
                doc = json.loads(stripped)
            except ValueError:
                return self.text(out)
            return json.dumps(self.json_value(doc), indent=1, sort_keys=True) + "\n"
        return self.text(out)


class Ctx:
    """Runs etcdctl against one server and records a transcript."""

    def __init__(self, server, etcdctl):
        self.server = server
        self.etcdctl = etcdctl
        self.norm = Normaliser(server)
        self.lines = []
        self.work = os.path.join(server.tmp, "work")
        os.makedirs(self.work, exist_ok=True)
        self.learn_cluster()

    def argv(self, args):
        return [self.etcdctl, "--endpoints", self.server.endpoint] + list(args)

    def learn_cluster(self):
        r = subprocess.run(self.argv(["member", "list", "-w", "json"]), env=servers.ctl_env(),
                           capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS)
        doc = json.loads(r.stdout)
        self.norm.register(doc["header"]["cluster_id"], "CLUSTER")
        for m in doc.get("members", []):
            self.norm.register(m["ID"], "MEMBER")

    def ctl(self, *args, stdin=None, sort_lines=False, quiet=False):
        """Runs one etcdctl command; returns (rc, raw stdout, raw stderr)."""
        r = subprocess.run(self.argv(args), env=servers.ctl_env(), input=stdin,
                           capture_output=True, text=True, cwd=self.work,
                           timeout=COMMAND_TIMEOUT_SECONDS)
        if not quiet:
            self.record(args, r.returncode, r.stdout, r.stderr, stdin, sort_lines)
        return r.returncode, r.stdout, r.stderr

    def record(self, args, rc, out, err, stdin=None, sort_lines=False):
        self.lines.append("$ etcdctl " + self.norm.text(" ".join(args)))
        if stdin is not None:
            self.lines.append("  <stdin> " + repr(stdin))
        out = self.norm.output(out)
        if sort_lines:
            out = "\n".join(sorted(out.splitlines())) + "\n"
        if out.strip():
            self.lines.append(out.rstrip("\n"))
        err = self.norm.text(err).strip()
        if err:
            self.lines.append("[stderr] " + err.replace("\n", "\n[stderr] "))
        self.lines.append("[rc=%d]" % rc)

    def note(self, text):
        self.lines.append("# " + text)

    def background(self, *args):
        return Background(self, args)


class Background:
    """An etcdctl process with a bounded lifetime (watch, elect)."""

    def __init__(self, ctx, args):
        self.ctx, self.args = ctx, args
        self.out_path = tempfile.mktemp(dir=ctx.work, suffix=".out")
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen(ctx.argv(args), env=servers.ctl_env(), cwd=ctx.work,
                                     stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True)

    def text(self):
        with open(self.out_path) as f:
            return f.read()

    def wait_for(self, needle):
        """Polls until `needle` is printed or the deadline passes."""
        deadline = time.monotonic() + BACKGROUND_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if needle in self.text() or self.proc.poll() is not None:
                break
            time.sleep(POLL_INTERVAL_SECONDS)
        return needle in self.text()

    def stop(self, record=True):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(servers.STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        if record:
            self.ctx.lines.append("$ etcdctl %s &  (stopped)" % self.ctx.norm.text(" ".join(self.args)))
            self.ctx.lines.append(self.ctx.norm.text(self.text()).rstrip("\n"))


# ---------------------------------------------------------------- steps ----
# A step is (name, commands): a list of argument lists for etcdctl, or a
# callable(ctx) for steps that need background processes or files.

def ctl(*args, **kw):
    return lambda c: c.ctl(*args, **kw)


TXN_SUCCESS = 'mod("t1") = "0"\n\nput t1 one\nput t2 two\nget t1\n\nput t3 three\n\n'
TXN_FAILURE = 'value("t1") = "nope"\n\nput t4 four\n\nget t2\ndel t1\n\n'


def watch_history(c):
    rc, out, _ = c.ctl("get", "w", "-w", "json", quiet=True)
    start = json.loads(out)["header"]["revision"] + 1
    for args in (("put", "w/a", "1"), ("put", "w/b", "2"), ("put", "w/a", "3"),
                 ("del", "w/b"), ("put", "w/end", "x")):
        c.ctl(*args)
    bg = c.background("watch", "--prefix", "w/", "--rev", str(start), "--prev-kv")
    bg.wait_for("w/end")
    bg.stop()


def watch_live(c):
    rc, out, _ = c.ctl("get", "w", "-w", "json", quiet=True)
    nxt = json.loads(out)["header"]["revision"] + 1
    # --rev makes the watch see these writes even if it registers late.
    bg = c.background("watch", "--prefix", "live/", "--rev", str(nxt))
    c.ctl("put", "live/1", "a")
    c.ctl("put", "other", "b")
    c.ctl("put", "live/2", "c")
    c.ctl("put", "live/done", "d")
    bg.wait_for("live/done")
    bg.stop()


def lock_step(c):
    c.ctl("lock", "mylock", "--", "sh", "-c", 'echo "held $ETCD_LOCK_KEY $ETCD_LOCK_REV"')
    c.ctl("get", "mylock", "--prefix")


def elect_step(c):
    leader = c.background("elect", "myelection", "p1")
    leader.wait_for("p1")
    c.ctl("get", "myelection", "--prefix", "--keys-only")
    observer = c.background("elect", "-l", "myelection")
    observer.wait_for("p1")
    observer.stop()
    leader.stop()


def lease_step(c):
    rc, out, _ = c.ctl("lease", "grant", "600")
    lease = out.split()[1] if rc == 0 else "0"
    rc, out, _ = c.ctl("lease", "grant", "900")
    lease2 = out.split()[1] if rc == 0 else "0"
    c.ctl("put", "lk1", "v", "--lease", lease)
    c.ctl("put", "lk2", "v", "--lease", lease)
    c.ctl("lease", "keep-alive", "--once", lease)
    c.ctl("lease", "timetolive", lease)
    c.ctl("lease", "timetolive", "--keys", lease)
    c.ctl("lease", "list", sort_lines=True)
    c.ctl("get", "lk1", "-w", "json")
    c.ctl("lease", "revoke", lease)
    c.ctl("get", "lk", "--prefix")
    c.ctl("lease", "timetolive", lease)
    c.ctl("lease", "revoke", lease2)


def lease_errors(c):
    c.ctl("lease", "revoke", "1234")
    c.ctl("lease", "keep-alive", "--once", "1234")
    c.ctl("lease", "timetolive", "1234")
    c.ctl("put", "nolease", "v", "--lease", "1234")


def snapshot_step(c):
    path = os.path.join(c.work, "snap.db")
    c.ctl("snapshot", "save", path)
    data = open(path, "rb").read()
    body, trailer = data[:-SNAPSHOT_TRAILER_BYTES], data[-SNAPSHOT_TRAILER_BYTES:]
    c.note("size %% %d == %d: %s" % (SNAPSHOT_ALIGN_BYTES, SNAPSHOT_TRAILER_BYTES,
                                      len(data) % SNAPSHOT_ALIGN_BYTES == SNAPSHOT_TRAILER_BYTES))
    c.note("trailer is sha256(body): %s" % (hashlib.sha256(body).digest() == trailer))
    c.snapshot_path = path


def snapshot_restore_step(c):
    """gridkv only: offline restore, start on the new dir, compare all kvs."""
    if servers.is_reference_etcd(c.server.binary) or not getattr(c, "snapshot_path", None):
        c.note("restore compared (gridkv) or skipped (etcd)")
        return
    rc, before, _ = c.ctl("get", "", "--prefix", "-w", "json", quiet=True)
    new_dir = os.path.join(c.server.tmp, "restored")
    r = subprocess.run([c.server.binary, "snapshot", "restore", c.snapshot_path,
                        "--data-dir", new_dir], capture_output=True, text=True,
                       timeout=COMMAND_TIMEOUT_SECONDS)
    if r.returncode != 0:
        c.note("restore failed rc=%d: %s" % (r.returncode, r.stderr.strip()))
        return
    with servers.Server(c.server.binary, "restored", data_dir=new_dir) as restored:
        after = subprocess.run(
            [c.etcdctl, "--endpoints", restored.endpoint, "get", "", "--prefix", "-w", "json"],
            env=servers.ctl_env(), capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT_SECONDS).stdout
    same = json.loads(before).get("kvs") == json.loads(after).get("kvs")
    c.note("restore compared (gridkv) or skipped (etcd)" if same
           else "restored kvs differ:\n%s\n---\n%s" % (before, after))


def hashkv_exact(c):
    c.norm.normalise_hash = False
    c.ctl("endpoint", "hashkv", "-w", "json")
    c.norm.normalise_hash = True


def quota_step(c):
    value = "q" * QUOTA_VALUE_BYTES
    writes = 0
    for i in range(QUOTA_MAX_WRITES):
        rc, out, err = c.ctl("put", "q%04d" % i, value, quiet=True)
        if rc != 0:
            c.record(["put", "q....", "<value>"], rc, out, err)
            break
        writes += 1
    print("    [%s] %d puts of %d bytes before NOSPACE" % (c.server.label, writes,
                                                          QUOTA_VALUE_BYTES))
    c.ctl("alarm", "list")
    c.ctl("put", "after", "x")
    rc, out, _ = c.ctl("get", "q0000", "--print-value-only", quiet=True)
    c.note("get during NOSPACE: rc=%d value intact=%s" % (rc, out.rstrip("\n") == value))
    c.ctl("del", "q0000")
    c.ctl("endpoint", "status", "-w", "json", quiet=True)
    rc, out, _ = c.ctl("get", "q", "-w", "json", quiet=True)
    rev = json.loads(out)["header"]["revision"]
    rc, out, err = c.ctl("del", "q", "--prefix", quiet=True)
    c.note("del --prefix rc=%d" % rc)
    rc, out, err = c.ctl("compaction", "--physical", str(rev), quiet=True)
    c.note("compaction rc=%d" % rc)
    c.ctl("defrag")
    c.ctl("alarm", "list")
    c.ctl("alarm", "disarm")
    c.ctl("alarm", "list")
    c.ctl("put", "after", "x")
    c.ctl("get", "after", "--print-value-only")


MAIN_STEPS = [
    ("put", [ctl("put", "foo", "bar"), ctl("put", "foo", "bar2"), ctl("put", "a", "1"),
             ctl("put", "b", "2"), ctl("put", "c", "3"), ctl("put", "foo1", "x"),
             ctl("put", "foo2", "y"), ctl("put", "zeta", "z"), ctl("put", "foo", "bar3", "--prev-kv"),
             ctl("put", "-w", "json", "jkey", "jval")]),
    ("get", [ctl("get", "foo"), ctl("get", "missing"), ctl("get", "foo", "--prefix"),
             ctl("get", "foo", "--prefix", "--limit", "2"), ctl("get", "foo", "--rev", "2"),
             ctl("get", "foo", "--rev", "1"), ctl("get", "a", "d"),
             ctl("get", "", "--prefix", "--sort-by", "VALUE", "--order", "DESCEND"),
             ctl("get", "", "--prefix", "--sort-by", "MODIFY", "--order", "ASCEND", "--keys-only"),
             ctl("get", "", "--prefix", "--sort-by", "CREATE", "--order", "DESCEND", "--limit", "3"),
             ctl("get", "foo", "--prefix", "--keys-only"), ctl("get", "foo", "--print-value-only"),
             ctl("get", "foo", "-w", "json"), ctl("get", "foo", "--prefix", "-w", "json"),
             ctl("get", "c", "--from-key"), ctl("get", "", "--from-key", "--keys-only", "-w", "json"),
             ctl("get", "b", "--from-key", "--limit", "2", "-w", "json"),
             ctl("get", "foo", "-w", "fields"), ctl("get", "foo", "--consistency", "s"),
             ctl("get", "foo", "--rev", "1000")]),
    ("del", [ctl("del", "missing"), ctl("del", "zeta", "--prev-kv"), ctl("del", "foo", "--prefix"),
             ctl("put", "foo", "again"), ctl("del", "a", "c"), ctl("get", "", "--prefix", "-w", "json"),
             ctl("del", "x", "--from-key", "--prev-kv")]),
    ("txn", [lambda c: c.ctl("txn", stdin=TXN_SUCCESS), lambda c: c.ctl("txn", stdin=TXN_FAILURE),
             lambda c: c.ctl("txn", "-w", "json", stdin=TXN_SUCCESS),
             lambda c: c.ctl("txn", "-i", stdin='version("t2") > "0"\n\nget t --prefix\n\n\n'),
             lambda c: c.ctl("txn", stdin='create("zz") = "0"\n\nput zz 1\n\n\n'),
             lambda c: c.ctl("txn", stdin="bad compare\n\n\n\n")]),
    ("watch_history", [watch_history]),
    ("watch_live", [watch_live]),
    ("lease", [lease_step]),
    ("lease_errors", [lease_errors]),
    ("lock", [lock_step]),
    ("elect", [elect_step]),
    ("member_list", [ctl("member", "list"), ctl("member", "list", "-w", "json")]),
    ("endpoint", [ctl("endpoint", "health"), ctl("endpoint", "health", "-w", "json"),
                  ctl("endpoint", "status", "-w", "json"), ctl("endpoint", "hashkv", "-w", "json")]),
    ("alarm_list_empty", [ctl("alarm", "list")]),
    ("compaction", [ctl("put", "cmp", "1"), ctl("put", "cmp", "2"), ctl("compaction", "4"),
                    ctl("get", "foo", "--rev", "3"), ctl("get", "foo", "--rev", "4"),
                    ctl("compaction", "2"), ctl("compaction", "100000"),
                    lambda c: (lambda bg: (bg.wait_for("compacted"), bg.stop()))(
                        c.background("watch", "cmp", "--rev", "2")),
                    ctl("get", "cmp", "-w", "json")]),
    ("defrag", [ctl("defrag"), ctl("get", "cmp")]),
    ("snapshot", [snapshot_step, snapshot_restore_step]),
]

LIMIT_FLAGS = ["--max-request-bytes", str(LIMIT_MAX_REQUEST_BYTES),
               "--max-txn-ops", str(LIMIT_MAX_TXN_OPS)]
LIMIT_STEPS = [
    ("request_too_large", [ctl("put", "big", "v" * (2 * LIMIT_MAX_REQUEST_BYTES)),
                           ctl("put", "small", "v" * 100), ctl("get", "big")]),
    ("too_many_txn_ops", [
        lambda c: c.ctl("txn", stdin="\n" + "".join("put k%d v\n" % i for i in range(LIMIT_MAX_TXN_OPS + 1)) + "\n\n"),
        lambda c: c.ctl("txn", stdin="\n" + "".join("put k%d v\n" % i for i in range(LIMIT_MAX_TXN_OPS)) + "\n\n"),
        ctl("get", "k", "--prefix", "--keys-only", "-w", "json")]),
    ("duplicate_key_in_txn", [lambda c: c.ctl("txn", stdin="\nput d 1\nput d 2\n\n\n"),
                              lambda c: c.ctl("txn", stdin="\nput d 1\ndel d\n\n\n"),
                              lambda c: c.ctl("txn", stdin="\nput d 1\nget d\n\n\n")]),
    # Lease ids are random and part of every kv's hash, so the exact hash is
    # only comparable in a group that never attaches a lease.
    ("hashkv_exact", [hashkv_exact]),
]

QUOTA_STEPS = [("quota_nospace", [quota_step])]

GROUPS = [
    ("main", [], MAIN_STEPS),
    ("limits", LIMIT_FLAGS, LIMIT_STEPS),
    ("quota", ["--quota-backend-bytes", str(QUOTA_BYTES)], QUOTA_STEPS),
]


def run_group(flags, steps, reference, under_test, etcdctl, only, verbose):
    selected = [(n, cmds) for n, cmds in steps if not only or re.search(only, n)]
    if not selected:
        return 0, 0
    passed = failed = 0
    with servers.Server(reference, "reference", flags) as ref, \
            servers.Server(under_test, "under-test", flags) as sut:
        ctxs = [Ctx(ref, etcdctl), Ctx(sut, etcdctl)]
        for name, cmds in selected:
            transcripts = []
            for c in ctxs:
                c.lines = []
                for cmd in cmds:
                    try:
                        cmd(c)
                    except Exception as e:  # a broken step must not stop the others
                        c.lines.append("# exception: %r" % e)
                transcripts.append("\n".join(c.lines).split("\n"))
            if report_step(name, transcripts[0], transcripts[1], verbose):
                passed += 1
            else:
                failed += 1
    return passed, failed


def report_step(name, reference, under_test, verbose):
    """Prints PASS or FAIL (with a unified diff) for one step's transcripts; True on a match."""
    if reference == under_test:
        print("PASS %s" % name)
        if verbose:
            print("    " + "\n    ".join(reference))
        return True
    print("FAIL %s" % name)
    diff = difflib.unified_diff(reference, under_test, "reference", "under-test", lineterm="", n=3)
    print("    " + "\n    ".join(diff))
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("server", nargs="?", default=os.environ.get("GRID_SERVER_UNDER_TEST"))
    ap.add_argument("--reference", default=servers.DEFAULT_REFERENCE)
    ap.add_argument("--etcdctl", default=servers.DEFAULT_ETCDCTL)
    ap.add_argument("--only", help="regex of step names to run")
    ap.add_argument("-v", action="store_true", help="print passing transcripts too")
    a = ap.parse_args()
    under_test = a.server or a.reference
    servers.DEFAULT_ETCDCTL_PATH[0] = a.etcdctl
    print("reference: %s\nunder test: %s" % (a.reference, under_test))
    passed = failed = 0
    for group, flags, steps in GROUPS:
        try:
            p, f = run_group(flags, steps, a.reference, under_test, a.etcdctl, a.only, a.v)
        except Exception as e:  # server did not start: every step of the group fails
            print("FAIL group %s: %s" % (group, e))
            p, f = 0, len(steps)
        passed += p
        failed += f
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
