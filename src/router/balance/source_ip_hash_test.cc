#include "router/balance/source_ip_hash.h"

#include <gtest/gtest.h>

#include "router/balance/test_util.h"

namespace grid::router::balance {
namespace {
using testing::AllHealthy;
using testing::Ctx;
using testing::Equal;
using testing::Specs;

std::vector<std::string> Ips(size_t n) {
  std::vector<std::string> ips;
  for (size_t i = 0; i < n; ++i) {
    ips.push_back("172." + std::to_string(16 + i / 65536) + "." + std::to_string(i / 256 % 256) +
                  "." + std::to_string(i % 256));
  }
  return ips;
}

TEST(SourceIpHashTest, SameClientSameBackend) {
  SourceIpHash a(Equal(8));
  SourceIpHash b(Equal(8));  // another router of the fleet
  auto states = AllHealthy(8);
  for (const std::string& ip : Ips(200)) {
    auto first = a.Pick(Ctx(states, 1, {}, ip));
    EXPECT_EQ(a.Pick(Ctx(states, 2, {}, ip)), first);
    EXPECT_EQ(b.Pick(Ctx(states, 3, {}, ip)), first);
  }
  EXPECT_EQ(a.Pick(Ctx(states, 0, {}, "2001:db8::1")), a.Pick(Ctx(states, 9, {}, "2001:db8::1")));
}

// Tolerance: ±10 % of the uniform share over 10,000 client addresses.
TEST(SourceIpHashTest, UniformClientsSpreadEvenly) {
  SourceIpHash h(Equal(5));
  auto states = AllHealthy(5);
  std::vector<int> counts(5);
  for (const std::string& ip : Ips(10000)) ++counts[*h.Pick(Ctx(states, 0, {}, ip))];
  for (int c : counts) EXPECT_NEAR(c, 2000, 200);
}

// Tolerance: ±10 % of each weight's share.
TEST(SourceIpHashTest, SharesFollowWeights) {
  SourceIpHash h(Specs({1, 3, 6}));
  auto states = AllHealthy(3);
  std::vector<int> counts(3);
  for (const std::string& ip : Ips(20000)) ++counts[*h.Pick(Ctx(states, 0, {}, ip))];
  EXPECT_NEAR(counts[0], 2000, 200);
  EXPECT_NEAR(counts[1], 6000, 600);
  EXPECT_NEAR(counts[2], 12000, 1200);
}

// A backend going down moves only its own clients (≈1/N of them), and they come back.
TEST(SourceIpHashTest, DownBackendMovesOnlyItsClients) {
  const size_t n = 8;
  SourceIpHash h(Equal(n));
  auto states = AllHealthy(n);
  auto ips = Ips(10000);
  std::vector<size_t> before;
  for (const auto& ip : ips) before.push_back(*h.Pick(Ctx(states, 0, {}, ip)));
  states[3].healthy = false;
  int moved = 0;
  for (size_t i = 0; i < ips.size(); ++i) {
    size_t now = *h.Pick(Ctx(states, 0, {}, ips[i]));
    EXPECT_NE(now, 3u);
    if (now != before[i]) {
      ++moved;
      EXPECT_EQ(before[i], 3u);
    }
  }
  EXPECT_NEAR(moved, 10000.0 / n, 10000.0 / n * 0.1);
  states[3].healthy = true;
  for (size_t i = 0; i < ips.size(); ++i) EXPECT_EQ(*h.Pick(Ctx(states, 0, {}, ips[i])), before[i]);
}

TEST(SourceIpHashTest, EmptyAddressUsesRandom) {
  SourceIpHash h(Equal(4));
  auto states = AllHealthy(4);
  std::vector<int> counts(4);
  for (uint64_t r = 0; r < 4000; ++r) ++counts[*h.Pick(Ctx(states, r))];
  for (int c : counts) EXPECT_NEAR(c, 1000, 100);
}

TEST(SourceIpHashTest, AllDownIsNullopt) {
  SourceIpHash h(Specs({1, 2}));
  std::vector<BackendState> states = {{false, 0}, {false, 0}};
  EXPECT_FALSE(h.Pick(Ctx(states, 0, {}, "10.1.1.1")).has_value());
}

}  // namespace
}  // namespace grid::router::balance
