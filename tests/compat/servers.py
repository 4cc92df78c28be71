"""Starting etcd-compatible servers for black-box comparison tests.

A Server is one fresh single-member process on free loopback ports with its
own temp data dir. The binary is a parameter so the same code starts the
reference etcd and the server under test. Not thread-safe.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

READY_DEADLINE_SECONDS = 30
STOP_DEADLINE_SECONDS = 10
POLL_INTERVAL_SECONDS = 0.05
LOG_TAIL_BYTES = 4000

DEFAULT_REFERENCE = "/usr/bin/etcd"
DEFAULT_ETCDCTL = "/usr/bin/etcdctl"


_HANDED_OUT_PORTS = set()
_MAX_PORT_TRIES = 100


def free_port():
    """A currently-unused loopback port (the kernel picks it), never one this process handed
    out before: a port is bound and closed here and the server binds it later, so without
    this the kernel may give the same port to two members of one cluster."""
    for _ in range(_MAX_PORT_TRIES):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT_PORTS:
            _HANDED_OUT_PORTS.add(port)
            return port
    raise RuntimeError("no loopback port not handed out before in %d tries" % _MAX_PORT_TRIES)


def is_reference_etcd(binary):
    """True when `binary` is etcd itself (no gridkv-only tooling)."""
    return os.path.basename(os.path.realpath(binary)) == "etcd"


class Server:
    """One running server. Use as a context manager, or call stop()."""

    def __init__(self, binary, label, extra_flags=(), data_dir=None, name="compat0"):
        self.binary = binary
        self.label = label
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="compat-%s-" % label)
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.client_port = free_port()
        self.peer_port = free_port()
        self.client_url = "http://127.0.0.1:%d" % self.client_port
        self.peer_url = "http://127.0.0.1:%d" % self.peer_port
        self.endpoint = "127.0.0.1:%d" % self.client_port
        self.log_path = os.path.join(self.tmp, "server.log")
        self.flags = [
            "--name", name,
            "--data-dir", self.data_dir,
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", "%s=%s" % (name, self.peer_url),
            "--initial-cluster-state", "new",
            "--initial-cluster-token", "compat",
            "--log-level", "error",
        ] + list(extra_flags)
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary] + self.flags, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + READY_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d during start:\n%s"
                                   % (self.label, self.proc.returncode, self.log_tail()))
            r = subprocess.run([DEFAULT_ETCDCTL_PATH[0], "--endpoints", self.endpoint,
                                "--command-timeout", "2s", "endpoint", "health"],
                               env=ctl_env(), capture_output=True)
            if r.returncode == 0:
                return self
            time.sleep(POLL_INTERVAL_SECONDS)
        self.stop()
        raise RuntimeError("%s not healthy within %ds:\n%s"
                           % (self.label, READY_DEADLINE_SECONDS, self.log_tail()))

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-LOG_TAIL_BYTES:].decode("utf-8", "replace")
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# etcdctl path, settable by the test entry point (a list so it can be rebound).
DEFAULT_ETCDCTL_PATH = [DEFAULT_ETCDCTL]


def ctl_env():
    env = dict(os.environ)
    env["ETCDCTL_API"] = "3"
    for k in list(env):
        if k.startswith("ETCDCTL_") and k != "ETCDCTL_API":
            del env[k]
    return env
