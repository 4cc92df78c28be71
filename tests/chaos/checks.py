"""Checks of a recorded run: linearizability (external checker), durability of
acknowledged writes, and a small fallback of simple register invariants."""
import subprocess
import time

import grpc

LINCHECK_TIMEOUT_SECONDS = 600
FINAL_READ_DEADLINE_SECONDS = 30
FINAL_READ_TIMEOUT_SECONDS = 2.0
POLL_INTERVAL_SECONDS = 0.1

VERDICTS = {0: "linearizable", 1: "VIOLATION", 2: "unknown"}


def run_lincheck(checker, history_path, out_path):
    """Runs the checker; returns (verdict word, first output line). Its full output goes
    to out_path."""
    try:
        r = subprocess.run([checker, history_path], capture_output=True, text=True,
                           timeout=LINCHECK_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return "unknown", "checker ran longer than %ds" % LINCHECK_TIMEOUT_SECONDS
    with open(out_path, "w") as f:
        f.write(r.stdout)
        f.write(r.stderr)
    text = (r.stdout.strip() or r.stderr.strip()).splitlines()
    return VERDICTS.get(r.returncode, "unknown"), text[0] if text else ""


def final_reads(cluster, keys):
    """{key: {member index: value}}, a linearizable read of every key on every member,
    each retried until it answers or the deadline passes (then raises)."""
    deadline = time.monotonic() + FINAL_READ_DEADLINE_SECONDS
    out = {k: {} for k in keys}
    for m in cluster.members:
        for k in keys:
            while True:
                try:
                    out[k][m.index] = m.conn.get(k, FINAL_READ_TIMEOUT_SECONDS)
                    break
                except grpc.RpcError as e:
                    m.conn.reset()
                    if time.monotonic() > deadline:
                        raise RuntimeError("final read of %s on %s: %s"
                                           % (k, m.name, e.code().name))
                    time.sleep(POLL_INTERVAL_SECONDS)
    return out


def _writes(records, key):
    return [r for r in records if r["key"] == key and r["op"] in ("put", "delete")
            and r["ok"] is not False]


def allowed_final_values(records, key):
    """Values (None = absent) the key may hold once all writes are over: the value of
    any acknowledged or unknown write not certainly followed by a later acknowledged
    write; absent when no write was acknowledged (nothing may then have happened)."""
    writes = _writes(records, key)
    acked_invokes = [w["invoke"] for w in writes if w["ok"]]
    allowed = set()
    if not acked_invokes:
        allowed.add(None)
    for w in writes:
        superseded = w["return"] is not None and any(i > w["return"] for i in acked_invokes)
        if not superseded:
            allowed.add(w["value"] if w["op"] == "put" else None)
    return allowed


def check_durability(records, reads):
    """Every member must return the same final value per key, and it must be one the
    history allows. Returns (lost count, problem texts)."""
    lost = 0
    problems = []
    for key, per_member in sorted(reads.items()):
        values = set(per_member.values())
        allowed = allowed_final_values(records, key)
        if len(values) != 1:
            lost += 1
            problems.append("members disagree on %s: %s" % (key, per_member))
        elif not values <= allowed:
            lost += 1
            problems.append("final %s = %r, but the history allows only %s"
                            % (key, values.pop(), sorted(allowed, key=str)))
    return lost, problems


def fallback_check(records):
    """The simplest register invariants, for when no linearizability checker ran:
    (1) no read returns a value that no put wrote;
    (2) a read that starts after an acknowledged write W returned sees W's value or the
        value of a write that may come after W (one not over before W started).
    Returns problem texts."""
    problems = []
    written = {r["value"] for r in records if r["op"] == "put" and r["ok"] is not False}
    by_key = {}
    for r in records:
        by_key.setdefault(r["key"], []).append(r)
    for key, ops in by_key.items():
        writes = _writes(ops, key)
        acked = sorted((w for w in writes if w["ok"]), key=lambda w: w["return"])
        for g in ops:
            if g["op"] != "get" or not g["ok"]:
                continue
            if g["result"] is not None and g["result"] not in written:
                problems.append("read of %s returned %r, never written" % (key, g["result"]))
                continue
            before = [w for w in acked if w["return"] < g["invoke"]]
            if not before:
                continue
            last = before[-1]
            ok_values = {last["value"] if last["op"] == "put" else None}
            for w in writes:
                if w is last or w["invoke"] > g["return"]:
                    continue
                if w["return"] is None or w["return"] > last["invoke"]:
                    ok_values.add(w["value"] if w["op"] == "put" else None)
            if g["result"] not in ok_values:
                problems.append("stale read of %s by client %s: %r, after the write of %r "
                                "had returned" % (key, g["client"], g["result"],
                                                  last["value"]))
    return problems
