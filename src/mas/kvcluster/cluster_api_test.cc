// GrpcClusterApi against a real etcd 3.4 (or $GRID_TEST_ETCD_BINARY).
#include "mas/kvcluster/cluster_api.h"

#include <gtest/gtest.h>

#include "client/client.h"
#include "client/testing/etcd_process.h"

namespace grid::mas::kvcluster {
namespace {

using client::testing::EtcdProcess;

class GrpcClusterApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto etcd = EtcdProcess::Start();
    ASSERT_TRUE(etcd.ok()) << etcd.status().ToString();
    etcd_ = std::move(*etcd);
    api_ = std::make_unique<GrpcClusterApi>(std::vector<std::string>{etcd_->client_url()});
  }

  std::unique_ptr<EtcdProcess> etcd_;
  std::unique_ptr<GrpcClusterApi> api_;
};

TEST_F(GrpcClusterApiTest, StatusAndMemberList) {
  auto st = api_->GetStatus(etcd_->client_url());
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_NE(st->member_id, 0u);
  EXPECT_EQ(st->leader_id, st->member_id);
  EXPECT_GT(st->applied_index, 0u);
  EXPECT_GT(st->db_size_bytes, 0);
  EXPECT_FALSE(st->version.empty());
  auto members = api_->MemberList();
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].id, st->member_id);
  EXPECT_FALSE((*members)[0].learner);
}

TEST_F(GrpcClusterApiTest, LearnerAddPromoteRemove) {
  auto port = client::testing::PickFreePort();
  ASSERT_TRUE(port.ok());
  const std::string peer = "http://127.0.0.1:" + std::to_string(*port);
  auto id = api_->MemberAdd(peer, /*is_learner=*/true);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto members = api_->MemberList();
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 2u);
  bool found = false;
  for (const MemberInfo& m : *members) {
    if (m.id != *id) continue;
    found = true;
    EXPECT_TRUE(m.learner);
    EXPECT_EQ(m.peer_urls, std::vector<std::string>{peer});
  }
  EXPECT_TRUE(found);
  // A learner that never started is not in sync: the store refuses, with its message.
  Status promote = api_->MemberPromote(*id);
  EXPECT_FALSE(promote.ok());
  EXPECT_NE(promote.message().find("learner"), std::string::npos) << promote.ToString();
  ASSERT_TRUE(api_->MemberRemove(*id).ok());
  EXPECT_EQ(api_->MemberList()->size(), 1u);
  EXPECT_FALSE(api_->MemberRemove(*id).ok());
}

TEST_F(GrpcClusterApiTest, MoveLeaderToUnknownMemberFails) {
  Status s = api_->MoveLeader(0x1234);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.message().empty());
}

TEST_F(GrpcClusterApiTest, Maintenance) {
  auto c = client::Client::Connect({etcd_->endpoint()}, {});
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*c)->Put("k", std::to_string(i)).ok());
  auto st = api_->GetStatus(etcd_->endpoint());
  ASSERT_TRUE(st.ok());
  auto hash = api_->HashKV(etcd_->endpoint(), 0);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_GT(hash->revision, 1);
  ASSERT_TRUE(api_->Compact(hash->revision).ok());
  EXPECT_FALSE(api_->Compact(1).ok());  // already compacted
  ASSERT_TRUE(api_->Defragment(etcd_->client_url()).ok());
  auto alarms = api_->AlarmList();
  ASSERT_TRUE(alarms.ok());
  EXPECT_TRUE(alarms->empty());
  EXPECT_TRUE(api_->AlarmDisarm({st->member_id, AlarmType::kNoSpace}).ok());
}

TEST_F(GrpcClusterApiTest, UnreachableEndpointsFailOver) {
  GrpcClusterApi down({"127.0.0.1:1"}, std::chrono::milliseconds(500));
  auto list = down.MemberList();
  ASSERT_FALSE(list.ok());
  EXPECT_TRUE(list.status().code() == Code::kUnavailable ||
              list.status().code() == Code::kDeadlineExceeded)
      << list.status().ToString();
  GrpcClusterApi both({"127.0.0.1:1", etcd_->client_url()}, std::chrono::milliseconds(500));
  EXPECT_TRUE(both.MemberList().ok());
}

}  // namespace
}  // namespace grid::mas::kvcluster
