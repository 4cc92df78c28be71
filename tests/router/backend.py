"""A tiny HTTP/1.1 backend for the router's black-box tests.

Keep-alive, Content-Length and chunked request bodies (read and counted, never kept),
Expect: 100-continue, and an Upgrade echo. Every answer is JSON naming the backend, the
connection's sequence number and request count on it (to observe upstream keep-alive), the
request line, the headers and the body length.

    backend.py --name NAME [--port 0]      prints "listening on 127.0.0.1:PORT"

Paths:
    /download?bytes=N    N bytes of body (Content-Length), streamed
    /slow?ms=N           answers after N ms
    /status?code=N       answers with status N
    /health              the health check: answers with the health status (default 200) and
                         counts the probe as passed (200) or failed (anything else)
    /control/health?code=N   sets the health status and zeroes the probe counts
    /control/fail?code=N     every other path answers N from now on (0: back to normal;
                             -1: reads the request, then closes the connection unanswered)
    /control/counts      {"probes_passed": P, "probes_failed": F, "requests": R} as JSON
    anything else        the JSON echo
Control paths are not counted as requests.
Upgrade (any protocol): 101, then every byte received is sent back until EOF.
"""

import argparse
import itertools
import json
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

CHUNK = 64 * 1024
_connection_ids = itertools.count(1)


class Handler(socketserver.StreamRequestHandler):
    rbufsize = CHUNK

    def setup(self):
        super().setup()
        self.connection_id = next(_connection_ids)
        self.requests_on_connection = 0

    def handle(self):
        while True:
            try:
                if not self.handle_one():
                    return
            except (ConnectionError, BrokenPipeError):
                return

    def read_head(self):
        line = self.rfile.readline(65537)
        if not line:
            return None
        request_line = line.decode("latin-1").rstrip("\r\n")
        headers = []
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        return request_line, headers

    def read_body(self, headers):
        lower = {k.lower(): v for k, v in headers}
        total = 0
        if lower.get("transfer-encoding", "").lower() == "chunked":
            chunks = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return total, chunks
                chunks += 1
                left = size
                while left:
                    got = self.rfile.read(min(left, CHUNK))
                    if not got:
                        raise ConnectionError("eof in chunk")
                    left -= len(got)
                total += size
                self.rfile.readline()
        length = int(lower.get("content-length", "0"))
        left = length
        while left:
            got = self.rfile.read(min(left, CHUNK))
            if not got:
                raise ConnectionError("eof in body")
            left -= len(got)
        return length, 0

    def send(self, status, body, extra=()):
        head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}",
                "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in extra]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        self.wfile.flush()

    def handle_one(self):
        head = self.read_head()
        if head is None:
            return False
        request_line, headers = head
        self.requests_on_connection += 1
        lower = {k.lower(): v for k, v in headers}
        method, target, _ = request_line.split(" ", 2)
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query))
        if "upgrade" in lower.get("connection", "").lower() and "upgrade" in lower:
            self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                             b"Upgrade: " + lower["upgrade"].encode() + b"\r\n\r\n")
            self.wfile.flush()
            while True:
                data = self.rfile.read1(CHUNK)
                if not data:
                    return False
                self.request.sendall(data)
        if lower.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()
        body_bytes, chunks = self.read_body(headers)
        state = self.server.state
        if url.path.startswith("/control/"):
            with state["lock"]:
                if url.path == "/control/health":
                    state["health"] = int(query.get("code", "200"))
                    state["probes_passed"] = state["probes_failed"] = 0
                elif url.path == "/control/fail":
                    state["fail"] = int(query.get("code", "0"))
                answer = json.dumps({k: state[k] for k in
                                     ("probes_passed", "probes_failed", "requests")}).encode()
            self.send(200, answer)
            return "close" not in lower.get("connection", "").lower()
        if url.path == "/health":
            with state["lock"]:
                code = state["health"]
                state["probes_passed" if code == 200 else "probes_failed"] += 1
            self.send(code, b"{}")
            return "close" not in lower.get("connection", "").lower()
        with state["lock"]:
            state["requests"] += 1
            fail = state["fail"]
        if fail < 0:
            return False  # closes unanswered: the proxy sees EOF before any response byte
        if fail:
            self.send(fail, json.dumps({"backend": self.server.backend_name}).encode())
            return "close" not in lower.get("connection", "").lower()
        if url.path == "/download":
            n = int(query.get("bytes", "0"))
            self.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n".encode())
            block = b"d" * CHUNK
            while n:
                part = block[:min(n, CHUNK)]
                self.wfile.write(part)
                n -= len(part)
            self.wfile.flush()
            return True
        if url.path == "/slow":
            time.sleep(int(query.get("ms", "1000")) / 1000.0)
        status = int(query.get("code", "200")) if url.path == "/status" else 200
        body = json.dumps({
            "backend": self.server.backend_name,
            "connection": self.connection_id,
            "request_on_connection": self.requests_on_connection,
            "method": method,
            "target": target,
            "headers": headers,
            "body_bytes": body_bytes,
            "chunks": chunks,
        }).encode()
        self.send(status, body)
        return "close" not in lower.get("connection", "").lower()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The health status, failure mode and counts the /control paths read and set.
        self.state = {"lock": threading.Lock(), "health": 200, "fail": 0, "probes_passed": 0,
                      "probes_failed": 0, "requests": 0}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.backend_name = args.name
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
