#!/usr/bin/python3
"""Leases kept alive through a follower stay alive: keepalives and time-to-live reads reach
the leader, which alone expires leases.

usage: lease_forwarding_test.py --server PATH [--etcdctl PATH] [--keep]

3 members. A lease of TTL_SECONDS is granted at a follower with a key attached, then
`etcdctl lease keep-alive` runs against that follower for KEEPALIVE_SECONDS (several TTLs).
Meanwhile `lease timetolive` at the leader and at the follower must keep showing the lease,
and the key must stay. After the keep-alive stops the lease must expire, and its key go,
within TTL + EXPIRY_SLACK_SECONDS. Both etcd 3.4 and gridkv must pass (run it with
--server "$(command -v etcd)" to check the test itself).
"""
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, "..", "compat"))
import cluster  # noqa: E402
import servers  # noqa: E402

TTL_SECONDS = 4
KEEPALIVE_SECONDS = 14
EXPIRY_SLACK_SECONDS = 6
COMMAND_TIMEOUT_SECONDS = 20
POLL_INTERVAL_SECONDS = 0.2
KEY = "leased-key"


Failure = cluster.Failure


def ctl(cl, m, *args):
    return cluster.ctl(cl, [m.endpoint], *args, timeout_seconds=COMMAND_TIMEOUT_SECONDS)


def remaining_ttl(cl, m, lease_hex):
    """The remaining TTL `lease timetolive` prints at member m; -1 once the lease is gone."""
    out = ctl(cl, m, "lease", "timetolive", lease_hex).stdout
    if "already expired" in out:
        return -1
    found = re.search(r"remaining\((-?\d+)s\)", out)
    if not found:
        raise Failure("unexpected timetolive output at %s: %r" % (m.name, out))
    return int(found.group(1))


def key_present(cl, m):
    return ctl(cl, m, "get", KEY, "--print-value-only").stdout.strip() != ""


def run(args):
    with cluster.Cluster(args.server, "lease", 3, args.etcdctl, keep=args.keep) as cl:
        cl.wait_until("a leader", lambda: cl.leader_name() is not None)
        leader = cl.member(cl.leader_name())
        follower = next(m for m in cl.members if m is not leader)
        out = ctl(cl, follower, "lease", "grant", str(TTL_SECONDS)).stdout
        lease_hex = re.search(r"lease ([0-9a-f]+) granted", out).group(1)
        ctl(cl, follower, "put", KEY, "v", "--lease=" + lease_hex)
        print("lease %s (TTL %ds) granted at follower %s; leader %s"
              % (lease_hex, TTL_SECONDS, follower.name, leader.name))
        keeper = subprocess.Popen(cluster.die_with_parent([cl.etcdctl, "--endpoints",
                                                           follower.endpoint, "lease",
                                                           "keep-alive", lease_hex]),
                                  env=servers.ctl_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        try:
            end = time.monotonic() + KEEPALIVE_SECONDS
            checks = 0
            while time.monotonic() < end:
                for m in (leader, follower):
                    ttl = remaining_ttl(cl, m, lease_hex)
                    if ttl < 0:
                        raise Failure("the lease expired at %s while kept alive through %s"
                                      % (m.name, follower.name))
                if not key_present(cl, leader):
                    raise Failure("the leased key went away while the lease was kept alive")
                checks += 1
                time.sleep(POLL_INTERVAL_SECONDS)
            print("kept alive for %ds (%.1f TTLs) through the follower: alive at leader and "
                  "follower in %d checks" % (KEEPALIVE_SECONDS, KEEPALIVE_SECONDS / TTL_SECONDS,
                                              checks))
        finally:
            keeper.send_signal(signal.SIGTERM)
            try:
                keeper.wait(10)
            except subprocess.TimeoutExpired:
                keeper.kill()
                keeper.wait()
        stopped = time.monotonic()
        deadline = stopped + TTL_SECONDS + EXPIRY_SLACK_SECONDS
        while time.monotonic() < deadline:
            if remaining_ttl(cl, leader, lease_hex) < 0 and not key_present(cl, follower):
                print("after the keep-alive stopped the lease expired and its key went in %.1fs"
                      % (time.monotonic() - stopped))
                return
            time.sleep(POLL_INTERVAL_SECONDS)
        raise Failure("the lease did not expire within %ds after its keep-alive stopped"
                      % (TTL_SECONDS + EXPIRY_SLACK_SECONDS))


if __name__ == "__main__":
    sys.exit(cluster.run_scenario(run))
