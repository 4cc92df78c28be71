"""Process helpers shared by gridrouter's black-box suites (tests/router, tests/router/l4,
tests/router/store): polling waits with deadlines, free ports, the first stdout lines of a
process, and a process set killed at the end of a test (and with the test process:
setpriv --pdeathsig).
"""

import os
import signal
import socket
import subprocess
import threading
import time

DEADLINE_S = 20.0

# Every child is started as `setpriv --pdeathsig KILL -- PROGRAM ...` (util-linux, always
# installed): it gets SIGKILL when the test process dies. Not a preexec_fn: that makes Python
# fork() instead of vfork(), and in a test process holding gRPC threads the fork handlers then
# run in the child, which can abort there before it execs. (setpriv sets the signal just
# before it execs the program: a test process dying in that first millisecond leaves it.)
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL", "--"]


def die_with_parent(args):
    """`args` prefixed so the program is killed when the test process dies."""
    return DIE_WITH_PARENT + list(args)


def wait_for(predicate, what, timeout=DEADLINE_S, interval=0.02):
    """Polls `predicate` until it returns a true value (returned) or `timeout` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port():
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_lines(proc, count, timeout=DEADLINE_S):
    """The first `count` stdout lines of a process, within the deadline."""
    lines = []
    done = threading.Event()

    def reader():
        for _ in range(count):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.decode().strip())
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    if not done.wait(timeout) or len(lines) < count:
        raise AssertionError(f"process printed {lines} within {timeout}s")
    return lines


def port_of(line):
    """The port of a "listening on HOST:PORT" line."""
    return int(line.rsplit(":", 1)[1])


class Processes:
    """Every process a test starts; kill_all() at the end."""

    def __init__(self):
        self.procs = []
        self.files = []

    def start(self, args, **kwargs):
        kwargs.setdefault("stdout", subprocess.PIPE)
        p = subprocess.Popen(die_with_parent(args), **kwargs)
        self.procs.append(p)
        return p

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)  # a stopped process dies on SIGKILL too
                except ProcessLookupError:
                    pass
                p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()
        for f in self.files:
            f.close()
