"""Black-box tests of gridrouter: the real binary, real backends (backend.py), real curl.

    router_blackbox_test.py GRIDROUTER [unittest args, e.g. RoutingTest]

Hermetic: every process listens on port 0 of 127.0.0.1 and prints its port; files live in a
temporary directory; waits poll with deadlines; every process is killed at the end.
"""

import http.client
import json
import os
import re
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
sys.path.insert(0, HERE)
GRIDROUTER = None  # set from argv
DEADLINE_S = 10.0


from procs import Processes, free_port, port_of, read_lines, wait_for  # noqa: E402


class Backend:
    def __init__(self, procs, name):
        self.name = name
        self.proc = procs.start([sys.executable, os.path.join(HERE, "backend.py"), "--name", name])
        self.port = port_of(read_lines(self.proc, 1)[0])
        self.address = f"127.0.0.1:{self.port}"


class Router:
    def __init__(self, procs, tmp, config, threads=1, access_log=None, extra=()):
        self.config_path = os.path.join(tmp, "routes.yaml")
        self.write_config(config)
        self.stderr_path = os.path.join(tmp, "router.err")
        self.stderr = open(self.stderr_path, "wb")
        procs.files.append(self.stderr)
        args = [GRIDROUTER, "--config", self.config_path, "--listen", "127.0.0.1:0",
                "--admin", "127.0.0.1:0", "--threads", str(threads), *extra]
        if access_log:
            args += ["--access-log", access_log]
        self.proc = procs.start(args, stderr=self.stderr)
        lines = read_lines(self.proc, 2)  # "admin on ...", then "listening on ..."
        self.port = port_of(next(l for l in lines if l.startswith("listening on")))
        self.admin_port = port_of(next(l for l in lines if l.startswith("admin on")))
        self.url = f"http://127.0.0.1:{self.port}"

    def write_config(self, text):
        tmp_path = self.config_path + ".tmp"
        with open(tmp_path, "w") as f:
            f.write(text)
        os.replace(tmp_path, self.config_path)

    def admin(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stats(self):
        return json.loads(self.admin("/stats")[1])

    def vm_hwm_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def err_text(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")


def curl(*args, timeout=60, check=True, input_bytes=None):
    r = subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=timeout,
                       input=input_bytes)
    if check and r.returncode != 0:
        raise AssertionError(f"curl {args} failed {r.returncode}: {r.stderr.decode()}")
    return r


def curl_json(*args, input_bytes=None):
    return json.loads(curl(*args, input_bytes=input_bytes).stdout)


def raw_exchange(port, data, read_until_close=True, timeout=5):
    """Sends bytes on a fresh connection and returns everything read until EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
            if not read_until_close:
                break
        return out


def routes_yaml(cells, tenants, unknown="{status: 421, body: \"unknown tenant\\n\"}", extra_cells=""):
    cell_lines = "".join(f"  {name}:\n    {body}\n" for name, body in cells.items())
    tenant_lines = "".join(f"  {name}: {{cell: {cell}}}\n" for name, cell in tenants.items())
    return (
        "router:\n"
        "  tenant_key_sources:\n"
        "    - {type: host, wildcards: [\"*.example.com\"]}\n"
        "    - {type: header, name: X-Tenant}\n"
        "    - {type: path, prefixes: [\"/t/\"]}\n"
        "    - {type: cookie, name: tenant}\n"
        f"  unknown_tenant: {unknown}\n"
        "  timeouts_ms: {connect: 1000, header_read: 2000, upstream_response: 5000, idle: 10000}\n"
        "cells:\n" + cell_lines + extra_cells +
        "tenants:\n" + tenant_lines)


def backends_yaml(*addresses, fallback=""):
    items = ", ".join(f"{{address: \"{a}\"}}" for a in addresses)
    return f"{{backends: [{items}]{fallback}}}"


class RouterTestCase(unittest.TestCase):
    def setUp(self):
        self.procs = Processes()
        self.addCleanup(self.procs.kill_all)
        self.tmp = tempfile.TemporaryDirectory(prefix="gridrouter_test.")
        self.addCleanup(self.tmp.cleanup)
        self.b1 = Backend(self.procs, "b1")
        self.b2 = Backend(self.procs, "b2")

    def start_router(self, **kwargs):
        config = routes_yaml({"c1": backends_yaml(self.b1.address),
                              "c2": backends_yaml(self.b2.address)},
                             {"acme": "c1", "beta": "c2"})
        self.router = Router(self.procs, self.tmp.name, config, **kwargs)
        return self.router


class RoutingTest(RouterTestCase):
    def setUp(self):
        super().setUp()
        self.log_path = os.path.join(self.tmp.name, "access.log")
        self.start_router(access_log=self.log_path)

    def test_routes_by_host_header_path_and_cookie(self):
        url = self.router.url
        self.assertEqual(curl_json("-H", "Host: acme.example.com", url + "/a")["backend"], "b1")
        self.assertEqual(curl_json("-H", "Host: beta.example.com", url + "/a")["backend"], "b2")
        self.assertEqual(curl_json("-H", "X-Tenant: beta", url + "/a")["backend"], "b2")
        self.assertEqual(curl_json(url + "/t/acme/orders")["backend"], "b1")
        self.assertEqual(curl_json("-b", "tenant=beta", url + "/a")["backend"], "b2")
        # Sources are tried in order: the host wins over the header.
        self.assertEqual(
            curl_json("-H", "Host: acme.example.com", "-H", "X-Tenant: beta", url + "/")["backend"],
            "b1")

    def test_forwarded_headers(self):
        echo = curl_json("-H", "X-Tenant: acme", "-H", "X-Request-Id: abc", self.router.url + "/")
        headers = {k.lower(): v for k, v in echo["headers"]}
        self.assertEqual(headers["x-forwarded-for"], "127.0.0.1")
        self.assertEqual(headers["x-forwarded-proto"], "http")
        self.assertEqual(headers["x-request-id"], "abc")

    def test_unknown_tenant_gets_the_table_answer(self):
        r = curl("-i", "-H", "X-Tenant: nobody", self.router.url + "/")
        out = r.stdout.decode()
        self.assertTrue(out.startswith("HTTP/1.1 421 "), out)
        self.assertTrue(out.endswith("unknown tenant\n"), out)

    def test_upstream_keep_alive_is_reused(self):
        first = curl_json("-H", "X-Tenant: acme", self.router.url + "/1")
        second = curl_json("-H", "X-Tenant: acme", self.router.url + "/2")
        self.assertEqual(first["connection"], second["connection"])
        self.assertEqual(second["request_on_connection"], first["request_on_connection"] + 1)
        self.assertGreaterEqual(self.router.stats()["upstream_reuses"], 1)

    def test_pipelined_requests_are_answered_in_order(self):
        reqs = b"".join(
            f"GET /p{i} HTTP/1.1\r\nHost: acme.example.com\r\n\r\n".encode() for i in range(3))
        reqs += b"GET /last HTTP/1.1\r\nHost: acme.example.com\r\nConnection: close\r\n\r\n"
        out = raw_exchange(self.router.port, reqs).decode()
        targets = [t for t in ("/p0", "/p1", "/p2", "/last") if f'"target": "{t}"' in out]
        self.assertEqual(targets, ["/p0", "/p1", "/p2", "/last"])
        positions = [out.index(f'"target": "{t}"') for t in targets]
        self.assertEqual(positions, sorted(positions))

    def test_access_log_has_a_line_per_request(self):
        curl("-H", "X-Tenant: acme", self.router.url + "/logged?x=1")
        def logged():
            with open(self.log_path) as f:
                return next((l for l in f if "/logged" in l), None)
        line = wait_for(logged, "access log line")
        self.assertIn('"GET /logged?x=1" 200', line)
        self.assertIn(self.b1.address, line)

    def test_several_loops_serve_the_same_port(self):
        router = Router(self.procs, self.tmp.name, routes_yaml(
            {"c1": backends_yaml(self.b1.address)}, {"acme": "c1"}), threads=3)
        for i in range(12):
            self.assertEqual(curl_json("-H", "X-Tenant: acme", f"{router.url}/{i}")["backend"], "b1")
        self.assertEqual(router.stats()["requests"], 12)

    def test_head_and_http10_requests(self):
        r = curl("-I", "-H", "X-Tenant: acme", self.router.url + "/h", timeout=10)
        self.assertTrue(r.stdout.startswith(b"HTTP/1.1 200 "), r.stdout[:80])
        r = curl("-0", "-i", "-H", "X-Tenant: acme", self.router.url + "/ten")
        out = r.stdout.decode()
        self.assertTrue(out.startswith("HTTP/1.1 200 "), out[:80])
        self.assertIn("Connection: close", out)
        self.assertIn('"target": "/ten"', out)

    def test_session_cookie_is_set_and_followed(self):
        sticky = ("{session_cookie: {name: grid_sticky}, backends: [{address: \"%s\"}, "
                  "{address: \"%s\"}]}" % (self.b1.address, self.b2.address))
        router = Router(self.procs, self.tmp.name, routes_yaml({"c1": sticky}, {"acme": "c1"}))
        r = curl("-i", "-H", "X-Tenant: acme", router.url + "/")
        out = r.stdout.decode()
        cookie = next(l for l in out.split("\r\n") if l.startswith("Set-Cookie: grid_sticky="))
        token = cookie.split(":", 1)[1].split(";")[0].strip()
        first = json.loads(out.split("\r\n\r\n", 1)[1])["backend"]
        for _ in range(6):
            self.assertEqual(curl_json("-H", "X-Tenant: acme", "-b", token, router.url + "/")["backend"],
                             first)

    def test_admin_endpoints(self):
        self.assertEqual(self.router.admin("/healthz")[0], 200)
        self.assertEqual(self.router.admin("/readyz")[0], 200)
        routes = json.loads(self.router.admin("/routes")[1])
        self.assertEqual((routes["revision"], routes["cells"], routes["tenants"]), (1, 2, 2))
        curl("-H", "X-Tenant: acme", self.router.url + "/")
        self.assertGreaterEqual(self.router.stats()["requests"], 1)


class StreamingTest(RouterTestCase):
    def setUp(self):
        super().setUp()
        self.start_router()

    def test_chunked_upload(self):
        data = os.urandom(3 * 1024 * 1024)
        r = subprocess.run(["curl", "-sS", "-H", "X-Tenant: acme", "-H", "Transfer-Encoding: chunked",
                            "--data-binary", "@-", self.router.url + "/up"],
                           input=data, capture_output=True, timeout=60)
        echo = json.loads(r.stdout)
        self.assertEqual(echo["body_bytes"], len(data))
        self.assertGreater(echo["chunks"], 0)

    def test_100_mib_upload_streams_without_growing_memory(self):
        size = 100 * 1024 * 1024
        path = os.path.join(self.tmp.name, "big")
        with open(path, "wb") as f:
            f.truncate(size)
        echo = curl_json("-H", "X-Tenant: acme", "-T", path, self.router.url + "/big")
        self.assertEqual(echo["body_bytes"], size)
        hwm_kib = self.router.vm_hwm_kib()
        print(f"router VmHWM after a {size >> 20} MiB upload: {hwm_kib} KiB", file=sys.stderr)
        # The whole body is 100 MiB; the router holds a few buffers at a time.
        self.assertLess(hwm_kib, 40 * 1024, f"VmHWM {hwm_kib} KiB")

    def test_10_mib_download(self):
        n = 10 * 1024 * 1024
        out = os.path.join(self.tmp.name, "down")
        r = curl("-H", "X-Tenant: acme", "-o", out, "-w", "%{http_code} %{size_download}",
                 f"{self.router.url}/download?bytes={n}")
        self.assertEqual(r.stdout.decode(), f"200 {n}")
        self.assertEqual(os.path.getsize(out), n)

    def test_expect_100_continue_is_relayed(self):
        data = os.urandom(256 * 1024)
        r = subprocess.run(["curl", "-sS", "-v", "-H", "X-Tenant: acme", "-H", "Expect: 100-continue",
                            "--data-binary", "@-", self.router.url + "/exp"],
                           input=data, capture_output=True, timeout=60)
        self.assertIn("< HTTP/1.1 100 Continue", r.stderr.decode())
        self.assertEqual(json.loads(r.stdout)["body_bytes"], len(data))

    def test_upgrade_tunnels_bytes_both_ways(self):
        with socket.create_connection(("127.0.0.1", self.router.port), timeout=5) as s:
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: acme.example.com\r\nConnection: Upgrade\r\n"
                      b"Upgrade: websocket\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                self.assertTrue(chunk, head)
                head += chunk
            self.assertTrue(head.startswith(b"HTTP/1.1 101 "), head)
            self.assertIn(b"upgrade", head.lower())
            rest = head.split(b"\r\n\r\n", 1)[1]
            for message in (b"ping-1", b"x" * 200000):
                s.sendall(message)
                got = rest
                rest = b""
                while len(got) < len(message):
                    chunk = s.recv(65536)
                    self.assertTrue(chunk)
                    got += chunk
                self.assertEqual(got, message)
            # The client's half-close reaches the backend, whose close comes back.
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(s.recv(1), b"")


class FailureTest(RouterTestCase):
    def test_all_backends_of_a_cell_down_answers_503_quickly(self):
        down = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
        config = routes_yaml({"c1": backends_yaml(self.b1.address),
                              "dead": backends_yaml(*down, fallback=", fallback: {status: 503, retry_after_s: 7}")},
                             {"acme": "c1", "gone": "dead"})
        router = Router(self.procs, self.tmp.name, config)
        for _ in range(3):
            start = time.monotonic()
            r = curl("-i", "-H", "X-Tenant: gone", router.url + "/")
            elapsed = time.monotonic() - start
            out = r.stdout.decode()
            self.assertTrue(out.startswith("HTTP/1.1 503 "), out)
            self.assertIn("Retry-After: 7", out)
            self.assertLess(elapsed, 1.0)
        # The other cell is unaffected.
        self.assertEqual(curl_json("-H", "X-Tenant: acme", router.url + "/")["backend"], "b1")

    def test_connect_failure_retries_another_backend(self):
        down = f"127.0.0.1:{free_port()}"
        config = routes_yaml({"c1": backends_yaml(down, self.b1.address)}, {"acme": "c1"})
        router = Router(self.procs, self.tmp.name, config)
        for _ in range(4):
            self.assertEqual(curl_json("-H", "X-Tenant: acme", router.url + "/")["backend"], "b1")

    def test_a_put_with_a_body_its_backend_dropped_is_sent_whole_to_another(self):
        config = routes_yaml({"c1": backends_yaml(self.b1.address, self.b2.address)},
                             {"acme": "c1"})
        backend_control(self.b2, "/control/fail?code=-1")
        body = b"p" * 1000
        router = Router(self.procs, self.tmp.name, config)
        for i in range(4):  # round robin: two of them meet the dropper first
            answer = curl_json("-X", "PUT", "-H", "X-Tenant: acme", "--data-binary", "@-",
                               router.url + "/doc", input_bytes=body)
            self.assertEqual((answer["backend"], answer["body_bytes"]), ("b1", 1000), i)
        self.assertEqual(backend_control(self.b2, "/control/counts")["requests"], 2)
        self.assertEqual(router.stats()["retries"], 2)

        # Over --max-replay-body-bytes the body is not kept: a dropped PUT gets 502.
        router.proc.terminate()
        router.proc.wait(timeout=DEADLINE_S)
        router = Router(self.procs, self.tmp.name, config,
                        extra=("--max-replay-body-bytes", "999"))
        statuses = sorted(curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                               "-H", "X-Tenant: acme", "--data-binary", "@-",
                               router.url + "/doc", input_bytes=body).stdout.decode()
                          for _ in range(2))
        self.assertEqual(statuses, ["200", "502"])
        self.assertEqual(router.stats()["retries"], 0)

    def test_max_replay_body_bytes_out_of_range_is_refused(self):
        config = routes_yaml({"c1": backends_yaml(self.b1.address)}, {"acme": "c1"})
        path = os.path.join(self.tmp.name, "routes.yaml")
        with open(path, "w") as f:
            f.write(config)
        r = subprocess.run([GRIDROUTER, "--config", path, "--listen", "127.0.0.1:0",
                            "--max-replay-body-bytes", str(1024 * 1024 + 1)],
                           capture_output=True, timeout=DEADLINE_S)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"--max-replay-body-bytes", r.stderr + r.stdout)

    def test_hostile_requests_are_refused(self):
        router = self.start_router()
        cases = [
            (b"POST / HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 5\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"HTTP/1.1 400 "),
            (b"GET / HTTP/1.1\r\nHost: acme.example.com\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n",
             b"HTTP/1.1 431 "),
            (b"GET / HTTP/1.1\r\nHost: acme.example.com\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
             b"HTTP/1.1 400 "),
            (b"GET / HTTP/1.1\nHost: acme.example.com\n\n", b"HTTP/1.1 400 "),
            (b"GET / HTTP/3.0\r\nHost: acme.example.com\r\n\r\n", b"HTTP/1.1 505 "),
        ]
        for request, status in cases:
            out = raw_exchange(router.port, request)
            self.assertTrue(out.startswith(status), (request[:60], out[:80]))
            self.assertIn(b"Connection: close", out)

    def test_upstream_timeout_answers_504(self):
        config = routes_yaml({"c1": backends_yaml(self.b1.address)}, {"acme": "c1"}).replace(
            "upstream_response: 5000", "upstream_response: 300")
        router = Router(self.procs, self.tmp.name, config)
        r = curl("-i", "-H", "X-Tenant: acme", router.url + "/slow?ms=3000")
        self.assertTrue(r.stdout.decode().startswith("HTTP/1.1 504 "), r.stdout[:80])


class LifecycleTest(RouterTestCase):
    def test_sighup_reloads_a_valid_file_and_keeps_the_table_on_an_invalid_one(self):
        router = self.start_router()
        url = router.url
        self.assertEqual(curl_json("-H", "X-Tenant: acme", url + "/")["backend"], "b1")
        moved = routes_yaml({"c1": backends_yaml(self.b1.address),
                             "c2": backends_yaml(self.b2.address)},
                            {"acme": "c2", "beta": "c2"})
        router.write_config(moved)
        router.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: json.loads(router.admin("/routes")[1])["revision"] == 2, "revision 2")
        self.assertEqual(curl_json("-H", "X-Tenant: acme", url + "/")["backend"], "b2")

        broken = moved.replace("acme: {cell: c2}", "acme: {cell: nowhere}")
        router.write_config(broken)
        router.proc.send_signal(signal.SIGHUP)
        message = wait_for(lambda: "refused" in router.err_text() and router.err_text(),
                           "reload refusal")
        self.assertIn("/grid/routes/tenants/acme", message)
        self.assertIn("cell", message)
        self.assertEqual(json.loads(router.admin("/routes")[1])["revision"], 2)
        self.assertEqual(curl_json("-H", "X-Tenant: acme", url + "/")["backend"], "b2")

    def test_sigterm_drains_in_flight_requests_then_exits_0(self):
        router = self.start_router()
        slow = subprocess.Popen(["curl", "-sS", "-H", "X-Tenant: acme",
                                 router.url + "/slow?ms=1500"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: slow.poll() is None and slow.kill())
        wait_for(lambda: router.stats()["requests"] >= 1, "the slow request in flight")
        # An idle keep-alive client connection must not hold the drain up.
        idle = socket.create_connection(("127.0.0.1", router.port), timeout=5)
        self.addCleanup(idle.close)
        wait_for(lambda: router.stats()["connections_active"] >= 2, "idle connection accepted")
        router.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: router.admin("/readyz")[0] == 503, "not ready while draining")
        out, err = slow.communicate(timeout=DEADLINE_S)
        self.assertEqual(slow.returncode, 0, err)
        self.assertEqual(json.loads(out)["target"], "/slow?ms=1500")
        self.assertEqual(router.proc.wait(timeout=DEADLINE_S), 0)
        self.assertEqual(idle.recv(1), b"")  # closed by the router

    def test_drain_deadline_closes_what_is_left_and_exits_0(self):
        config = routes_yaml({"c1": backends_yaml(self.b1.address)}, {"acme": "c1"})
        router = Router(self.procs, self.tmp.name, config, extra=("--drain-deadline-ms", "300"))
        slow = subprocess.Popen(["curl", "-sS", "-H", "X-Tenant: acme", router.url + "/slow?ms=5000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: slow.poll() is None and slow.kill())
        wait_for(lambda: router.stats()["requests"] >= 1, "the slow request in flight")
        start = time.monotonic()
        router.proc.send_signal(signal.SIGTERM)
        self.assertEqual(router.proc.wait(timeout=DEADLINE_S), 0)
        self.assertLess(time.monotonic() - start, 3.0)
        slow.communicate(timeout=DEADLINE_S)
        self.assertNotEqual(slow.returncode, 0)  # cut off: the response never came

    def test_header_read_timeout_answers_408(self):
        config = routes_yaml({"c1": backends_yaml(self.b1.address)}, {"acme": "c1"}).replace(
            "header_read: 2000", "header_read: 200")
        router = Router(self.procs, self.tmp.name, config)
        start = time.monotonic()
        out = raw_exchange(router.port, b"GET / HTTP/1.1\r\nHost: acme.example.com\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 408 "), out[:80])
        self.assertLess(time.monotonic() - start, 3.0)


def backend_control(backend, path):
    with urllib.request.urlopen(f"http://{backend.address}{path}", timeout=5) as r:
        return json.loads(r.read())


def get(port, tenant, path="/", timeout=5):
    """One request on a new connection: (status, headers dict lowercased, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"X-Tenant": tenant})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


METRIC_LINE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\})? (-?[0-9.eE+]+|NaN|[+-]Inf)$')


def parse_metrics(text):
    """Prometheus text format 0.0.4 → {(name, frozenset(labels)): value}; asserts the syntax:
    every sample's family has one TYPE line before it, names and labels are well formed."""
    types, samples = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, f"second TYPE for {name}"
            types[name] = kind
            continue
        if line.startswith("#"):
            assert line.startswith("# HELP "), line
            continue
        m = METRIC_LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(2), m.group(3)
        assert name in types, f"sample before its TYPE: {line}"
        pairs = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or ""))
        key = (name, pairs)
        assert key not in samples, f"duplicate sample {line}"
        samples[key] = float(value)
    return samples


def metric(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def health_cell(backends, check="", outlier="", limits="", fallback=""):
    items = ", ".join(f"{{address: \"{b}\"}}" for b in backends)
    body = f"{{backends: [{items}]"
    for key, value in (("health_check", check), ("outlier_detection", outlier),
                       ("limits", limits)):
        if value:
            body += f", {key}: {{{value}}}"
    return body + fallback + "}"


class HealthProtectTest(RouterTestCase):
    """Active health checks, outlier ejection, cell isolation, rate limits, caps, /metrics."""

    def cells(self, router):
        doc = json.loads(router.admin("/cells")[1])
        return {c["name"]: c for c in doc["cells"]}

    def backend_view(self, router, cell, address):
        for group in self.cells(router)[cell]["groups"]:
            for b in group["backends"]:
                if b["address"] == address:
                    return b
        raise AssertionError(f"{address} not in /cells for {cell}")

    def test_active_health_down_after_exactly_unhealthy_threshold_and_back_after_healthy(self):
        unhealthy, healthy = 3, 2
        check = (f"type: http, path: /health, interval_ms: 300, timeout_ms: 200, "
                 f"unhealthy_threshold: {unhealthy}, healthy_threshold: {healthy}")
        config = routes_yaml({"c1": health_cell([self.b1.address], check=check,
                                                fallback=", fallback: {status: 503, retry_after_s: 4}")},
                             {"acme": "c1"})
        router = Router(self.procs, self.tmp.name, config)
        wait_for(lambda: backend_control(self.b1, "/control/counts")["probes_passed"] >= 1,
                 "a first probe")
        self.assertTrue(self.backend_view(router, "c1", self.b1.address)["active_healthy"])

        def observe(counter, until_healthy):
            """Polls until the state flips; each look brackets /cells between two equal
            counts, so the count that goes with each state is exact."""
            while True:
                before = backend_control(self.b1, "/control/counts")[counter]
                state = self.backend_view(router, "c1", self.b1.address)["active_healthy"]
                after = backend_control(self.b1, "/control/counts")[counter]
                if before != after:
                    continue
                if state == until_healthy:
                    return before
                yield before

        backend_control(self.b1, "/control/health?code=500")
        seen_down_at = self._flip_count(observe, "probes_failed", False, limit=unhealthy)
        self.assertEqual(seen_down_at, unhealthy)
        status, headers, _ = get(router.port, "acme")
        self.assertEqual(status, 503)
        self.assertEqual(headers.get("retry-after"), "4")

        backend_control(self.b1, "/control/health?code=200")
        seen_up_at = self._flip_count(observe, "probes_passed", True, limit=healthy)
        self.assertEqual(seen_up_at, healthy)
        self.assertEqual(get(router.port, "acme")[0], 200)

    def _flip_count(self, observe, counter, until_healthy, limit=None):
        gen = observe(counter, until_healthy)
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                count = next(gen)
            except StopIteration as done:
                return done.value
            if limit is not None:
                self.assertLess(count, limit, "state did not flip at the threshold")
            self.assertLess(time.monotonic(), deadline, "state never flipped")
            time.sleep(0.01)

    def test_outlier_ejection_on_consecutive_5xx_and_return_after_base_ejection(self):
        outlier = ("consecutive_connect_failures: 0, consecutive_5xx: 3, base_ejection_ms: 1500, "
                   "max_ejection_ms: 60000, max_ejected_percent: 50")
        config = routes_yaml({"c1": health_cell([self.b1.address, self.b2.address],
                                                outlier=outlier)}, {"acme": "c1"})
        router = Router(self.procs, self.tmp.name, config)
        backend_control(self.b1, "/control/fail?code=500")
        statuses = [get(router.port, "acme")[0] for _ in range(12)]
        self.assertEqual(statuses.count(500), 3, statuses)  # the third one ejected b1
        view = self.backend_view(router, "c1", self.b1.address)
        self.assertTrue(view["ejected"], view)
        self.assertEqual(view["times_ejected"], 1)
        self.assertFalse(view["available"])
        start = time.monotonic()
        backend_control(self.b1, "/control/fail?code=0")
        wait_for(lambda: not self.backend_view(router, "c1", self.b1.address)["ejected"],
                 "the ejection to end")
        print(f"b1 back after {time.monotonic() - start:.2f}s (base ejection 1.5s)", file=sys.stderr)
        seen = {json.loads(get(router.port, "acme")[2])["backend"] for _ in range(6)}
        self.assertEqual(seen, {"b1", "b2"})

    def test_cell_isolation_when_every_backend_of_a_cell_dies(self):
        a1 = Backend(self.procs, "a1")
        a2 = Backend(self.procs, "a2")
        check = "type: tcp, interval_ms: 200, timeout_ms: 100, unhealthy_threshold: 2, healthy_threshold: 1"
        config = routes_yaml(
            {"ca": health_cell([a1.address, a2.address], check=check,
                               fallback=", fallback: {status: 503, retry_after_s: 3}"),
             "cb": health_cell([self.b1.address])},
            {"ta": "ca", "tb": "cb"})
        router = Router(self.procs, self.tmp.name, config, threads=2)
        stop = threading.Event()
        results = {"ta": [], "tb": []}
        lock = threading.Lock()

        def client(tenant):
            conn = None
            while not stop.is_set():
                start = time.monotonic()
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=5)
                    conn.request("GET", "/", headers={"X-Tenant": tenant})
                    r = conn.getresponse()
                    r.read()
                    outcome = (r.status, r.getheader("Retry-After"))
                    if r.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException) as e:
                    outcome = ("error", type(e).__name__)
                    if conn is not None:
                        conn.close()
                    conn = None
                with lock:
                    results[tenant].append((time.monotonic(), outcome, time.monotonic() - start))
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=client, args=(t,)) for t in ("ta", "ta", "tb", "tb")]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(results["ta"]) >= 20 and len(results["tb"]) >= 20, "load running")
            killed_at = time.monotonic()
            a1.proc.kill()
            a2.proc.kill()
            wait_for(lambda: all(b["active_healthy"] is False
                                 for b in self.cells(router)["ca"]["groups"][0]["backends"]),
                     "cell a marked down")
            marked = len(results["ta"])
            wait_for(lambda: len(results["ta"]) >= marked + 20, "requests to the dead cell")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=DEADLINE_S)
        b_outcomes = {o for _, o, _ in results["tb"]}
        self.assertEqual(b_outcomes, {(200, None)}, "cell b saw errors")
        after = [(o, d) for when, o, d in results["ta"] if when > killed_at]
        self.assertTrue(after)
        allowed = {(200, None), (502, None), (503, "3")}
        self.assertTrue({o for o, _ in after} <= allowed, {o for o, _ in after})
        self.assertEqual(after[-1][0], (503, "3"))
        slowest = max(d for _, d in after)
        print(f"cell a after the kill: {len(after)} answers, slowest {slowest * 1000:.0f} ms; "
              f"cell b: {len(results['tb'])} answers, all 200", file=sys.stderr)
        self.assertLess(slowest, 5.0)  # never hangs (the client's own timeout)

    def test_rate_limit_allows_exactly_burst_then_429_with_retry_after(self):
        config = routes_yaml({"c1": backends_yaml(self.b1.address)}, {"acme": "c1"}).replace(
            "acme: {cell: c1}", "acme: {cell: c1, rate_limit: {rps: 1, burst: 5}}")
        router = Router(self.procs, self.tmp.name, config)
        conn = http.client.HTTPConnection("127.0.0.1", router.port, timeout=5)
        statuses, retry_after = [], None
        start = time.monotonic()
        for _ in range(8):
            conn.request("GET", "/", headers={"X-Tenant": "acme"})
            r = conn.getresponse()
            r.read()
            statuses.append(r.status)
            if r.status == 429:
                retry_after = r.getheader("Retry-After")
                self.assertEqual(r.getheader("X-Grid-Refused"), "rate-limit")
        elapsed = time.monotonic() - start
        conn.close()
        print(f"8 requests in {elapsed * 1000:.0f} ms", file=sys.stderr)
        if elapsed < 1.0:  # no token can have come back yet
            self.assertEqual(statuses, [200] * 5 + [429] * 3)
        self.assertEqual(statuses[:5], [200] * 5)
        self.assertEqual(retry_after, "1")
        self.assertEqual(backend_control(self.b1, "/control/counts")["requests"], statuses.count(200))
        samples = parse_metrics(router.admin("/metrics")[1])
        self.assertEqual(metric(samples, "gridrouter_refusals_total", reason="rate_limit"),
                         statuses.count(429))

    def caps_case(self, limits, refused_name, extra_backends=()):
        config = routes_yaml({"c1": health_cell([self.b1.address, *extra_backends], limits=limits)},
                             {"acme": "c1"})
        router = Router(self.procs, self.tmp.name, config)
        slow = []
        for _ in range(2):
            t = threading.Thread(target=lambda: slow.append(get(router.port, "acme", "/slow?ms=2000")))
            t.start()
            self.addCleanup(t.join, DEADLINE_S)
        wait_for(lambda: self.cells(router)["c1"]["pending_requests"] == 2, "two requests pending")
        refused = [get(router.port, "acme") for _ in range(3)]
        for status, headers, _ in refused:
            self.assertEqual(status, 503)
            self.assertEqual(headers.get("x-grid-refused"), refused_name)
            self.assertEqual(headers.get("retry-after"), "1")
        wait_for(lambda: len(slow) == 2, "the slow requests")
        self.assertEqual([s for s, _, _ in slow], [200, 200])
        samples = parse_metrics(router.admin("/metrics")[1])
        self.assertEqual(metric(samples, "gridrouter_refusals_total",
                                reason=refused_name.replace("-", "_")), 3)
        return router

    def test_backend_pending_cap_refuses_the_excess_with_503(self):
        self.caps_case("max_pending_requests_per_backend: 2", "backend-pending")

    def test_a_backend_at_its_cap_is_passed_over_while_another_has_room(self):
        """As nginx's max_conns: with a per-backend pending cap of 1, the other backend takes the
        requests the busy one cannot; only once both are full is the excess refused."""
        config = routes_yaml(
            {"c1": health_cell([self.b1.address, self.b2.address],
                               limits="max_pending_requests_per_backend: 1")}, {"acme": "c1"})
        router = Router(self.procs, self.tmp.name, config)
        slow = []

        def hold():
            t = threading.Thread(target=lambda: slow.append(get(router.port, "acme",
                                                                "/slow?ms=2000")))
            t.start()
            self.addCleanup(t.join, DEADLINE_S)

        hold()
        wait_for(lambda: self.cells(router)["c1"]["pending_requests"] == 1, "one request pending")
        busy = [b["address"] for g in self.cells(router)["c1"]["groups"] for b in g["backends"]
                if b["pending_requests"] == 1]
        self.assertEqual(len(busy), 1)
        free = "b2" if busy[0] == self.b1.address else "b1"
        served = [get(router.port, "acme") for _ in range(4)]
        self.assertEqual([s for s, _, _ in served], [200] * 4)
        self.assertEqual({json.loads(body)["backend"] for _, _, body in served}, {free})
        hold()  # the free backend is now full too
        wait_for(lambda: self.cells(router)["c1"]["pending_requests"] == 2, "two requests pending")
        status, headers, _ = get(router.port, "acme")
        self.assertEqual((status, headers.get("x-grid-refused")), (503, "backend-pending"))
        wait_for(lambda: len(slow) == 2, "the slow requests")
        self.assertEqual(sorted(json.loads(body)["backend"] for _, _, body in slow), ["b1", "b2"])

    def test_cell_connection_cap_refuses_the_excess_with_503(self):
        self.caps_case("max_connections: 2", "cell-connections")

    def test_metrics_parse_and_count_what_happened(self):
        config = routes_yaml({"c1": backends_yaml(self.b1.address)}, {"acme": "c1"})
        router = Router(self.procs, self.tmp.name, config)
        for _ in range(4):
            self.assertEqual(get(router.port, "acme")[0], 200)
        self.assertEqual(get(router.port, "nobody")[0], 421)
        self.assertEqual(get(router.port, "acme", "/status?code=503")[0], 503)
        # A proxied response is counted when the loop ends its exchange, which may come just
        # after the client has read the last byte: wait until all six are counted.
        def counted():
            status, text = router.admin("/metrics")
            self.assertEqual(status, 200)
            samples = parse_metrics(text)
            return sum(metric(samples, "gridrouter_responses_total", **{"class": c})
                       for c in ("1xx", "2xx", "3xx", "4xx", "5xx")) == 6
        wait_for(counted, "six responses counted")
        samples = parse_metrics(router.admin("/metrics")[1])
        self.assertEqual(metric(samples, "gridrouter_requests_total"), 6)
        self.assertEqual(metric(samples, "gridrouter_responses_total", **{"class": "2xx"}), 4)
        self.assertEqual(metric(samples, "gridrouter_responses_total", **{"class": "4xx"}), 1)
        self.assertEqual(metric(samples, "gridrouter_responses_total", **{"class": "5xx"}), 1)
        self.assertEqual(metric(samples, "gridrouter_refusals_total", reason="unknown_tenant"), 1)
        self.assertEqual(metric(samples, "gridrouter_upstream_5xx_total"), 1)
        self.assertEqual(metric(samples, "gridrouter_table_revision"), 1)
        self.assertEqual(metric(samples, "gridrouter_table_swaps_total"), 1)
        self.assertEqual(metric(samples, "gridrouter_requests_in_flight"), 0)
        self.assertEqual(metric(samples, "gridrouter_backend_available", cell="c1",
                                group="default", backend=self.b1.address), 1)
        self.assertGreaterEqual(metric(samples, "gridrouter_upstream_connects_total"), 1)
        # A reload is one more swap.
        router.write_config(config.replace("acme: {cell: c1}", "acme: {cell: c1}\n  zed: {cell: c1}"))
        router.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: metric(parse_metrics(router.admin("/metrics")[1]),
                                "gridrouter_table_swaps_total") == 2, "second swap")


if __name__ == "__main__":
    GRIDROUTER = sys.argv.pop(1)
    unittest.main(verbosity=2)
