"""Shared pieces of the gridmas benchmarks (not tests): a control store plus one gridmas in a
temp dir, gridctl calls, polling with a deadline."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

DEADLINE_S = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(pred, what, deadline_s=DEADLINE_S):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for " + what)


def etcd_version():
    out = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("etcd Version:"):
            return line.split(":")[1].strip()
    raise RuntimeError("etcd --version: " + out)


def engine_version(engine):
    return "local" if engine == "gridkv" else etcd_version()


class Grid:
    """A control store (etcd) and one gridmas in a temp dir; close() stops everything."""

    def __init__(self, build, prefix="grid-bench-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.build = build
        self.procs = []
        client, peer = free_port(), free_port()
        self.store = "127.0.0.1:%d" % client
        self.spawn(["etcd", "--name", "c0", "--data-dir", os.path.join(self.dir, "control"),
                    "--listen-client-urls", "http://" + self.store,
                    "--advertise-client-urls", "http://" + self.store,
                    "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                    "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                    "--initial-cluster", "c0=http://127.0.0.1:%d" % peer], "control.log")
        mas = self.spawn([os.path.join(build, "cmd/gridmas/gridmas"), "--endpoints", self.store,
                          "--listen", "127.0.0.1:0", "--root", os.path.join(self.dir, "root"),
                          "--stop-instances-on-exit"], "gridmas.log", stdout=subprocess.PIPE)
        line = mas.stdout.readline().decode()
        if not line.startswith("api on "):
            raise RuntimeError("gridmas did not start: " + line)
        self.server = "http://" + line.split()[-1]

    def spawn(self, argv, log, stdout=None):
        with open(os.path.join(self.dir, log), "wb") as f:
            p = subprocess.Popen(argv, stdout=stdout or f, stderr=f)
        self.procs.append(p)
        return p

    def ctl(self, *args, timeout=3600, input=None):
        r = subprocess.run([os.path.join(self.build, "cmd/gridctl/gridctl"), "--server",
                            self.server] + list(args), capture_output=True, text=True,
                           timeout=timeout, input=input)
        if r.returncode != 0:
            raise RuntimeError("gridctl %s: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def apply(self, yaml_text):
        return self.ctl("apply", "-f", "-", input=yaml_text)

    def get(self, kind, name):
        return json.loads(self.ctl("get", kind, name, "-o", "json"))

    def client_endpoints(self, name):
        return [m["clientURL"].split("//")[1] for m in self.get("kv", name)["status"]["members"]]

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
