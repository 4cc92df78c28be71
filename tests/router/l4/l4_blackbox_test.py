"""Black-box tests of `gridrouter l4`: the real binary between a real TCP client and real TCP
backends (echo_backend.py), on loopback ports chosen by the kernel.

    l4_blackbox_test.py GRIDROUTER [unittest args, e.g. BlueGreenTest]

Hermetic: every process listens on port 0 of 127.0.0.1 and prints its port; files live in a
temporary directory; waits poll with deadlines (no time is asserted); every process is killed
at the end.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
GRIDROUTER = None  # set from argv
DEADLINE_S = 10.0


sys.path.insert(0, os.path.dirname(HERE))
from procs import Processes, port_of, read_lines, wait_for  # noqa: E402


class Backend:
    def __init__(self, procs, name, port=0):
        self.name = name
        self.proc = procs.start([sys.executable, os.path.join(HERE, "echo_backend.py"),
                                 "--name", name, "--port", str(port)])
        self.port = port_of(read_lines(self.proc, 1)[0])
        self.address = f"127.0.0.1:{self.port}"

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def listener_yaml(backends, extra="", name="web"):
    """backends: [(address, weight)]"""
    lines = ["listeners:", f"  - name: {name}", '    listen: "127.0.0.1:0"']
    lines += ["    " + line for line in extra.strip("\n").split("\n") if line]
    lines.append("    backends:")
    for address, weight in backends:
        lines.append(f'      - {{address: "{address}", weight: {weight}}}')
    return "\n".join(lines) + "\n"


class Router:
    def __init__(self, procs, tmp, config, threads=2, extra=()):
        self.config_path = os.path.join(tmp, "l4.yaml")
        self.write_config(config)
        self.stderr_path = os.path.join(tmp, "router.err")
        self.stderr = open(self.stderr_path, "wb")
        procs.files.append(self.stderr)
        self.proc = procs.start([GRIDROUTER, "l4", "--config", self.config_path,
                                 "--admin", "127.0.0.1:0", "--threads", str(threads), *extra],
                                stderr=self.stderr)
        listen, admin = read_lines(self.proc, 2)
        self.port = port_of(listen)
        self.admin_port = port_of(admin)

    def write_config(self, text):
        tmp_path = self.config_path + ".tmp"
        with open(tmp_path, "w") as f:
            f.write(text)
        os.replace(tmp_path, self.config_path)

    def admin(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}",
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stats(self):
        return json.loads(self.admin("/stats")[1])

    def backends(self):
        return {b["address"]: b for b in self.stats()["listeners"][0]["backends"]}

    def reload(self, config):
        """Writes `config`, sends SIGHUP and waits until the new generation is serving."""
        generation = self.stats()["generation"]
        self.write_config(config)
        self.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.stats()["generation"] > generation, "the reload to apply")

    def stderr_text(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")


class Client:
    """One TCP connection through the router speaking the echo backend's line protocol."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.rfile = self.sock.makefile("rb")

    def ask(self, line):
        """Sends a line; returns the backend's name from the answer ("" if closed)."""
        self.sock.sendall((line + "\n").encode())
        answer = self.rfile.readline().decode()
        if not answer:
            return ""
        name, echoed = answer.rstrip("\n").split(" ", 1)
        if echoed != line:
            raise AssertionError(f"sent {line!r}, got {answer!r}")
        return name

    def close(self):
        self.rfile.close()
        self.sock.close()


def one_request(port, line="ping"):
    """A whole connection: connect, one request, half-close, EOF. Returns the backend name."""
    c = Client(port)
    try:
        name = c.ask(line)
        c.sock.shutdown(socket.SHUT_WR)
        if c.rfile.read() != b"":
            raise AssertionError("bytes after the answer")
        return name
    finally:
        c.close()


class L4Case(unittest.TestCase):
    def setUp(self):
        self.procs = Processes()
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.procs.kill_all()
        self.tmp.cleanup()


class DistributionTest(L4Case):
    def test_weights_80_20_over_1000_connections(self):
        a = Backend(self.procs, "a")
        b = Backend(self.procs, "b")
        router = Router(self.procs, self.tmp.name,
                        listener_yaml([(a.address, 80), (b.address, 20)]))
        counts = {"a": 0, "b": 0}
        for i in range(1000):
            counts[one_request(router.port, f"req {i}")] += 1
        print(f"80/20 over 1000 connections: {counts}")
        # Smooth weighted round robin is exact per 100 picks; stated tolerance ±2 % of 1000.
        self.assertLessEqual(abs(counts["a"] - 800), 20)
        self.assertLessEqual(abs(counts["b"] - 200), 20)
        backends = router.backends()
        self.assertEqual(backends[a.address]["total_connections"], counts["a"])
        self.assertEqual(backends[b.address]["total_connections"], counts["b"])
        self.assertGreater(backends[a.address]["bytes_in"], 0)
        self.assertGreater(backends[a.address]["bytes_out"], 0)
        self.assertEqual(router.stats()["listeners"][0]["total_connections"], 1000)
        self.assertEqual(router.admin("/healthz"), (200, "ok\n"))
        self.assertEqual(router.admin("/readyz"), (200, "ready\n"))

    def test_least_conn_prefers_the_idle_backend(self):
        a = Backend(self.procs, "a")
        b = Backend(self.procs, "b")
        router = Router(self.procs, self.tmp.name,
                        listener_yaml([(a.address, 50), (b.address, 50)], "policy: least_conn"))
        held = [Client(router.port) for _ in range(4)]
        names = [c.ask("hold") for c in held]
        # Four open connections split two and two; closing a's leaves b busier: new go to a.
        self.assertEqual(sorted(names), ["a", "a", "b", "b"])
        for c, n in zip(held, names):
            if n == "a":
                c.close()
        wait_for(lambda: router.backends()[a.address]["active_connections"] == 0, "a idle")
        c1 = Client(router.port)
        c2 = Client(router.port)
        self.assertEqual([c1.ask("x"), c2.ask("y")], ["a", "a"])
        for c in [c1, c2] + [c for c, n in zip(held, names) if n == "b"]:
            c.close()


class FailoverTest(L4Case):
    def test_killed_backend_is_skipped_with_zero_failed_connections(self):
        backends = [Backend(self.procs, n) for n in ("a", "b", "c")]
        router = Router(self.procs, self.tmp.name,
                        listener_yaml([(b.address, 50) for b in backends]))
        backends[1].kill()
        counts = {"a": 0, "b": 0, "c": 0}
        for i in range(200):
            counts[one_request(router.port, f"r{i}")] += 1  # raises on any failure
        self.assertEqual(counts["b"], 0)
        self.assertEqual(counts["a"] + counts["c"], 200)
        stats = router.backends()
        # Without a health check every pick of b fails over: ~1/3 of the connections.
        self.assertGreater(stats[backends[1].address]["connect_failures"], 0)
        self.assertEqual(stats[backends[1].address]["total_connections"], 0)
        self.assertEqual(router.stats()["listeners"][0]["no_backend"], 0)

    def test_health_check_marks_down_after_exactly_the_threshold(self):
        a = Backend(self.procs, "a")
        b = Backend(self.procs, "b")
        threshold = 3
        router = Router(self.procs, self.tmp.name, listener_yaml(
            [(a.address, 50), (b.address, 50)],
            "health_check: {interval_ms: 100, timeout_ms: 50, unhealthy_threshold: 3,"
            " healthy_threshold: 2}"))
        wait_for(lambda: router.backends()[b.address]["healthy"], "b healthy")
        port = b.port
        b.kill()
        samples = []

        def sample():
            s = router.backends()[b.address]
            samples.append((s["healthy"], s["probe_failures_in_a_row"]))
            return not s["healthy"]

        wait_for(sample, "b marked down", interval=0.01)
        # Every view of b: up with fewer than `threshold` failed probes, down with at least.
        for healthy, failures in samples:
            if healthy:
                self.assertLess(failures, threshold, samples)
            else:
                self.assertGreaterEqual(failures, threshold, samples)
        self.assertIn(True, [h for h, _ in samples], "never saw b healthy after the kill")
        # Down: every connection goes to a without even trying b.
        failures_before = router.backends()[b.address]["connect_failures"]
        for i in range(20):
            self.assertEqual(one_request(router.port, f"r{i}"), "a")
        self.assertEqual(router.backends()[b.address]["connect_failures"], failures_before)
        # b comes back on its port: healthy again after healthy_threshold probes.
        Backend(self.procs, "b", port=port)
        wait_for(lambda: router.backends()[b.address]["healthy"], "b healthy again")
        wait_for(lambda: "b" in {one_request(router.port) for _ in range(4)}, "b used again")


class BlueGreenTest(L4Case):
    def test_shift_100_0_to_50_50_to_0_100_with_zero_failures(self):
        blue = [Backend(self.procs, f"blue{i}") for i in range(2)]
        green = [Backend(self.procs, f"green{i}") for i in range(2)]

        def config(blue_weight, green_weight):
            return listener_yaml([(b.address, blue_weight) for b in blue] +
                                 [(g.address, green_weight) for g in green],
                                 "connect_timeout_ms: 1000")

        router = Router(self.procs, self.tmp.name, config(100, 0))
        long_lived = Client(router.port)
        self.assertTrue(long_lived.ask("first").startswith("blue"))

        seen = []  # backend names in order
        failures = []
        stop = threading.Event()

        def traffic():
            i = 0
            while not stop.is_set():
                try:
                    c = Client(router.port)
                    try:
                        for j in range(3):  # a few requests per connection
                            name = c.ask(f"c{i} r{j}")
                            if not name:
                                raise AssertionError("connection closed mid-way")
                            seen.append(name)
                    finally:
                        c.close()
                except Exception as e:  # noqa: BLE001: every failure counts
                    failures.append(repr(e))
                i += 1

        t = threading.Thread(target=traffic, daemon=True)
        t.start()
        try:
            def served(count):
                start = len(seen)
                wait_for(lambda: len(seen) >= start + count, f"{count} more requests")
                return start

            served(60)
            router.reload(config(50, 50))
            mark = served(120)
            middle = seen[mark:]
            self.assertTrue(any(n.startswith("green") for n in middle), middle[:20])
            self.assertTrue(any(n.startswith("blue") for n in middle), middle[:20])
            self.assertEqual(long_lived.ask("during 50/50")[:4], "blue")
            router.reload(config(0, 100))
            mark = served(120)
            # Connections opened before the reload may finish on blue; the last 60 are green.
            self.assertTrue(all(n.startswith("green") for n in seen[-60:]), seen[-60:])
        finally:
            stop.set()
            t.join(timeout=DEADLINE_S)
        self.assertEqual(failures, [])
        # The long-lived connection to the old set keeps working until closed: draining.
        self.assertEqual(long_lived.ask("after 0/100")[:4], "blue")
        stats = router.backends()
        blue_active = sum(stats[b.address]["active_connections"] for b in blue)
        self.assertEqual(blue_active, 1)
        self.assertTrue(all(stats[b.address]["weight"] == 0 for b in blue))
        long_lived.close()
        wait_for(lambda: sum(router.backends()[b.address]["active_connections"] for b in blue)
                 == 0, "blue drained")
        print(f"blue-green: {len(seen)} requests, 0 failures")


class DrainTest(L4Case):
    def test_sigterm_lets_the_connection_in_flight_finish(self):
        a = Backend(self.procs, "a")
        router = Router(self.procs, self.tmp.name, listener_yaml([(a.address, 100)]))
        c = Client(router.port)
        c.sock.sendall(b"slow 500\n")
        wait_for(lambda: router.backends()[a.address]["bytes_in"] > 0, "request relayed")
        router.proc.send_signal(signal.SIGTERM)
        # Stops accepting: a new connection is refused or closed without an answer.
        def refused():
            try:
                return one_request(router.port) == ""
            except OSError:
                return True
        wait_for(refused, "the listener to stop accepting")
        self.assertIsNone(router.proc.poll())
        self.assertEqual(router.admin("/readyz"), (503, "draining\n"))
        self.assertEqual(router.admin("/healthz"), (503, "draining\n"))
        self.assertEqual(c.rfile.readline(), b"a slow 500\n")
        self.assertEqual(c.ask("after drain began"), "a")
        c.close()
        self.assertEqual(router.proc.wait(timeout=DEADLINE_S), 0)

    def test_drain_deadline_closes_what_is_left(self):
        a = Backend(self.procs, "a")
        router = Router(self.procs, self.tmp.name, listener_yaml([(a.address, 100)]),
                        extra=("--drain-deadline-ms", "300"))
        c = Client(router.port)
        self.assertEqual(c.ask("hello"), "a")
        router.proc.send_signal(signal.SIGTERM)
        self.assertEqual(router.proc.wait(timeout=DEADLINE_S), 0)
        self.assertEqual(c.rfile.read(), b"")  # closed by the router at the deadline
        c.close()


class ReloadTest(L4Case):
    def test_invalid_reload_keeps_the_running_config(self):
        a = Backend(self.procs, "a")
        b = Backend(self.procs, "b")
        router = Router(self.procs, self.tmp.name, listener_yaml([(a.address, 100)]))
        router.write_config(listener_yaml([(b.address, 101)]))
        router.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "listeners[0].backends[0].weight: must be between 0 and 100, got 101"
                 in router.stderr_text(), "the reload error in the log")
        self.assertEqual(router.stats()["generation"], 0)
        for i in range(10):
            self.assertEqual(one_request(router.port, f"r{i}"), "a")
        # A valid file afterwards applies.
        router.reload(listener_yaml([(b.address, 100)]))
        self.assertEqual(one_request(router.port), "b")

    def test_invalid_config_at_start_exits_2_naming_the_field(self):
        path = os.path.join(self.tmp.name, "bad.yaml")
        with open(path, "w") as f:
            f.write(listener_yaml([("127.0.0.1:9", 50)], "policy: random"))
        p = subprocess.run([GRIDROUTER, "l4", "--config", path], capture_output=True,
                           timeout=DEADLINE_S)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"listeners[0].policy: must be round_robin or least_conn, got \"random\"",
                      p.stderr)
        self.assertEqual(p.stdout, b"")


class LimitsTest(L4Case):
    def test_connection_limit_at_the_limit(self):
        a = Backend(self.procs, "a")
        router = Router(self.procs, self.tmp.name,
                        listener_yaml([(a.address, 100)], "max_connections: 2"))
        held = [Client(router.port) for _ in range(2)]
        self.assertEqual([c.ask("x") for c in held], ["a", "a"])
        extra = Client(router.port)
        try:
            self.assertEqual(extra.ask("over"), "")
        except OSError:
            pass  # reset instead of a clean close: refused all the same
        extra.close()
        self.assertEqual(router.stats()["listeners"][0]["rejected_connections"], 1)
        held[0].close()
        wait_for(lambda: router.stats()["listeners"][0]["active_connections"] == 1, "a slot")
        self.assertEqual(one_request(router.port), "a")
        held[1].close()

    def test_idle_timeout_closes_both_sides(self):
        a = Backend(self.procs, "a")
        router = Router(self.procs, self.tmp.name,
                        listener_yaml([(a.address, 100)], "idle_timeout_ms: 200"))
        c = Client(router.port)
        self.assertEqual(c.ask("then silence"), "a")
        self.assertEqual(c.rfile.read(), b"")  # closed by the router once idle
        c.close()
        wait_for(lambda: router.stats()["listeners"][0]["active_connections"] == 0, "closed")
        self.assertEqual(router.backends()[a.address]["active_connections"], 0)


if __name__ == "__main__":
    GRIDROUTER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
