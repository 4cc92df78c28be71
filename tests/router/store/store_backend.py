"""backend.py's backend with a deep listen backlog, optionally slow.

    store_backend.py --name NAME [--delay-ms N]      prints "listening on 127.0.0.1:PORT"

backend.py's server keeps socketserver's listen backlog of 5: a burst of new upstream
connections (8 load clients moving to another cell at once) overflows it, the kernel drops
SYNs, the router's connect times out and it ejects the backend (`connect_failure_eject_ms`),
which is the proxy doing its job, not what these tests measure. --delay-ms makes every request
wait that long before it is answered (a backend that holds its requests longer).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import backend  # noqa: E402  (tests/router/backend.py)

LISTEN_BACKLOG = 256


class DeepServer(backend.Server):
    request_queue_size = LISTEN_BACKLOG


class SlowHandler(backend.Handler):
    def read_head(self):
        head = super().read_head()
        if head is not None and self.server.delay_s > 0:
            time.sleep(self.server.delay_s)
        return head


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args()
    server = DeepServer(("127.0.0.1", 0), SlowHandler)
    server.backend_name = args.name
    server.delay_s = args.delay_ms / 1000.0
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
