"""Starting, faulting and tearing down an N-member etcd-compatible cluster.

Every member is its own process group (start_new_session) started through
`setpriv --pdeathsig KILL`, so members die with the harness even if it is
killed itself; stop_all() kills every group and waits. All processes are
started from the thread that owns the Cluster (the death signal is tied to the
starting thread). Waiting is always polling against a deadline.
"""
import os
import signal
import subprocess
import time

import grpc

from etcdclient import Conn

POLL_INTERVAL_SECONDS = 0.1
STATUS_TIMEOUT_SECONDS = 0.5
LOG_TAIL_BYTES = 3000
EXIT_DEADLINE_SECONDS = 10


class Member:
    def __init__(self, cluster, index, client_port, peer_port):
        self.cluster = cluster
        self.index = index
        self.name = "m%d" % index
        net = cluster.network
        self.client_url = "http://%s:%d" % (net.client_host(index), client_port)
        self.peer_url = "http://%s:%d" % (net.peer_host(index), peer_port)
        self.endpoint = "%s:%d" % (net.client_host(index), client_port)
        self.data_dir = os.path.join(cluster.run_dir, self.name + ".data")
        self.log_path = os.path.join(cluster.run_dir, self.name + ".log")
        self.proc = None
        self.paused = False
        self.killed = False  # stopped on purpose: not a crash
        self.member_id = None  # learnt from its status answer
        self.conn = Conn(self.endpoint)

    def argv(self):
        c = self.cluster
        return c.network.exec_prefix(self.index) + [
            "setpriv", "--pdeathsig", "KILL", "--", c.binary,
            "--name", self.name,
            "--data-dir", self.data_dir,
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", c.initial_cluster,
            "--initial-cluster-state", "new",
            "--initial-cluster-token", c.token,
            "--heartbeat-interval", str(c.heartbeat_ms),
            "--election-timeout", str(c.election_ms),
        ]

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        assert not self.running(), self.name
        with open(self.log_path, "ab") as log:
            log.write(b"\n=== start %d ===\n" % time.monotonic_ns())
            log.flush()
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.paused = False
        self.killed = False

    def kill(self):
        """SIGKILL to the whole process group; waits for the exit."""
        if self.proc is None:
            return
        self.killed = True
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=EXIT_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            raise RuntimeError("%s did not exit after SIGKILL" % self.name)
        self.paused = False

    def pause(self):
        os.killpg(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        if self.paused and self.running():
            os.killpg(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
                return f.read().decode(errors="replace")
        except OSError:
            return ""


class Cluster:
    def __init__(self, binary, members, run_dir, network, token,
                 heartbeat_ms, election_ms):
        self.binary = binary
        self.run_dir = run_dir
        self.network = network
        self.token = token
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        self.members = []
        for i in range(members):
            client_port, peer_port = network.ports(i)
            self.members.append(Member(self, i, client_port, peer_port))
        self.initial_cluster = ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)

    def endpoints(self):
        return [m.endpoint for m in self.members]

    def start_all(self):
        for m in self.members:
            m.start()

    def stop_all(self):
        errors = []
        for m in self.members:
            try:
                m.kill()
            except RuntimeError as e:
                errors.append(str(e))
        for m in self.members:
            m.conn.close()
        if errors:
            raise RuntimeError("; ".join(errors))

    def check_alive(self):
        """Raises when a member that should run has exited by itself."""
        for m in self.members:
            if m.proc is not None and not m.killed and m.proc.poll() is not None:
                raise RuntimeError("%s exited on its own with %s; log tail:\n%s"
                                   % (m.name, m.proc.returncode, m.log_tail()))

    def statuses(self):
        """{index: (member_id, leader_id, raft_index)} of members that answer now."""
        out = {}
        for m in self.members:
            if not m.running() or m.paused:
                continue
            try:
                out[m.index] = m.conn.status(STATUS_TIMEOUT_SECONDS)
                m.member_id = out[m.index][0]
            except grpc.RpcError:
                m.conn.reset()
        return out

    def leader_index(self):
        """The member most answering members name as leader, or None."""
        st = self.statuses()
        votes = {}
        for _, leader, _ in st.values():
            if leader:
                votes[leader] = votes.get(leader, 0) + 1
        if not votes:
            return None
        leader_id = max(votes, key=votes.get)
        for m in self.members:
            if m.member_id == leader_id:
                return m.index
        return None

    def wait_healthy(self, deadline_seconds):
        """Polls until every member answers, names the same leader and serves a
        linearizable read. Raises with log tails on the deadline."""
        deadline = time.monotonic() + deadline_seconds
        last = ""
        while time.monotonic() < deadline:
            self.check_alive()
            st = self.statuses()
            leaders = {leader for _, leader, _ in st.values()}
            if len(st) == len(self.members) and len(leaders) == 1 and 0 not in leaders:
                try:
                    for m in self.members:
                        reading = m
                        m.conn.get("chaos-health", timeout=1.0)
                    return
                except grpc.RpcError as e:
                    reading.conn.reset()
                    last = "read on %s: %s" % (reading.name, e.code().name)
            else:
                last = "%d of %d members answer, naming leaders %s" % (
                    len(st), len(self.members), sorted(leaders))
            time.sleep(POLL_INTERVAL_SECONDS)
        tails = "\n".join("--- %s ---\n%s" % (m.name, m.log_tail()) for m in self.members)
        raise RuntimeError("cluster not healthy within %ss (%s)\n%s"
                           % (deadline_seconds, last, tails))
