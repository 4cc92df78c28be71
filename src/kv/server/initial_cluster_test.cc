#include "kv/server/initial_cluster.h"

#include <gtest/gtest.h>

#include "kv/server/members.h"

namespace grid::kv {
namespace {

ServerConfig ThreeMembers(const std::string& self, const std::string& self_url) {
  ServerConfig c;
  c.name = self;
  c.initial_advertise_peer_urls = {self_url};
  c.initial_cluster = "a=http://127.0.0.1:1,b=http://127.0.0.1:2,c=http://127.0.0.1:3";
  return c;
}

TEST(InitialClusterTest, EveryMemberDerivesTheSameIds) {
  auto a = ParseInitialCluster(ThreeMembers("a", "http://127.0.0.1:1"));
  auto c = ParseInitialCluster(ThreeMembers("c", "http://127.0.0.1:3"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(a->cluster_id, c->cluster_id);
  ASSERT_EQ(a->members.size(), 3u);
  EXPECT_EQ(a->self_id, DeriveMemberId({"http://127.0.0.1:1"}, "etcd-cluster"));
  EXPECT_NE(a->self_id, c->self_id);
  EXPECT_TRUE(std::is_sorted(a->members.begin(), a->members.end(),
                             [](auto& x, auto& y) { return x.id < y.id; }));
}

TEST(InitialClusterTest, EmptyListMeansThisMemberAlone) {
  ServerConfig c;
  c.name = "solo";
  c.initial_advertise_peer_urls = {"http://127.0.0.1:2380"};
  auto parsed = ParseInitialCluster(c);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->members.size(), 1u);
  EXPECT_EQ(parsed->members[0].name, "solo");
  EXPECT_EQ(parsed->cluster_id, DeriveClusterId({parsed->self_id}));
}

TEST(InitialClusterTest, ANameMayRepeatWithMoreUrls) {
  ServerConfig c;
  c.name = "a";
  c.initial_advertise_peer_urls = {"http://127.0.0.1:2", "http://127.0.0.1:1"};
  c.initial_cluster = "a=http://127.0.0.1:1,a=http://127.0.0.1:2";
  auto parsed = ParseInitialCluster(c);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->members.size(), 1u);
  EXPECT_EQ(parsed->members[0].peer_urls.size(), 2u);
}

TEST(InitialClusterTest, RefusesWithEtcdsWording) {
  auto missing = ParseInitialCluster(ThreeMembers("d", "http://127.0.0.1:4"));
  EXPECT_EQ(missing.status().message(),
            "couldn't find local name \"d\" in the initial cluster configuration");
  auto mismatch = ParseInitialCluster(ThreeMembers("a", "http://127.0.0.1:9"));
  EXPECT_EQ(mismatch.status().message(),
            "--initial-cluster has a=http://127.0.0.1:1 but missing from "
            "--initial-advertise-peer-urls=http://127.0.0.1:9");
  ServerConfig bad = ThreeMembers("a", "http://127.0.0.1:1");
  bad.initial_cluster = "a=http://127.0.0.1:1,b";
  EXPECT_EQ(ParseInitialCluster(bad).status().code(), Code::kInvalidArgument);
  bad.initial_cluster = "a=http://127.0.0.1:1,b=http://127.0.0.1:1";
  EXPECT_EQ(ParseInitialCluster(bad).status().message(),
            "--initial-cluster: peer URL http://127.0.0.1:1 is given twice");
}

TEST(InitialClusterTest, PeerUrlsMayUseTls) {
  ServerConfig c;
  c.name = "a";
  c.initial_advertise_peer_urls = {"https://127.0.0.1:1"};
  c.initial_cluster = "a=https://127.0.0.1:1,b=https://127.0.0.1:2";
  EXPECT_TRUE(ParseInitialCluster(c).ok());
  c.initial_cluster = "a=https://127.0.0.1:1,b=ftp://127.0.0.1:2";
  EXPECT_EQ(ParseInitialCluster(c).status().message(),
            "--initial-cluster: URL ftp://127.0.0.1:2: expected http(s)://host:port");
}

TEST(InitialClusterTest, MemberCountLimit) {
  ServerConfig c;
  c.name = "m0";
  c.initial_advertise_peer_urls = {"http://127.0.0.1:10000"};
  std::string list;
  for (size_t i = 0; i <= MemberTable::kMaxMembers; ++i) {
    if (!list.empty()) list += ",";
    list += "m" + std::to_string(i) + "=http://127.0.0.1:" + std::to_string(10000 + i);
  }
  c.initial_cluster = list;
  EXPECT_EQ(ParseInitialCluster(c).status().code(), Code::kInvalidArgument);
  // Exactly at the limit is accepted.
  c.initial_cluster = list.substr(0, list.rfind(','));
  EXPECT_TRUE(ParseInitialCluster(c).ok());
}

}  // namespace
}  // namespace grid::kv
