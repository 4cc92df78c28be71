"""Acceptance tests of the control plane with real processes: gridmas and gridctl driving
real store members (etcd 3.4 or gridkv), real gridrouter replicas and their L4 front, with
the control plane's own store a single etcd 3.4 member (engine etcd) or a single gridkv
(engine gridkv).

    mas_acceptance_test.py --engine etcd|gridkv --gridmas PATH --gridctl PATH --gridkv PATH
                           --gridrouter PATH --etcd PATH [--wrk PATH] [unittest args]

Every process listens on a loopback port chosen by binding or by the kernel; data lives in
temp dirs removed at the end (kept when $MAS_ACCEPTANCE_KEEP_DIR is set); waits poll with deadlines; nothing asserts a time: measured
times are printed as "MEASURED <what>: <seconds> s". Instances outlive gridmas, so every
test kills gridmas first, then every instance recorded under its runtime root.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

# grpc's fork handlers can block a fork (subprocess) for ever while its threads are busy;
# every child here execs at once, so they are not needed.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
import etcd3  # noqa: E402
from etcd3 import etcdrpc

from mas_procs import (ControlStore, Gridmas, Processes, Writer, healthy_members, instance_dir,
                       instance_record, kill_instances, kv_yaml, measured, members,
                       reserve_reuseport_port, settled, tail, wait_for)
from mas_jobs import RunLog, check_runs, header_revision

HERE = os.path.dirname(os.path.abspath(__file__))
BACKEND = os.path.join(os.path.dirname(os.path.dirname(HERE)), "router", "backend.py")
ARGS = None

PROVISION_DEADLINE_S = 60
OPERATION_DEADLINE_S = 120
BLUE_GREEN_HOLD_S = 3         # each weight step is watched this long under load


def in_sync(urls, lag_entries=100):
    """Every member answers Status, all name the same leader, raft indexes within the lag."""
    statuses = []
    for url in urls:
        host, port = url.split("//", 1)[-1].rsplit(":", 1)
        try:
            c = etcd3.client(host, int(port), timeout=2)
        except Exception:  # noqa: BLE001  (not up yet)
            return False
        try:
            statuses.append(c.maintenancestub.Status(etcdrpc.StatusRequest(), 2))
        except Exception:  # noqa: BLE001
            return False
        finally:
            c.close()
    leaders = {st.leader for st in statuses}
    indexes = [st.raftIndex for st in statuses]
    return len(leaders) == 1 and 0 not in leaders and max(indexes) - min(indexes) <= lag_entries


def etcd_version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("etcd Version: "):
            return line[len("etcd Version: "):].strip()
    raise AssertionError(f"{binary} --version printed no version: {out!r}")


class ControlPlaneCase(unittest.TestCase):
    """A control store, a runtime root and the engine's base binary per test."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mas_acceptance.")
        self.root = os.path.join(self.tmp, "root")
        self.procs = Processes()
        self.masses = []
        self.addCleanup(self._cleanup)
        self.engine = ARGS.engine
        if self.engine == "etcd":
            self.base_binary, self.version = ARGS.etcd, etcd_version(ARGS.etcd)
        else:
            self.base_binary, self.version = ARGS.gridkv, "local"
        self.binaries = [f"{self.engine}@{self.version}={self.base_binary}",
                         f"gridrouter@local={ARGS.gridrouter}"]
        store_binary = ARGS.etcd if self.engine == "etcd" else ARGS.gridkv
        self.store = ControlStore(self.procs, self.engine, store_binary, self.tmp)

    def _cleanup(self):
        for m in self.masses:  # first: a live leader would restart what is killed next
            if m.proc.poll() is None:
                m.kill9()
        kill_instances(self.root)
        self.procs.kill_all()
        kill_instances(self.root)
        if os.environ.get("MAS_ACCEPTANCE_KEEP_DIR"):  # for diagnosis: logs and records
            print(f"kept {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start_mas(self, replica="mas-a"):
        m = Gridmas(self.procs, ARGS.gridmas, ARGS.gridctl, self.store.endpoint, self.root,
                    os.path.join(self.tmp, f"{replica}.log"), replica, self.binaries)
        self.masses.append(m)
        return m

    def copy_binary(self, source, name):
        """A second version is a second binary: a copy registered under another version."""
        os.makedirs(os.path.join(self.tmp, "bin"), exist_ok=True)
        path = os.path.join(self.tmp, "bin", name)
        shutil.copy2(source, path)
        return path

    def wait_kv(self, mas, name, count, what, timeout=OPERATION_DEADLINE_S, version=None,
                extra=lambda obj: True):
        """Waits for phase Run at the current generation with `count` healthy members."""
        def done():
            obj = mas.get("kvclusters", name)
            ok = settled(obj) and healthy_members(obj, count, version) and extra(obj)
            return obj if ok else None
        try:
            return wait_for(done, what, timeout=timeout, interval=0.05)
        except AssertionError:
            raise AssertionError(f"{what}: last status {mas.get('kvclusters', name)}\n"
                                 f"{tail(mas.log_path)}")

    def urls_of(self, mas_list, name):
        def urls():
            for m in mas_list():
                obj = m.get("kvclusters", name)
                if obj:
                    return [x["clientURL"] for x in members(obj) if x.get("clientURL")]
            return []
        return urls

    def check_writes(self, writer, urls, what):
        lost = writer.lost(urls)
        print(f"writer ({what}): {writer.count()} acknowledged writes, {writer.failed} "
              f"failed attempts (last error: {writer.last_error or 'none'})", flush=True)
        self.assertEqual(len(lost), 0, f"{len(lost)} acknowledged writes lost, e.g. "
                                       f"{sorted(lost)[:5]}")
        self.assertGreater(writer.count(), 0)


# ---------------------------------------------------------------------------------------
# 1. Provision, scale out and in, a crashed member, a member whose data is lost.


class KVClusterLifecycleTest(ControlPlaneCase):
    def test_provision_scale_crash_data_loss_without_losing_acknowledged_writes(self):
        mas = self.start_mas()
        name = "life"
        t0 = time.monotonic()
        mas.apply(kv_yaml(name, self.engine, self.version, 3))
        obj = self.wait_kv(mas, name, 3, "provision 3 → Run", PROVISION_DEADLINE_S)
        measured("provision 3 members → Run", time.monotonic() - t0)

        writer = Writer(self.urls_of(lambda: [mas], name)).start()
        self.addCleanup(writer.stop)
        writer.wait_progress()

        for count in (5, 3):
            t0 = time.monotonic()
            mas.apply(kv_yaml(name, self.engine, self.version, count))
            obj = self.wait_kv(mas, name, count, f"scale to {count}")
            measured(f"scale to {count} members", time.monotonic() - t0)
            writer.wait_progress()
        self.assertEqual(sorted(m["name"] for m in members(obj)),
                         [f"{name}-0", f"{name}-1", f"{name}-2"])

        # kill -9 of one member: restarted in place by the runtime.
        crashed = f"kv/{name}/{name}-1"
        before = instance_record(self.root, crashed)
        t0 = time.monotonic()
        os.kill(before["pid"], signal.SIGKILL)

        def restarted():
            r = instance_record(self.root, crashed)
            return r if r["pid"] > 0 and r["pid"] != before["pid"] and \
                r["restarts"] > before["restarts"] else None
        after = wait_for(restarted, f"{crashed} restarted", timeout=OPERATION_DEADLINE_S)
        urls = [m["clientURL"] for m in members(obj)]
        measured("kill -9 of a member → running again (new pid)", time.monotonic() - t0)
        wait_for(lambda: in_sync(urls), "every member answering, one leader, caught up")
        self.wait_kv(mas, name, 3, "healthy after the crash")
        measured("kill -9 of a member → cluster healthy", time.monotonic() - t0)
        print(f"restarts of {crashed}: {before['restarts']} → {after['restarts']}", flush=True)
        writer.wait_progress()

        # kill -9 and the data dir deleted: replaced (new id, same name), back to 3 healthy.
        lost = f"kv/{name}/{name}-2"
        old_id = next(m["id"] for m in members(obj) if m["name"] == f"{name}-2")
        record = instance_record(self.root, lost)
        t0 = time.monotonic()
        os.kill(record["pid"], signal.SIGKILL)
        shutil.rmtree(os.path.join(instance_dir(self.root, lost), "data"), ignore_errors=True)

        def replaced(o):
            m = next((m for m in members(o) if m["name"] == f"{name}-2"), None)
            return m is not None and m["id"] != old_id
        try:
            obj = self.wait_kv(mas, name, 3, "data-loss replacement", extra=replaced)
        except AssertionError as e:
            r = instance_record(self.root, lost)
            raise AssertionError(f"{e}\n{lost}: restarts {r['restarts']}, last exit "
                                 f"{r['last_exit']!r}; member log:\n"
                                 f"{tail(os.path.join(instance_dir(self.root, lost), 'log'))}")
        wait_for(lambda: in_sync([m["clientURL"] for m in members(obj)]), "members in sync")
        measured("kill -9 + data dir deleted → replaced, 3 healthy", time.monotonic() - t0)
        writer.wait_progress()

        writer.stop()
        self.check_writes(writer, [m["clientURL"] for m in members(obj)], "lifecycle")


# ---------------------------------------------------------------------------------------
# 2. Rolling upgrade under writes; an upgrade resumed by a new control plane.


class RollingUpgradeTest(ControlPlaneCase):
    """A version names a binary: the second version here is a copy of the engine's binary
    registered under another version name (e.g. etcd@3.4.23-b), which is enough for the
    control plane to run a real rolling upgrade, member by member, process by process."""

    def test_upgrade_under_writes_then_resume_after_the_control_plane_is_killed(self):
        old, new = self.version, self.version + "-b"
        self.binaries.append(f"{self.engine}@{new}="
                             f"{self.copy_binary(self.base_binary, self.engine + '-b')}")
        mas = self.start_mas("mas-a")
        name = "upg"
        mas.apply(kv_yaml(name, self.engine, old, 3))
        self.wait_kv(mas, name, 3, "provision 3 → Run", PROVISION_DEADLINE_S)
        writer = Writer(self.urls_of(lambda: [m for m in self.masses
                                              if m.proc.poll() is None], name)).start()
        self.addCleanup(writer.stop)
        writer.wait_progress()

        t0 = time.monotonic()
        mas.apply(kv_yaml(name, self.engine, new, 3))
        upgraded = {}

        def done():
            obj = mas.get("kvclusters", name)
            for m in members(obj):
                if m.get("version") == new and m["name"] not in upgraded:
                    upgraded[m["name"]] = time.monotonic() - t0
            return obj if settled(obj) and healthy_members(obj, 3, new) else None
        obj = wait_for(done, f"all members on {new}", OPERATION_DEADLINE_S, interval=0.02)
        measured(f"rolling upgrade {old} → {new} (3 members)", time.monotonic() - t0)
        for member, seconds in sorted(upgraded.items(), key=lambda kv: kv[1]):
            measured(f"member {member} on {new} after", seconds)
        self.assertEqual({m["version"] for m in members(obj)}, {new})
        writer.wait_progress()
        self.check_writes(writer, [m["clientURL"] for m in members(obj)], "first upgrade")

        # Back to the old version; gridmas killed once a member step is done and not all.
        mas.apply(kv_yaml(name, self.engine, old, 3))

        def midway():
            o = mas.get("kvclusters", name)
            op = (o or {}).get("status", {}).get("operation") or {}
            on_old = sum(1 for m in members(o) if m.get("version") == old)
            return op.get("name") == "RollingUpgrade" and 1 <= on_old < 3 and op
        op = wait_for(midway, "the upgrade back midway", OPERATION_DEADLINE_S, interval=0.01)
        mas.kill9()
        t0 = time.monotonic()
        print(f"gridmas killed during step {op.get('step')} on {op.get('member')}", flush=True)
        second = self.start_mas("mas-b")
        obj = self.wait_kv(second, name, 3, f"the upgrade back to {old} resumed", version=old)
        measured("upgrade resumed by a new gridmas and completed after the kill", time.monotonic() - t0)
        self.assertTrue(second.leads())
        writer.wait_progress()
        writer.stop()
        self.check_writes(writer, [m["clientURL"] for m in members(obj)], "both upgrades")


# ---------------------------------------------------------------------------------------
# 3. A router fleet upgraded blue-green under load through its L4 front.


ROUTES_PREFIX = "/grid/routes"


class RouterFleetBlueGreenTest(ControlPlaneCase):
    def setUp(self):
        if not ARGS.wrk:
            self.skipTest("wrk not found")
        super().setUp()

    def start_backend(self, name):
        p = self.procs.start([sys.executable, BACKEND, "--name", name],
                             os.path.join(self.tmp, f"{name}.log"), stdout_pipe=True)
        line = wait_for(lambda: p.stdout.readline().decode().strip(), f"backend {name}")
        return "127.0.0.1:" + line.rsplit(":", 1)[1]

    def put_table(self, b1, b2):
        c = self.store.client()
        try:
            c.put(f"{ROUTES_PREFIX}/router",
                  '{"tenant_key_sources": [{"type": "header", "name": "X-Tenant"}]}')
            c.put(f"{ROUTES_PREFIX}/cells/c1", '{"backends": [{"address": "%s"}]}' % b1)
            c.put(f"{ROUTES_PREFIX}/cells/c2", '{"backends": [{"address": "%s"}]}' % b2)
            c.put(f"{ROUTES_PREFIX}/tenants/acme", '{"cell": "c1"}')
            c.put(f"{ROUTES_PREFIX}/tenants/beta", '{"cell": "c2"}')
        finally:
            c.close()

    def fleet_yaml(self, version, front_port):
        return ("apiVersion: grid.dev/v1\nkind: RouterFleet\nmetadata: {name: edge}\n"
                f"spec:\n  replicas: 2\n  version: \"{version}\"\n"
                f"  routesPrefix: {ROUTES_PREFIX}\n  store: [\"{self.store.endpoint}\"]\n"
                f"  l4Front: {{name: web, listen: \"127.0.0.1:{front_port}\"}}\n"
                f"  rollout: {{steps: [10, 50, 100], holdSeconds: {BLUE_GREEN_HOLD_S}}}\n")

    def wrk(self, port, seconds):
        """One wrk run; (requests, non-2xx, socket errors, output)."""
        r = subprocess.run([ARGS.wrk, "-t1", "-c8", f"-d{seconds}s", "-H", "X-Tenant: acme",
                            f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                           timeout=seconds + 30)
        requests = non2xx = errors = 0
        for line in r.stdout.splitlines():
            words = line.replace(",", " ").split()
            if "requests in" in line:
                requests = int(words[0])
            elif line.strip().startswith("Non-2xx"):
                non2xx = int(words[-1])
            elif line.strip().startswith("Socket errors"):
                errors = sum(int(w) for w in words if w.isdigit())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return requests, non2xx, errors, r.stdout

    def test_blue_green_upgrade_under_load_answers_every_request(self):
        self.binaries.append("gridrouter@local-b=" +
                             self.copy_binary(ARGS.gridrouter, "gridrouter-b"))
        self.put_table(self.start_backend("b1"), self.start_backend("b2"))
        mas = self.start_mas()
        reservation, front = reserve_reuseport_port()  # held until the test ends
        self.addCleanup(reservation.close)
        t0 = time.monotonic()
        mas.apply(self.fleet_yaml("local", front))
        mas.wait_run("routerfleet", "edge", PROVISION_DEADLINE_S)
        requests, non2xx, errors, out = self.wrk(front, 1)
        self.assertTrue(requests > 0 and non2xx == 0 and errors == 0, out)
        measured("router fleet of 2 + front → Run and serving", time.monotonic() - t0)

        t0 = time.monotonic()
        mas.apply(self.fleet_yaml("local-b", front))
        totals = [0, 0, 0]
        outputs = []
        deadline = time.monotonic() + OPERATION_DEADLINE_S

        def finished():
            obj = mas.get("routerfleets", "edge")
            fleet = ((obj or {}).get("status", {}).get("operation") or {}).get("fleet", {})
            return settled(obj) and fleet.get("activeVersion") == "local-b"
        while not finished():  # back-to-back wrk runs until the shift ends
            self.assertLess(time.monotonic(), deadline,
                            f"blue-green not finished: {mas.get('routerfleets', 'edge')}")
            result = self.wrk(front, 3)
            for i in range(3):
                totals[i] += result[i]
            outputs.append(result[3])
        shift_s = time.monotonic() - t0
        result = self.wrk(front, 1)  # after the shift
        for i in range(3):
            totals[i] += result[i]
        measured("blue-green local → local-b (10/50/100 % and retire)", shift_s)
        print(f"wrk during the shift: {totals[0]} requests, {totals[1]} non-2xx, "
              f"{totals[2]} socket errors", flush=True)
        self.assertGreater(totals[0], 0)
        failed = [o for o in outputs if "Non-2xx" in o or "Socket errors" in o]
        self.assertEqual((totals[1], totals[2]), (0, 0), "\n".join(failed[:3]))
        obj = mas.get("routerfleets", "edge")
        replicas = obj["status"]["operation"]["fleet"]["replicas"]
        self.assertEqual(len(replicas), 2, replicas)
        self.assertEqual({r["version"] for r in replicas}, {"local-b"})


# ---------------------------------------------------------------------------------------
# 4. Two gridmas replicas: one leads; the other takes over when it dies.


class TwoReplicasTest(ControlPlaneCase):
    def test_one_leader_and_takeover_after_kill(self):
        a, b = self.start_mas("mas-a"), self.start_mas("mas-b")
        leader = wait_for(lambda: next((m for m in (a, b) if m.leads()), None), "a leader")
        other = b if leader is a else a
        name = "pair"
        leader.apply(kv_yaml(name, self.engine, self.version, 3))
        self.wait_kv(other, name, 3, "provision 3 → Run", PROVISION_DEADLINE_S)
        self.assertEqual([m.leads() for m in (a, b)].count(True), 1,
                         a.log()[-2000:] + b.log()[-2000:])

        leader.kill9()
        t0 = time.monotonic()
        wait_for(other.leads, f"{other.replica} to take over", OPERATION_DEADLINE_S)
        measured("leader killed → other replica leads", time.monotonic() - t0)

        t0 = time.monotonic()
        other.apply(kv_yaml(name, self.engine, self.version, 5))
        self.wait_kv(other, name, 5, "scale 3 → 5 under the new leader")
        measured("scale 3 → 5 under the new leader", time.monotonic() - t0)


# ---------------------------------------------------------------------------------------
# 5. Scheduled jobs across two replicas: every tick of every cluster runs exactly once.


INSPECTION_INTERVAL_S = 10  # the smallest interval the spec accepts
TICKS_BEFORE_KILL = 2       # complete ticks after the first observed one, before the kill
TICKS_AFTER_KILL = 2        # complete ticks on the survivor


class ScheduledJobsTest(ControlPlaneCase):
    """Two gridmas replicas over one store and one runtime root (the local runtime is shared
    by the replicas of a machine: a new leader adopts the instances of the old one), two
    1-member KVClusters inspected every 10 s. Every write of the job records and of the
    reports is watched from the last record of each cluster found once both are Run."""

    def kv_yaml(self, name):
        return (f"apiVersion: grid.dev/v1\nkind: KVCluster\nmetadata: {{name: {name}}}\n"
                f"spec: {{engine: {self.engine}, version: \"{self.version}\", members: 1, "
                f"inspection: {{intervalSeconds: {INSPECTION_INTERVAL_S}}}}}\n")

    def wait_ticks(self, log, clusters, starts, after_revision, count, what):
        """Waits until each cluster has `count` runs claimed after `after_revision`, the last
        one reported."""
        def done():
            for c in clusters:
                runs, _ = log.runs(c, starts[c])
                later = [r for r in runs if r.record.revision > after_revision]
                if len(later) < count or later[-1].report is None:
                    return False
            return True
        try:
            wait_for(done, what, timeout=(count + 2) * INSPECTION_INTERVAL_S + 30, interval=0.1)
        except AssertionError as e:
            raise AssertionError(f"{e}; runs: "
                                 f"{ {c: log.runs(c, starts[c]) for c in clusters} }; "
                                 f"watch errors: {log.errors()}\n"
                                 + "".join(m.log()[-2000:] for m in self.masses))

    def test_every_tick_runs_exactly_once_across_replicas_and_after_a_kill(self):
        a, b = self.start_mas("mas-a"), self.start_mas("mas-b")
        replicas = {m.replica: m for m in (a, b)}
        leader = wait_for(lambda: next((m for m in (a, b) if m.leads()), None), "a leader")
        clusters = ["j1", "j2"]
        for name in clusters:
            leader.apply(self.kv_yaml(name))
        for name in clusters:
            self.wait_kv(leader, name, 1, f"{name}: provision 1 → Run", PROVISION_DEADLINE_S)

        client = self.store.client()
        self.addCleanup(client.close)
        log = RunLog(client)

        # Each cluster's window starts at the write of its latest record.
        def latest_records():
            out = {}
            for c in clusters:
                value, meta = client.get(log.record_key(c))
                if value is None:
                    return None
                out[c] = meta.mod_revision
            return out
        starts = wait_for(latest_records, "a first inspection record of every cluster",
                          timeout=2 * INSPECTION_INTERVAL_S + 10)
        log.start(min(starts.values()))
        self.addCleanup(log.stop)

        self.wait_ticks(log, clusters, starts, 0, 1 + TICKS_BEFORE_KILL,
                        f"{1 + TICKS_BEFORE_KILL} ticks of every cluster")

        # kill -9 of the replica that ran the latest tick, once that run is reported and no
        # replica holds or waits for an inspection lock (a replica killed holding the lock
        # would keep it until its session lease expires).
        def quiet():
            held = list(client.get_prefix(log.lock_prefix))
            runs = [r for c in clusters for r in log.runs(c, starts[c])[0]]
            latest = max(runs, key=lambda r: r.record.revision)
            return latest if not held and latest.report is not None else None
        latest = wait_for(quiet, "no inspection lock held", timeout=2 * INSPECTION_INTERVAL_S)
        victim = replicas[latest.replica]
        survivor = b if victim is a else a
        victim_led = victim.leads()
        victim.kill9()
        kill_revision = header_revision(client)
        t0 = time.monotonic()
        print(f"killed {victim.replica} ({'leader' if victim_led else 'not the leader'}) after "
              f"it ran tick {latest.tick} of {latest.record.cluster}, at revision "
              f"{kill_revision}", flush=True)

        self.wait_ticks(log, clusters, starts, kill_revision, 1, "a tick on the survivor")
        measured(f"kill -9 of {victim.replica} → next tick run by {survivor.replica}",
                 time.monotonic() - t0)
        self.wait_ticks(log, clusters, starts, kill_revision, TICKS_AFTER_KILL,
                        f"{TICKS_AFTER_KILL} ticks on the survivor")

        # The window of each cluster ends at the report of its last run so far; every write
        # up to there has been delivered once complete_to answers.
        ends = {}
        for c in clusters:
            runs, _ = log.runs(c, starts[c])
            ends[c] = max(r.report.revision for r in runs if r.report is not None)
        wait_for(lambda: log.complete_to(clusters), "every write delivered by the watch")
        self.assertEqual(log.errors(), [])

        problems = []
        for c in clusters:
            runs, strays = log.runs(c, starts[c], ends[c])
            before = [r for r in runs if r.record.revision <= kill_revision]
            after = [r for r in runs if r.record.revision > kill_revision]
            # A tick claimed by the killed replica but not reported (killed mid-run) counts
            # as run: JobLock claims a tick before running it, at most once.
            claimed = [r for r in before if r.replica == victim.replica][-1:]
            unreported = [r for r in claimed if r.report is None]
            problems += [f"{c}: {p}" for p in check_runs(runs, strays, set(replicas),
                                                         unreported)]
            problems += [f"{c}: {r} after the kill" for r in after
                         if r.replica != survivor.replica]
            records = len(runs)
            reports = sum(1 for r in runs if r.report is not None)
            by_replica = lambda rs: {m: sum(1 for r in rs if r.replica == m)  # noqa: E731
                                     for m in sorted(replicas)}
            ticks = f"{runs[0].tick}..{runs[-1].tick}" if runs else "none"
            print(f"{c}: ticks {ticks} observed ({len(runs)} ticks), "
                  f"{records} records, {reports} reports, {len(unreported)} claimed by the "
                  f"killed replica without a report; runs per replica before the kill "
                  f"{by_replica(before)}, after {by_replica(after)}", flush=True)
            if records - len(unreported) != reports:
                problems.append(f"{c}: {records} records, {reports} reports")
            if len(after) < TICKS_AFTER_KILL:
                problems.append(f"{c}: {len(after)} ticks after the kill")
        self.assertEqual(problems, [], "\n".join(problems))


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("etcd", "gridkv"), required=True)
    for flag in ("gridmas", "gridctl", "gridkv", "gridrouter", "etcd"):
        parser.add_argument(f"--{flag}", required=True)
    parser.add_argument("--wrk", default=shutil.which("wrk"))
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
