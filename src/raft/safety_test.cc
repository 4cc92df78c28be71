// Randomized partitions and message loss, checked against Raft's safety properties (§5.2
// election safety, §5.4.3 state machine safety) and eventual convergence once healed.
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "raft/test_cluster.h"

namespace grid::raft {
namespace {

using testing::Cluster;
using testing::ClusterOptions;

bool IsPrefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const auto& shorter = a.size() <= b.size() ? a : b;
  const auto& longer = a.size() <= b.size() ? b : a;
  return std::equal(shorter.begin(), shorter.end(), longer.begin());
}

void RunChaos(uint64_t seed, bool pre_vote) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  ClusterOptions o;
  o.seed = seed;
  o.pre_vote = pre_vote;
  Cluster c({1, 2, 3, 4, 5}, {}, o);
  c.snapshot_carries_state = true;
  c.report_snapshot_status = true;
  std::mt19937_64 rng(seed);
  c.drop = [&rng](const Message&) { return rng() % 10 == 0; };
  std::map<Term, uint64_t> leader_of_term;
  int proposed = 0;
  for (int tick = 0; tick < 400; ++tick) {
    if (tick % 40 == 0) {
      c.HealPartitions();
      const int isolated = static_cast<int>(rng() % 3);
      for (int k = 0; k < isolated; ++k) c.Isolate(1 + rng() % 5);
    }
    if (tick % 50 == 25) {
      // Compaction: some members snapshot what they applied (§7).
      for (uint64_t id : c.ids()) {
        if (rng() % 2 == 0 && c.member(id).applied_index >= c.storage(id).FirstIndex()) c.Snap(id);
      }
    }
    c.TickAll();
    c.Stabilize();
    for (uint64_t id : c.ids()) {
      if (c.RoleOf(id) != Role::kLeader) continue;
      auto [it, inserted] = leader_of_term.emplace(c.TermOf(id), id);
      EXPECT_EQ(it->second, id) << "two leaders in term " << c.TermOf(id).value();
      if (tick % 2 == 0 && c.node(id).Propose("v" + std::to_string(proposed)).ok()) ++proposed;
    }
    c.Stabilize();
    for (uint64_t a : c.ids()) {
      for (uint64_t b : c.ids()) {
        EXPECT_TRUE(IsPrefix(c.member(a).applied, c.member(b).applied)) << a << " vs " << b;
      }
    }
  }
  c.Heal();
  c.Run(60);
  ASSERT_NE(c.Leader(), 0u);
  c.Propose(c.Leader(), "final");
  for (uint64_t id : c.ids()) {
    EXPECT_EQ(c.member(id).applied, c.member(c.Leader()).applied) << id;
    EXPECT_EQ(c.member(id).applied.back(), "final");
  }
  EXPECT_GT(c.member(1).applied.size(), 10u);
  EXPECT_GT(leader_of_term.size(), 1u);
  int installed = 0;
  for (uint64_t id : c.ids()) installed += c.member(id).snapshots_installed;
  ::testing::Test::RecordProperty("snapshots_installed_seed" + std::to_string(seed), installed);
}

// §5.2, §5.4.3
TEST(SafetyTest, RandomPartitionsAndLossWithPreVote) {
  for (uint64_t seed = 1; seed <= 4; ++seed) RunChaos(seed, true);
}

TEST(SafetyTest, RandomPartitionsAndLossWithoutPreVote) {
  for (uint64_t seed = 11; seed <= 14; ++seed) RunChaos(seed, false);
}

}  // namespace
}  // namespace grid::raft
