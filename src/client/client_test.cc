#include "client/client.h"

#include <gtest/gtest.h>

#include "client/testing/etcd_fixture.h"

namespace grid::client {
namespace {

using testing::EtcdFixture;

class ClientTest : public EtcdFixture {};

TEST_F(ClientTest, PutGetDelete) {
  auto put = client_->Put("a", "1");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  const int64_t rev_a = put->header().revision();
  ASSERT_TRUE(client_->Put("b/1", "x").ok());
  ASSERT_TRUE(client_->Put("b/2", "y").ok());
  ASSERT_TRUE(client_->Put("c", "z").ok());

  PutOptions prev;
  prev.prev_kv = true;
  auto put2 = client_->Put("a", "2", prev);
  ASSERT_TRUE(put2.ok());
  EXPECT_EQ(put2->prev_kv().value(), "1");

  auto get = client_->Get("a");
  ASSERT_TRUE(get.ok());
  ASSERT_EQ(get->kvs_size(), 1);
  EXPECT_EQ(get->kvs(0).value(), "2");
  EXPECT_EQ(get->kvs(0).version(), 2);

  GetOptions at;
  at.revision = rev_a;
  EXPECT_EQ(client_->Get("a", at)->kvs(0).value(), "1");

  GetOptions prefix;
  prefix.prefix = true;
  auto b = client_->Get("b/", prefix);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->kvs_size(), 2);
  EXPECT_EQ(b->count(), 2);

  GetOptions range;
  range.range_end = "c";
  range.limit = 2;
  range.keys_only = true;
  range.serializable = true;
  auto r = client_->Get("a", range);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs_size(), 2);
  EXPECT_TRUE(r->more());
  EXPECT_EQ(r->kvs(0).key(), "a");
  EXPECT_TRUE(r->kvs(0).value().empty());

  DeleteOptions del;
  del.prefix = true;
  del.prev_kv = true;
  auto d = client_->Delete("b/", del);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->deleted(), 2);
  EXPECT_EQ(d->prev_kvs_size(), 2);
  EXPECT_EQ(client_->Get("b/", prefix)->kvs_size(), 0);
}

TEST_F(ClientTest, TxnThenAndElse) {
  auto txn = TxnBuilder()
                 .If(CompareCreateRevision("k", etcdserverpb::Compare::EQUAL, 0))
                 .Then(OpPut("k", "first"))
                 .Else(OpGet("k"));
  auto r1 = client_->Txn(txn.request());
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_TRUE(r1->succeeded());
  auto r2 = client_->Txn(txn.request());
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2->succeeded());
  EXPECT_EQ(r2->responses(0).response_range().kvs(0).value(), "first");
}

TEST_F(ClientTest, ServerErrorsKeepEtcdMessages) {
  ASSERT_TRUE(client_->Put("k", "1").ok());
  auto put = client_->Put("k", "2");
  ASSERT_TRUE(put.ok());
  ASSERT_TRUE(client_->Compact(put->header().revision()).ok());
  GetOptions old;
  old.revision = 1;
  auto get = client_->Get("k", old);
  EXPECT_EQ(get.status().code(), Code::kOutOfRange);
  EXPECT_EQ(get.status().message(), "etcdserver: mvcc: required revision has been compacted");

  auto revoke = client_->Revoke(12345);
  EXPECT_EQ(revoke.status().code(), Code::kNotFound);
  EXPECT_EQ(revoke.status().message(), "etcdserver: requested lease not found");

  auto dup = TxnBuilder().Then(OpPut("x", "1"), OpPut("x", "2"));
  auto txn = client_->Txn(dup.request());
  EXPECT_EQ(txn.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(txn.status().message(), "etcdserver: duplicate key given in txn request");

  // etcd's default --max-txn-ops is 128.
  TxnBuilder big;
  for (int i = 0; i < 129; ++i) big.Then(OpGet("k" + std::to_string(i)));
  auto too_many = client_->Txn(big.request());
  EXPECT_EQ(too_many.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(too_many.status().message(), "etcdserver: too many operations in txn request");
}

TEST_F(ClientTest, LeaseGrantTimeToLiveRevoke) {
  auto grant = client_->Grant(30);
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  const int64_t id = grant->id();
  PutOptions with_lease;
  with_lease.lease = id;
  ASSERT_TRUE(client_->Put("leased", "v", with_lease).ok());
  auto ttl = client_->TimeToLive(id, /*keys=*/true);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->grantedttl(), 30);
  EXPECT_GT(ttl->ttl(), 0);
  ASSERT_EQ(ttl->keys_size(), 1);
  EXPECT_EQ(ttl->keys(0), "leased");
  ASSERT_TRUE(client_->Revoke(id).ok());
  EXPECT_EQ(client_->Get("leased")->kvs_size(), 0);
  EXPECT_EQ(client_->TimeToLive(id)->ttl(), -1);

  auto again = client_->Grant(30, 777);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id(), 777);
  auto dup = client_->Grant(30, 777);
  EXPECT_EQ(dup.status().message(), "etcdserver: lease already exists");
}

TEST_F(ClientTest, MemberStatusAndList) {
  auto status = client_->MemberStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_NE(status->header().member_id(), 0u);
  auto members = client_->MemberList();
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->members_size(), 1);
}

TEST_F(ClientTest, CallDeadlineFromContext) {
  auto expired = Context().WithDeadline(Context::Clock::now() - std::chrono::seconds(1));
  auto get = client_->Get("k", {}, expired);
  EXPECT_EQ(get.status().code(), Code::kDeadlineExceeded);
}

TEST(ClientConnectTest, DialTimeoutAndBadEndpoints) {
  auto port = testing::PickFreePort();
  ASSERT_TRUE(port.ok());
  ClientOptions options;
  options.dial_timeout = std::chrono::milliseconds(200);
  auto c = Client::Connect({"127.0.0.1:" + std::to_string(*port)}, options);
  EXPECT_EQ(c.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(Client::Connect({}, options).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Client::Connect({"https://127.0.0.1:1"}, options).status().code(),
            Code::kUnimplemented);
  EXPECT_EQ(Client::Connect({"a.example:1", "b.example:2"}, options).status().code(),
            Code::kInvalidArgument);
}

TEST(ClientConnectTest, MissingBinaryFailsClearly) {
  testing::EtcdProcessOptions options;
  options.binary = "/nonexistent/etcd";
  auto p = testing::EtcdProcess::Start(options);
  EXPECT_EQ(p.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("/nonexistent/etcd"), std::string::npos);
}

TEST_F(ClientTest, ConnectWithSeveralEndpointsFailsOver) {
  auto dead = testing::PickFreePort();
  ASSERT_TRUE(dead.ok());
  auto c = Client::Connect({"http://127.0.0.1:" + std::to_string(*dead), etcd_->client_url()},
                           {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE((*c)->Put("k", "v").ok());
}

}  // namespace
}  // namespace grid::client
