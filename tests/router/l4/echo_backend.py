"""A small line-oriented TCP backend for the L4 black-box tests.

    echo_backend.py --name NAME [--port 0]     prints "listening on 127.0.0.1:PORT"

Each line received is answered on the same connection with "NAME <line>". The line
"slow MS" is answered after MS milliseconds. At end of input the backend finishes its answers
and closes the connection.
"""

import argparse
import socket
import socketserver
import sys
import time


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        name = self.server.backend_name
        for raw in self.rfile:
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith("slow "):
                time.sleep(int(line.split()[1]) / 1000.0)
            try:
                self.wfile.write(f"{name} {line}\n".encode())
                self.wfile.flush()
            except OSError:
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.backend_name = args.name
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
