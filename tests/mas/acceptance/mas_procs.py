"""Processes and clients for the control plane's acceptance tests.

ControlStore is the control plane's own store: one single-member etcd 3.4 or gridkv on free
loopback ports. Gridmas is one real gridmas replica (its "api on" line read from stdout, its
log in a file) with the API reached over HTTP and the gridctl binary. Writer is a client
thread putting sequential keys into a KVCluster, rotating over the members' client URLs on
any error and retrying the same key, recording every acknowledged key.

Instances started by gridmas run in their own sessions and outlive it: kill_instances()
SIGKILLs every pid recorded in <root>/instances/*/instance.json (and its process group) and
every process whose working directory is under the root. Every wait polls with a deadline.
"""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

# grpc's fork handlers can block a fork (subprocess) for ever while its threads are busy;
# every child here execs at once, so they are not needed.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
import etcd3  # noqa: E402

# The process helpers shared by the black-box suites (tests/router/procs.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "router"))
import procs  # noqa: E402
from procs import die_with_parent, free_port  # noqa: E402,F401

DEADLINE_S = 30.0
API = "/apis/grid.dev/v1"


def reserve_reuseport_port():
    """(socket, port): a loopback port held by a bound, non-listening SO_REUSEPORT socket.

    gridrouter binds its listeners with SO_REUSEPORT, so it can bind the port while the
    socket is held; any other process (a kernel-chosen port 0, an etcd of a test running
    alongside) gets EADDRINUSE. free_port() closes its socket and leaves that window open.
    Close the socket when the test ends; it never receives a connection (it does not listen).
    """
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def wait_for(predicate, what, timeout=DEADLINE_S, interval=0.1):
    """procs.wait_for with this suite's deadline and poll interval."""
    return procs.wait_for(predicate, what, timeout=timeout, interval=interval)


def measured(what, seconds):
    print(f"MEASURED {what}: {seconds:.2f} s", flush=True)


def tail(path, n=4000):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode(errors="replace")
    except OSError:
        return ""


class Processes:
    """Every process a test starts directly; kill_all() at the end."""

    def __init__(self):
        self.procs = []

    def start(self, args, log_path, stdout_pipe=False):
        with open(log_path, "ab") as log:
            p = subprocess.Popen(die_with_parent(args), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE if stdout_pipe else log, stderr=log)
        self.procs.append(p)
        return p

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()


def _signal(pid, group=False):
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def instance_records(root):
    """{instance dir name: instance.json} under a runtime root."""
    out = {}
    base = os.path.join(root, "instances")
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        try:
            with open(os.path.join(base, name, "instance.json")) as f:
                out[name] = json.load(f)
        except (OSError, ValueError):
            continue
    return out


def instance_dir(root, instance):
    return os.path.join(root, "instances", instance.replace("/", "_"))


def instance_record(root, instance):
    with open(os.path.join(instance_dir(root, instance), "instance.json")) as f:
        return json.load(f)


def kill_instances(root):
    """SIGKILLs every instance process under `root` (gridmas must be dead first, or it
    restarts them): recorded pids and their groups, then any process working under root."""
    for record in instance_records(root).values():
        pid = record.get("pid", 0)
        if pid > 0:
            _signal(pid, group=True)
            _signal(pid)
    real_root = os.path.realpath(root)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == real_root or cwd.startswith(real_root + os.sep):
            _signal(int(entry))


class ControlStore:
    """One single-member store (etcd 3.4 or gridkv: same flags) for the control plane."""

    def __init__(self, procs, kind, binary, tmp):
        self.kind = kind
        self.dir = os.path.join(tmp, "control-store")
        os.makedirs(self.dir, exist_ok=True)
        self.log_path = os.path.join(self.dir, "log")
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        peer = f"http://127.0.0.1:{free_port()}"
        url = f"http://{self.endpoint}"
        self.proc = procs.start(
            [binary, "--name", "cp0", "--data-dir", os.path.join(self.dir, "data"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"cp0={peer}", "--initial-cluster-state", "new",
             "--initial-cluster-token", "control"], self.log_path)
        wait_for(self._answers, f"control store ({kind}) to answer")

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.kind} exited:\n{tail(self.log_path)}")
        try:
            c = etcd3.client("127.0.0.1", self.port, timeout=2)
        except Exception:  # noqa: BLE001  (not up yet)
            return False
        try:
            c.get("/probe")
            return True
        except Exception:  # noqa: BLE001
            return False
        finally:
            c.close()

    def client(self):
        return etcd3.client("127.0.0.1", self.port, timeout=10)


class Gridmas:
    """One gridmas replica; its API over HTTP and through the gridctl binary."""

    def __init__(self, procs, binary, gridctl, endpoint, root, log_path, replica,
                 binaries=()):
        self.gridctl = gridctl
        self.log_path = log_path
        self.replica = replica
        args = [binary, "--endpoints", endpoint, "--listen", "127.0.0.1:0", "--root", root,
                "--replica", replica]
        for entry in binaries:
            args += ["--binary", entry]
        self.proc = procs.start(args, log_path, stdout_pipe=True)
        self.server = "http://" + self._api_address()

    def _api_address(self):
        line = b""
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
        text = line.decode().strip()
        if not text.startswith("api on "):
            raise AssertionError(f"gridmas printed {text!r}:\n{tail(self.log_path)}")
        return text[len("api on "):]

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def log(self):
        return tail(self.log_path, 1 << 20)

    def leads(self):
        return f"leadership gained by {self.replica}" in self.log()

    def ctl(self, *args, stdin=None, timeout=DEADLINE_S):
        r = subprocess.run([self.gridctl, "--server", self.server] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"gridctl {' '.join(args)}: exit {r.returncode}: "
                                 f"{r.stderr}\n{tail(self.log_path)}")
        return r.stdout

    def apply(self, yaml_text):
        return self.ctl("apply", "-f", "-", stdin=yaml_text)

    def wait_run(self, kind, name, timeout_s):
        return self.ctl("wait", kind, name, "--for", "phase=Run", "--timeout", f"{timeout_s}s",
                        timeout=timeout_s + 10)

    def get(self, plural, name):
        """The resource as JSON from the API; None when the API does not answer."""
        try:
            with urllib.request.urlopen(f"{self.server}{API}/{plural}/{name}", timeout=5) as r:
                return json.loads(r.read())
        except (OSError, ValueError, urllib.error.HTTPError):
            return None


def kv_yaml(name, engine, version, members):
    return (f"apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {{name: {name}}}\n"
            f"spec: {{engine: {engine}, version: \"{version}\", members: {members}}}\n")


def settled(obj, phase="Run"):
    """True when the object's status is `phase` for its current generation."""
    if not obj:
        return False
    status = obj.get("status") or {}
    return (status.get("phase") == phase and
            status.get("observedGeneration") == obj["metadata"].get("generation"))


def members(obj):
    return ((obj or {}).get("status") or {}).get("members") or []


def healthy_members(obj, count, version=None):
    """The members when exactly `count` are listed, all healthy with an id (and version)."""
    ms = members(obj)
    if len(ms) != count or not all(m.get("healthy") and m.get("id") for m in ms):
        return None
    if version is not None and any(m.get("version") != version for m in ms):
        return None
    return ms


class Writer:
    """Puts keys <prefix>/<seq> with unique values, one at a time, until stop(). On any error
    it counts a failed attempt, moves to the next client URL (from `urls()`, the members'
    URLs in the status) and retries the same key. `acked` holds every acknowledged key."""

    def __init__(self, urls, prefix="/acceptance/w/", timeout_s=2.0):
        self.urls = urls
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.acked = {}
        self.failed = 0
        self.last_error = ""
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.tag = f"{os.getpid()}-{time.time_ns()}"
        self.thread = threading.Thread(target=self._run, daemon=True)
        self._index = 0
        self._client = None

    def start(self):
        self.thread.start()
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_progress(self, more=20, timeout=DEADLINE_S):
        start = self.count()
        wait_for(lambda: self.count() >= start + more, f"{more} more writes "
                 f"(failed {self.failed}, last error {self.last_error})", timeout)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=DEADLINE_S)
        self._close()

    def _close(self):
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                pass
            self._client = None

    def _connect(self):
        urls = self.urls() or []
        if not urls:
            raise ConnectionError("no client URL in the status")
        url = urls[self._index % len(urls)]
        host, port = url.split("//", 1)[-1].rsplit(":", 1)
        self._client = etcd3.client(host, int(port), timeout=self.timeout_s)

    def _run(self):
        seq = 0
        while not self.stopping.is_set():
            key = f"{self.prefix}{seq:08d}"
            value = f"{self.tag}-{seq}"
            try:
                if self._client is None:
                    self._connect()
                self._client.put(key, value)
            except Exception as e:  # noqa: BLE001  (any client error: next member, same key)
                with self.lock:
                    self.failed += 1
                    self.last_error = f"{type(e).__name__}: {e}".replace("\n", " ")[:160]
                self._close()
                self._index += 1
                time.sleep(0.05)
                continue
            with self.lock:
                self.acked[key] = value
            seq += 1

    def lost(self, urls):
        """Acknowledged keys that do not read back with their value (read from any URL).
        Only keys acknowledged before the read starts are checked (the writer may run on)."""
        with self.lock:
            acked = dict(self.acked)
        last = None
        for url in urls:
            host, port = url.split("//", 1)[-1].rsplit(":", 1)
            c = etcd3.client(host, int(port), timeout=10)
            try:
                stored = {m.key.decode(): v.decode() for v, m in c.get_prefix(self.prefix)}
            except Exception as e:  # noqa: BLE001  (try the next member)
                last = e
                continue
            finally:
                c.close()
            return {k: v for k, v in acked.items() if stored.get(k) != v}
        raise AssertionError(f"no member answered the read-back: {last}")
