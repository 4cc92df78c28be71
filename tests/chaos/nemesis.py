"""Fault injection into a running cluster, one fault at a time.

Runs in the thread that owns the Cluster (members are restarted from it). Each
fault is applied, held for a random time, then healed; between faults there is
a quiet period. Every fault is logged (monotonic ns, like the history) so a
verdict can be lined up with what was happening.
"""
import json
import time

FAULT_KINDS = ("kill", "pause", "partition")
MIN_QUIET_SECONDS = 0.5
MAX_QUIET_SECONDS = 2.0
MIN_DOWN_SECONDS = 0.5
MAX_DOWN_SECONDS = 3.0
MIN_PAUSE_ELECTIONS = 1.5  # a pause longer than the election timeout makes a follower
MAX_PAUSE_ELECTIONS = 3.0  # campaign, or a leader lose its leadership
MIN_PARTITION_SECONDS = 2.0
MAX_PARTITION_SECONDS = 5.0


class Nemesis:
    def __init__(self, cluster, network, kinds, rng, log_path):
        self.cluster = cluster
        self.network = network
        self.kinds = list(kinds)
        self.rng = rng
        self.log = open(log_path, "a")
        self.counts = {k: 0 for k in FAULT_KINDS}

    def close(self):
        self.log.close()

    def _note(self, event, **fields):
        fields.update(event=event, time=time.monotonic_ns())
        self.log.write(json.dumps(fields) + "\n")
        self.log.flush()

    def _victim(self):
        """(index, role): the leader or a follower, chosen at random."""
        members = [m.index for m in self.cluster.members]
        leader = self.cluster.leader_index()
        if leader is None:
            return self.rng.choice(members), "unknown"
        if self.rng.random() < 0.5:
            return leader, "leader"
        return self.rng.choice([i for i in members if i != leader]), "follower"

    def run(self, seconds, on_tick=None):
        """Injects faults until `seconds` have passed, then heals everything.
        on_tick() is called between steps (it may raise to abort)."""
        end = time.monotonic() + seconds
        try:
            while True:
                quiet = self.rng.uniform(MIN_QUIET_SECONDS, MAX_QUIET_SECONDS)
                if not self.hold(min(quiet, end - time.monotonic()), on_tick):
                    break
                if time.monotonic() >= end:
                    break
                kind = self.rng.choice(self.kinds)
                getattr(self, "_" + kind)(on_tick)
                self.counts[kind] += 1
        finally:
            self.heal_all()

    @staticmethod
    def hold(seconds, on_tick):
        """Lets `seconds` of wall time pass (the fault schedule, not a wait for an event)."""
        stop = time.monotonic() + max(0.0, seconds)
        while True:
            if on_tick:
                on_tick()
            left = stop - time.monotonic()
            if left <= 0:
                return seconds > 0
            time.sleep(min(left, 0.1))

    def _kill(self, on_tick):
        i, role = self._victim()
        m = self.cluster.members[i]
        self._note("kill", member=m.name, role=role)
        m.kill()
        self.hold(self.rng.uniform(MIN_DOWN_SECONDS, MAX_DOWN_SECONDS), on_tick)
        self._note("restart", member=m.name)
        m.start()

    def _pause(self, on_tick):
        i, role = self._victim()
        m = self.cluster.members[i]
        election_s = self.cluster.election_ms / 1000.0
        self._note("pause", member=m.name, role=role)
        m.pause()
        try:
            self.hold(self.rng.uniform(MIN_PAUSE_ELECTIONS, MAX_PAUSE_ELECTIONS) * election_s,
                       on_tick)
        finally:
            m.resume()
            self._note("resume", member=m.name)

    def _partition(self, on_tick):
        n = len(self.cluster.members)
        members = list(range(n))
        leader = self.cluster.leader_index()
        shape = self.rng.choice(["isolate-leader", "isolate-one", "split"])
        if shape == "isolate-leader" and leader is not None:
            minority = [leader]
        elif shape == "split" and n >= 5:
            minority = self.rng.sample(members, n // 2)
        else:
            minority = [self.rng.choice(members)]
        majority = [i for i in members if i not in minority]
        groups = [minority, majority]
        self._note("partition", shape=shape, groups=groups)
        self.network.partition(groups)
        try:
            self.hold(self.rng.uniform(MIN_PARTITION_SECONDS, MAX_PARTITION_SECONDS), on_tick)
        finally:
            self.network.heal()
            self._note("heal")

    def heal_all(self):
        """Resumes paused members, restarts killed ones, removes partitions."""
        self.network.heal()
        self.cluster.check_alive()
        for m in self.cluster.members:
            m.resume()
            if not m.running():
                m.start()
        self._note("heal-all")
