#include "sim/scenario.h"

#include <sstream>

#include "sim/rng.h"

namespace grid::sim {

namespace {
template <typename T, size_t N>
T Pick(Rng& rng, const T (&choices)[N]) {
  return choices[rng.Uniform(N)];
}
}  // namespace

Scenario Scenario::FromSeed(uint64_t seed, int members) {
  Rng rng(seed ^ 0x5ce7a210ull);
  Scenario s;
  s.members = members;
  s.max_members_ever = members + 4;

  const uint32_t drops[] = {0, 10'000, 50'000, 150'000};
  const uint32_t dups[] = {0, 0, 20'000};
  const uint32_t long_delays[] = {0, 0, 20'000};
  s.network.drop_ppm = Pick(rng, drops);
  s.network.duplicate_ppm = Pick(rng, dups);
  s.network.min_delay_ticks = 1;
  s.network.max_delay_ticks = rng.Range(1, 4);
  s.network.long_delay_ppm = Pick(rng, long_delays);
  s.network.long_delay_ticks = 12;

  const int64_t fsyncs[] = {0, 1, 3};
  const uint32_t persist_applied[] = {100'000, 500'000, 1'000'000};
  const int elections[] = {10, 10, 15, 20};
  s.member.election_ticks = Pick(rng, elections);
  s.member.heartbeat_ticks = static_cast<int>(rng.Range(1, 3));
  s.member.pre_vote = !rng.Chance(200'000);
  s.member.check_quorum = !rng.Chance(200'000);
  s.member.max_fsync_ticks = Pick(rng, fsyncs);
  s.member.snapshot_every_entries = static_cast<uint64_t>(rng.Range(4, 40));
  s.member.keep_entries_after_snapshot = static_cast<uint64_t>(rng.Range(0, 4));
  s.member.persist_applied_ppm = Pick(rng, persist_applied);
  // Small batches and windows now and then, so flow control and probing are exercised.
  if (rng.Chance(250'000)) {
    s.member.max_msg_entries_bytes = 64;
    s.member.max_inflight_msgs = 2;
    s.member.max_committed_entries_bytes_per_ready = 64;
  }
  // A small uncommitted-bytes budget: the leader refuses proposals under load.
  if (rng.Chance(150'000)) s.member.max_uncommitted_entries_bytes = 256;

  s.workload.clients = static_cast<int>(rng.Range(2, 4));
  s.workload.keys = static_cast<int>(rng.Range(1, 3));
  s.workload.op_timeout_ticks = 40;

  const uint32_t crashes[] = {0, 5'000, 15'000};
  const uint32_t partitions[] = {0, 10'000, 20'000};
  const uint32_t admin[] = {0, 10'000, 25'000};
  s.crash_ppm = Pick(rng, crashes);
  s.partition_ppm = Pick(rng, partitions);
  s.admin_ppm = Pick(rng, admin);
  const uint32_t skips[] = {0, 0, 50'000};
  s.tick_skip_ppm = Pick(rng, skips);
  return s;
}

std::string Scenario::Describe() const {
  std::ostringstream o;
  o << members << " members; network: drop " << network.drop_ppm / kPpmPerPercent << "%, duplicate "
    << network.duplicate_ppm / kPpmPerPercent << "%, delay " << network.min_delay_ticks << ".."
    << network.max_delay_ticks << " ticks, long delay " << network.long_delay_ppm / kPpmPerPercent
    << "%; disk: fsync 0.." << member.max_fsync_ticks << " ticks, snapshot every "
    << member.snapshot_every_entries << " entries keeping " << member.keep_entries_after_snapshot
    << "; faults per tick: crash " << crash_ppm / 10'000.0 << "%, partition "
    << partition_ppm / 10'000.0 << "%, admin " << admin_ppm / 10'000.0 << "%, clock skip "
    << tick_skip_ppm / 10'000.0 << "%; " << workload.clients << " clients on " << workload.keys
    << " keys";
  o << "; election " << member.election_ticks << " ticks, heartbeat " << member.heartbeat_ticks
    << (member.pre_vote ? "" : ", no pre-vote") << (member.check_quorum ? "" : ", no check-quorum");
  if (member.max_inflight_msgs <= 2) o << "; tiny batches";
  if (member.max_uncommitted_entries_bytes < 1024) o << "; small uncommitted budget";
  return o.str();
}

}  // namespace grid::sim
