"""Lock clients with fencing tokens, and the check of what they saw.

Each locker thread repeatedly: grants a lease, takes the lock through the Lock
service (v3lockpb), reads its lock key to learn the key's create revision (the
fencing token), writes the token into FENCE_KEY with a Txn that only succeeds
when the stored token is lower, holds briefly, then unlocks and revokes.

A lease-based lock can be lost without the holder knowing (its lease expires
while it is cut off or slow), so two clients may believe they hold the lock at
once; the revision is what makes that harmless: a store that orders holders
correctly gives every later holder a larger token, and the guarded write turns
away the stale one. The check therefore reports overlaps (expected to be rare)
separately from violations: overlapping holders whose tokens do not increase
in acquisition order, a token shared by two holders, and accepted fenced writes
whose tokens go down in real time.
"""
import collections
import json
import threading
import time

import grpc

from etcdclient import Conn

LOCK_NAME = "chaos-lock"
FENCE_KEY = "chaos-fence"
TOKEN_DIGITS = 20  # zero-padded so that byte order is numeric order
LEASE_TTL_SECONDS = 5
LOCK_WAIT_SECONDS = 3.0  # below the TTL: a lock granted in time is granted within the lease
CALL_TIMEOUT_SECONDS = 1.0
FAILURE_BACKOFF_SECONDS = 0.1
MIN_HOLD_SECONDS = 0.05
MAX_HOLD_SECONDS = 0.2
MAX_ACQUISITIONS_PER_LOCKER = 100000


def token_text(token):
    return str(token).zfill(TOKEN_DIGITS)


class Locker(threading.Thread):
    def __init__(self, index, endpoint, rng, stop):
        super().__init__(name="locker-%d" % index, daemon=True)
        self.index = index
        self.endpoint = endpoint
        self.rng = rng
        self.stop = stop
        self.holds = []  # one dict per acquisition
        self.attempts = 0
        self.lost_before_use = 0  # lock granted but its key already gone
        self.failures = collections.Counter()  # "step: gRPC code" -> count
        self.error = None

    def run(self):
        conn = Conn(self.endpoint)
        try:
            for _ in range(MAX_ACQUISITIONS_PER_LOCKER):
                if self.stop.is_set():
                    break
                if not self._one(conn):
                    conn.reset()
                    self.stop.wait(FAILURE_BACKOFF_SECONDS)
        except Exception as e:  # a harness bug: surfaced by the runner
            self.error = e
        finally:
            conn.close()

    def _one(self, conn):
        self.attempts += 1
        try:
            lease = conn.lease_grant(LEASE_TTL_SECONDS, CALL_TIMEOUT_SECONDS)
        except (grpc.RpcError, RuntimeError) as e:
            self._failed("lease", e)
            return False
        try:
            _, key = conn.lock(LOCK_NAME, lease, LOCK_WAIT_SECONDS)
            acquired = time.monotonic_ns()
            kv = conn.get_kv(key.decode(), CALL_TIMEOUT_SECONDS)
        except grpc.RpcError as e:
            self._failed("lock", e)
            self._revoke(conn, lease)
            return False
        if kv is None or kv.lease != lease:
            self.lost_before_use += 1
            self._revoke(conn, lease)
            return True
        hold = {"locker": self.index, "token": kv.create_revision, "acquired": acquired,
                "released": None, "fence": None, "fence_invoke": None, "fence_return": None}
        self.holds.append(hold)
        hold["fence_invoke"] = time.monotonic_ns()
        try:
            accepted = conn.put_if_value_below(FENCE_KEY, token_text(hold["token"]),
                                               CALL_TIMEOUT_SECONDS)
            hold["fence_return"] = time.monotonic_ns()
            hold["fence"] = "accepted" if accepted else "rejected"
        except grpc.RpcError as e:
            self._failed("fence", e)
            hold["fence"] = "unknown"
        self.stop.wait(self.rng.uniform(MIN_HOLD_SECONDS, MAX_HOLD_SECONDS))
        hold["released"] = time.monotonic_ns()
        try:
            conn.unlock(key, CALL_TIMEOUT_SECONDS)
        except grpc.RpcError:
            pass  # the lease revoke below, or its expiry, frees the lock
        self._revoke(conn, lease)
        return hold["fence"] != "unknown"

    def _failed(self, step, err):
        code = err.code().name if isinstance(err, grpc.RpcError) else type(err).__name__
        self.failures["%s: %s" % (step, code)] += 1

    @staticmethod
    def _revoke(conn, lease):
        try:
            conn.lease_revoke(lease, CALL_TIMEOUT_SECONDS)
        except grpc.RpcError:
            pass


def write_holds(path, holds):
    with open(path, "w") as f:
        for h in sorted(holds, key=lambda h: h["acquired"]):
            f.write(json.dumps(h, separators=(",", ":")) + "\n")


def check_holds(holds, final_fence):
    """Returns a dict: holders, overlaps, bad_overlaps, fence_violations, problems (text)."""
    problems = []
    hs = sorted(holds, key=lambda h: h["acquired"])
    overlaps = bad = 0
    for i, a in enumerate(hs):
        for b in hs[i + 1:]:
            if b["acquired"] >= a["released"]:
                break
            overlaps += 1
            if b["token"] <= a["token"]:
                bad += 1
                problems.append("overlapping holders with non-increasing tokens: "
                                "locker %d token %d then locker %d token %d"
                                % (a["locker"], a["token"], b["locker"], b["token"]))
    seen = {}
    for h in hs:
        if h["token"] in seen:
            bad += 1
            problems.append("token %d granted twice (lockers %d and %d)"
                            % (h["token"], seen[h["token"]], h["locker"]))
        seen[h["token"]] = h["locker"]
    fence_bad = 0
    accepted = sorted((h for h in hs if h["fence"] == "accepted"),
                      key=lambda h: h["fence_invoke"])
    for i, a in enumerate(accepted):
        for b in accepted[i + 1:]:
            if b["fence_invoke"] > a["fence_return"] and b["token"] <= a["token"]:
                fence_bad += 1
                problems.append("fenced write of token %d accepted after token %d"
                                % (b["token"], a["token"]))
    # The final fence is the largest accepted token, or a larger one whose write is unknown.
    if final_fence is not None:
        top = max([h["token"] for h in accepted], default=0)
        unknown = {h["token"] for h in hs if h["fence"] == "unknown"}
        final = int(final_fence)
        if final != top and not (final in unknown and final > top):
            fence_bad += 1
            problems.append("final fence %d is neither the largest accepted token %d "
                            "nor a larger unknown one" % (final, top))
    return {"holders": len(hs), "overlaps": overlaps, "bad_overlaps": bad,
            "fence_violations": fence_bad, "problems": problems}
