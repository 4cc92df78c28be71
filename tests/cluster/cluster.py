"""Starting multi-member clusters of an etcd-compatible server for black-box tests.

A Cluster is N fresh members of one binary on free loopback ports, each with
its own data dir under one temp dir, started with etcd's bootstrap flags
(--initial-cluster, state new). Members can be added later with state
existing. The binary is a parameter, so the same code starts the reference
etcd and the server under test. Member processes get SIGKILL when the test
process dies (setpriv --pdeathsig), so an aborted test leaves nothing behind.
Not thread-safe.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compat"))
import servers  # noqa: E402  (shared: free_port, ctl_env, stop deadline)

READY_DEADLINE_SECONDS = 60
POLL_INTERVAL_SECONDS = 0.1
PROBE_TIMEOUT = "2s"
PROBE_PROCESS_TIMEOUT_SECONDS = 10
LOG_TAIL_BYTES = 3000
CLUSTER_TOKEN = "cluster-compat"
# Every child is started as `setpriv --pdeathsig KILL -- PROGRAM ...` (util-linux, always
# installed): it gets SIGKILL when the test process dies. Not a preexec_fn: that makes Python
# fork() instead of vfork(), and in a test process holding gRPC threads the fork handlers then
# run in the child, which can abort there before it execs. (setpriv sets the signal just
# before it execs the program: a test process dying in that first millisecond leaves it.)
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL", "--"]


def die_with_parent(args):
    """`args` prefixed so the program is killed when the test process dies."""
    return DIE_WITH_PARENT + list(args)


def etcdctl_json(etcdctl, endpoints, *args):
    """Runs `etcdctl --endpoints E ARGS -w json`; returns the parsed document or None."""
    try:
        r = subprocess.run([etcdctl, "--endpoints", ",".join(endpoints),
                            "--command-timeout", PROBE_TIMEOUT] + list(args) + ["-w", "json"],
                           env=servers.ctl_env(), capture_output=True, text=True,
                           timeout=PROBE_PROCESS_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return None
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


class Failure(Exception):
    """A check of a scenario test failed; the message says which."""


def ctl(cl, endpoints, *args, check=True, timeout_seconds=30):
    """Runs `etcdctl --endpoints E ARGS` for cluster `cl`; raises Failure on a non-zero exit
    when `check`. Returns the CompletedProcess."""
    r = subprocess.run([cl.etcdctl, "--endpoints", ",".join(endpoints), "--command-timeout",
                        "%ds" % timeout_seconds] + list(args),
                       env=servers.ctl_env(), capture_output=True, text=True,
                       timeout=timeout_seconds + 10)
    if check and r.returncode != 0:
        raise Failure("etcdctl @%s %s: exit %d: %s" % (",".join(endpoints), " ".join(args),
                                                      r.returncode, r.stderr))
    return r


def run_scenario(run, add_arguments=None):
    """The main of a scenario test: parses --server/--etcdctl/--keep (and what
    `add_arguments(parser)` adds), calls run(args), prints PASS, or FAIL and the Failure's
    message. Returns the exit status."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--etcdctl", default="etcdctl")
    ap.add_argument("--keep", action="store_true")
    if add_arguments:
        add_arguments(ap)
    args = ap.parse_args()
    try:
        run(args)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS")
    return 0


class Member:
    """One member process: its name, ports, data dir and log."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.client_port = servers.free_port()
        self.peer_port = servers.free_port()
        self.client_url = "http://127.0.0.1:%d" % self.client_port
        self.peer_url = "http://127.0.0.1:%d" % self.peer_port
        self.endpoint = "127.0.0.1:%d" % self.client_port
        self.dir = os.path.join(cluster.tmp, name)
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.expect_exit = False  # set once the member is removed: it may stop by itself

    def start(self, initial_cluster, state):
        os.makedirs(self.dir, exist_ok=True)
        flags = [
            "--name", self.name,
            "--data-dir", os.path.join(self.dir, "data"),
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", initial_cluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", CLUSTER_TOKEN,
            "--log-level", self.cluster.log_level,
        ] + list(self.cluster.extra_flags)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(die_with_parent([self.cluster.binary] + flags),
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, deadline_seconds):
        """True when the process exits within the deadline (it is not stopped)."""
        if self.proc is None:
            return True
        try:
            self.proc.wait(deadline_seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(servers.STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-LOG_TAIL_BYTES:].decode("utf-8", "replace")
        except OSError:
            return ""


class Cluster:
    """N members of one binary. Use as a context manager, or call close()."""

    def __init__(self, binary, label, size, etcdctl, keep=False, extra_flags=(),
                 log_level="error"):
        self.binary = binary
        self.extra_flags = list(extra_flags)  # given to every member
        self.log_level = log_level
        self.label = label
        self.etcdctl = etcdctl
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix="cluster-%s-" % label)
        self.members = [Member(self, "m%d" % i) for i in range(size)]
        self.last_probe = ""  # the last failed health probe's error, for diagnostics

    # ---- lookup
    def member(self, name):
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(name)

    def endpoints(self, running_only=True):
        return [m.endpoint for m in self.members if m.running() or not running_only]

    def initial_cluster(self):
        return ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)

    # ---- lifecycle
    def start(self):
        try:
            ic = self.initial_cluster()
            for m in self.members:
                m.start(ic, "new")
            self.wait_until("every member healthy", self._all_healthy)
            self.wait_until("every member published", self._all_published)
        except BaseException:
            self.close()
            raise
        return self

    def add_member(self, name):
        """A Member with fresh ports, not yet started (for `member add`)."""
        m = Member(self, name)
        self.members.append(m)
        return m

    def start_added(self, member, initial_cluster):
        """Starts a member added with `member add`, as etcd documents: state existing."""
        member.start(initial_cluster, "existing")
        self.wait_until("%s serves status" % member.name,
                        lambda: etcdctl_json(self.etcdctl, [member.endpoint],
                                             "endpoint", "status") is not None)

    def close(self):
        for m in self.members:
            m.stop()
        if self.keep:
            print("[%s] kept %s" % (self.label, self.tmp))
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # ---- polling
    def wait_until(self, what, predicate, deadline_seconds=READY_DEADLINE_SECONDS):
        """Polls `predicate` until true; raises with member logs when the deadline passes."""
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            for m in self.members:
                if m.proc is not None and m.proc.poll() is not None and not m.expect_exit:
                    raise RuntimeError("%s: %s exited with %d while waiting for %s:\n%s"
                                       % (self.label, m.name, m.proc.returncode, what,
                                          m.log_tail()))
            if predicate():
                return
            time.sleep(POLL_INTERVAL_SECONDS)
        tails = "\n".join("--- %s\n%s" % (m.name, m.log_tail()) for m in self.members)
        raise RuntimeError("%s: not %s within %ds (last probe: %s)\n%s"
                           % (self.label, what, deadline_seconds, self.last_probe or "-", tails))

    def _all_healthy(self):
        for m in self.members:
            r = subprocess.run([self.etcdctl, "--endpoints", m.endpoint, "--command-timeout",
                                PROBE_TIMEOUT, "endpoint", "health"], env=servers.ctl_env(),
                               capture_output=True, timeout=PROBE_PROCESS_TIMEOUT_SECONDS)
            if r.returncode != 0:
                self.last_probe = "%s: %s" % (m.name, r.stderr.decode("utf-8", "replace").strip())
                return False
        return True

    def _all_published(self):
        doc = etcdctl_json(self.etcdctl, self.endpoints(), "member", "list")
        return doc is not None and all(m.get("name") and m.get("clientURLs")
                                       for m in doc.get("members", []))

    def statuses(self):
        """{member name: status JSON} of every running member that answers."""
        out = {}
        for m in self.members:
            if not m.running():
                continue
            doc = etcdctl_json(self.etcdctl, [m.endpoint], "endpoint", "status")
            if doc:
                out[m.name] = doc[0]["Status"]
        return out

    def leader_name(self):
        """Name of the member every running member reports as leader, else None."""
        sts = self.statuses()
        leaders = {s["leader"] for s in sts.values()}
        if len(sts) != len([m for m in self.members if m.running()]) or len(leaders) != 1:
            return None
        (lead,) = leaders
        for name, s in sts.items():
            if s["header"]["member_id"] == lead:
                return name
        return None
