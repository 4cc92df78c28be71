"""Where cluster members live on the network, and how to cut links between them.

Two implementations with one interface:

NetnsNetwork (root, `ip netns` works): the harness moves itself into a private
"hub" network namespace holding a bridge; every member runs in its own
namespace, joined to the bridge by a veth pair, with its own address. Clients
(in the hub) reach every member directly. A partition installs blackhole
routes inside the member namespaces for the addresses on the other side, so
member-to-member traffic is cut in both directions while client traffic from
the hub is untouched. Everything is private to this process: fixed ports are
safe, and nothing in the host's own namespace is touched.

LoopbackNetwork (fallback): members on 127.0.0.1 with free ports; no
partitions (a loopback address does not identify the sending member).
"""
import ctypes
import os
import re
import socket
import subprocess

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
NS_PREFIX = "gchaos-"
SUBNET_PREFIX = "10.99.0."
HUB_ADDRESS = SUBNET_PREFIX + "1"
FIRST_MEMBER_HOST = 11
NETNS_CLIENT_PORT = 2379
NETNS_PEER_PORT = 2380
IP_COMMAND_TIMEOUT_SECONDS = 20


def free_port():
    """A currently unused loopback port (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ip(args, stdin=None):
    r = subprocess.run(["ip"] + args, input=stdin, capture_output=True, text=True,
                       timeout=IP_COMMAND_TIMEOUT_SECONDS)
    if r.returncode != 0:
        raise RuntimeError("ip %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_namespaces():
    """Deletes namespaces left by an earlier harness process that no longer runs."""
    if not os.path.isdir(NETNS_DIR):
        return
    for name in os.listdir(NETNS_DIR):
        m = re.match(re.escape(NS_PREFIX) + r"(\d+)-", name)
        if m and not _pid_alive(int(m.group(1))):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def netns_usable():
    """(True, "") when this process may create namespaces; else (False, why)."""
    if os.geteuid() != 0:
        return False, "partitions need root (network namespaces)"
    probe = "%s%d-probe" % (NS_PREFIX, os.getpid())
    try:
        _ip(["netns", "add", probe])
        _ip(["netns", "del", probe])
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return False, "ip netns does not work here: %s" % e
    return True, ""


class LoopbackNetwork:
    """All members on 127.0.0.1; partitions are not available."""

    supports_partitions = False
    description = "loopback (no partitions)"

    def __init__(self, members):
        self.members = members

    def client_host(self, index):
        return "127.0.0.1"

    def peer_host(self, index):
        return "127.0.0.1"

    def ports(self, index):
        return free_port(), free_port()

    def exec_prefix(self, index):
        return []

    def partition(self, groups):
        raise RuntimeError("partitions need the namespace network")

    def heal(self):
        pass

    def close(self):
        pass


class NetnsNetwork:
    """One namespace per member behind a bridge in a private hub namespace."""

    supports_partitions = True
    description = "network namespaces + bridge, partitions by blackhole routes"

    def __init__(self, members):
        self.members = members
        self.prefix = "%s%d-" % (NS_PREFIX, os.getpid())
        self.hub = self.prefix + "hub"
        self.namespaces = []
        self.blocked = set()  # (from_index, to_index) pairs with a blackhole route
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _add_ns(self, name):
        _ip(["netns", "add", name])
        self.namespaces.append(name)
        _ip(["-n", name, "link", "set", "lo", "up"])

    def _build(self):
        self._add_ns(self.hub)
        _ip(["-n", self.hub, "link", "add", "br0", "type", "bridge"])
        _ip(["-n", self.hub, "addr", "add", HUB_ADDRESS + "/24", "dev", "br0"])
        _ip(["-n", self.hub, "link", "set", "br0", "up"])
        for i in range(self.members):
            ns = self.member_ns(i)
            self._add_ns(ns)
            _ip(["-n", self.hub, "link", "add", "h%d" % i, "type", "veth",
                 "peer", "name", "eth0", "netns", ns])
            _ip(["-n", self.hub, "link", "set", "h%d" % i, "master", "br0", "up"])
            _ip(["-n", ns, "addr", "add", self.client_host(i) + "/24", "dev", "eth0"])
            _ip(["-n", ns, "link", "set", "eth0", "up"])
        # Only now move the harness: from here on its sockets live in the hub.
        self._enter(self.hub)

    @staticmethod
    def _enter(name):
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "setns(%s): %s" % (name, os.strerror(err)))
        finally:
            os.close(fd)

    def member_ns(self, index):
        return "%sm%d" % (self.prefix, index)

    def client_host(self, index):
        return SUBNET_PREFIX + str(FIRST_MEMBER_HOST + index)

    def peer_host(self, index):
        return self.client_host(index)

    def ports(self, index):
        return NETNS_CLIENT_PORT, NETNS_PEER_PORT

    def exec_prefix(self, index):
        return ["nsenter", "--net=" + os.path.join(NETNS_DIR, self.member_ns(index)), "--"]

    def _routes(self, index, verb, targets):
        if not targets:
            return
        script = "".join("route %s blackhole %s/32\n" % (verb, self.peer_host(t))
                         for t in sorted(targets))
        _ip(["-n", self.member_ns(index), "-batch", "-"], stdin=script)

    def partition(self, groups):
        """Cuts every link between members of different groups (both directions)."""
        side = {}
        for g, group in enumerate(groups):
            for m in group:
                side[m] = g
        for a in range(self.members):
            new = {b for b in range(self.members)
                   if b != a and side.get(a) != side.get(b) and (a, b) not in self.blocked}
            self._routes(a, "add", new)
            self.blocked |= {(a, b) for b in new}

    def heal(self):
        for a in range(self.members):
            targets = {b for (x, b) in self.blocked if x == a}
            self._routes(a, "del", targets)
        self.blocked = set()

    def close(self):
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.namespaces = []
