// The whole member in-process: real WAL, store, services and gRPC on 127.0.0.1:0, driven by
// the generated etcd stubs.
#include "kv/server/kv_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "etcd/rpc.grpc.pb.h"

namespace grid::kv {
namespace {
namespace fs = std::filesystem;

class KvServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gridkv-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    config_.name = "t";
    config_.data_dir = (dir_ / "data").string();
    config_.listen_client_urls = {"http://127.0.0.1:0"};
    config_.advertise_client_urls = {"http://127.0.0.1:0"};
    config_.initial_advertise_peer_urls = {"http://127.0.0.1:2380"};
    config_.listen_peer_urls = {"http://127.0.0.1:0"};  // the advertised port is never dialled alone
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void StartServer() {
    auto s = KvServer::Start(config_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    std::string target = server_->client_urls().at(0).substr(strlen("http://"));
    channel_ = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
    kv_ = etcdserverpb::KV::NewStub(channel_);
    lease_ = etcdserverpb::Lease::NewStub(channel_);
    maintenance_ = etcdserverpb::Maintenance::NewStub(channel_);
  }
  void StopServer() {
    server_->Shutdown();
    server_.reset();
  }

  grpc::Status Put(const std::string& k, const std::string& v, int64_t lease = 0,
                   etcdserverpb::PutResponse* out = nullptr) {
    grpc::ClientContext ctx;
    etcdserverpb::PutRequest req;
    req.set_key(k);
    req.set_value(v);
    req.set_lease(lease);
    etcdserverpb::PutResponse resp;
    grpc::Status s = kv_->Put(&ctx, req, &resp);
    if (out) *out = resp;
    return s;
  }
  etcdserverpb::RangeResponse Get(const std::string& k, const std::string& end = "",
                                  bool serializable = false) {
    grpc::ClientContext ctx;
    etcdserverpb::RangeRequest req;
    req.set_key(k);
    req.set_range_end(end);
    req.set_serializable(serializable);
    etcdserverpb::RangeResponse resp;
    grpc::Status s = kv_->Range(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  fs::path dir_;
  ServerConfig config_;
  std::unique_ptr<KvServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance_;
};

TEST_F(KvServerTest, PutGetRevisionsAndHeader) {
  StartServer();
  etcdserverpb::PutResponse put;
  ASSERT_TRUE(Put("foo", "bar", 0, &put).ok());
  EXPECT_EQ(put.header().revision(), 2);
  EXPECT_NE(put.header().member_id(), 0u);
  EXPECT_NE(put.header().cluster_id(), 0u);
  EXPECT_EQ(put.header().raft_term(), 2u);
  ASSERT_TRUE(Put("foo", "baz").ok());
  auto r = Get("foo");
  ASSERT_EQ(r.kvs_size(), 1);
  EXPECT_EQ(r.kvs(0).value(), "baz");
  EXPECT_EQ(r.kvs(0).create_revision(), 2);
  EXPECT_EQ(r.kvs(0).mod_revision(), 3);
  EXPECT_EQ(r.kvs(0).version(), 2);
  EXPECT_EQ(r.header().revision(), 3);
  EXPECT_EQ(Get("foo", "", true).kvs(0).value(), "baz");
}

TEST_F(KvServerTest, DataSurvivesRestart) {
  StartServer();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Put("k" + std::to_string(i), "v").ok());
  StopServer();
  StartServer();
  auto r = Get("k", "l");
  EXPECT_EQ(r.count(), 50);
  EXPECT_EQ(r.header().revision(), 51);
  ASSERT_TRUE(Put("after", "restart").ok());
  EXPECT_EQ(Get("after").header().revision(), 52);
}

TEST_F(KvServerTest, DataSurvivesRestartsAfterTheLogIsReleased) {
  config_.snapshot_count = 10;  // flush the backend and release the log every 10 entries
  StartServer();
  for (int i = 0; i < 95; ++i) ASSERT_TRUE(Put("r" + std::to_string(i), "v").ok());
  StopServer();
  StartServer();
  EXPECT_EQ(Get("r", "s").count(), 95);
  for (int i = 95; i < 100; ++i) ASSERT_TRUE(Put("r" + std::to_string(i), "v").ok());
  StopServer();
  StartServer();
  auto r = Get("r", "s");
  EXPECT_EQ(r.count(), 100);
  EXPECT_EQ(r.header().revision(), 101);
}

TEST_F(KvServerTest, RequestTooLargeIsRefusedWithEtcdsError) {
  config_.max_request_bytes = 1024;
  StartServer();
  grpc::Status s = Put("big", std::string(2048, 'x'));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "etcdserver: request is too large");
  // At the limit's edge a smaller request passes.
  EXPECT_TRUE(Put("small", std::string(512, 'x')).ok());
}

TEST_F(KvServerTest, LeaseExpiryDeletesAttachedKeys) {
  StartServer();
  grpc::ClientContext ctx;
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(1);  // raised to the minimum TTL
  etcdserverpb::LeaseGrantResponse granted;
  ASSERT_TRUE(lease_->LeaseGrant(&ctx, grant, &granted).ok());
  ASSERT_NE(granted.id(), 0);
  ASSERT_TRUE(Put("leased", "v", granted.id()).ok());
  EXPECT_EQ(Get("leased").count(), 1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Get("leased").count() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Get("leased").count(), 0);
  grpc::Status s = Put("again", "v", granted.id());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "etcdserver: requested lease not found");
}

TEST_F(KvServerTest, CompactedRevisionReadFailsWithEtcdsError) {
  StartServer();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Put("k", std::to_string(i)).ok());
  grpc::ClientContext ctx;
  etcdserverpb::CompactionRequest compact;
  compact.set_revision(4);
  etcdserverpb::CompactionResponse compacted;
  ASSERT_TRUE(kv_->Compact(&ctx, compact, &compacted).ok());
  grpc::ClientContext ctx2;
  etcdserverpb::RangeRequest req;
  req.set_key("k");
  req.set_revision(3);
  etcdserverpb::RangeResponse resp;
  grpc::Status s = kv_->Range(&ctx2, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(s.error_message(), "etcdserver: mvcc: required revision has been compacted");
}

TEST_F(KvServerTest, SnapshotStreamsAndRestores) {
  StartServer();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put("s" + std::to_string(i), "v" + std::to_string(i)).ok());
  grpc::ClientContext ctx;
  auto reader = maintenance_->Snapshot(&ctx, etcdserverpb::SnapshotRequest());
  std::string blob;
  etcdserverpb::SnapshotResponse chunk;
  while (reader->Read(&chunk)) blob += chunk.blob();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(blob.size() % 512, 32u);
  const fs::path snap = dir_ / "snap.db";
  std::ofstream(snap, std::ios::binary) << blob;
  StopServer();

  config_.data_dir = (dir_ / "restored").string();
  ASSERT_TRUE(RestoreFromSnapshot(snap.string(), config_).ok());
  StartServer();
  auto r = Get("s", "t");
  EXPECT_EQ(r.count(), 20);
  ASSERT_TRUE(Put("s-new", "x").ok());
  EXPECT_EQ(Get("s-new").count(), 1);
}

}  // namespace
}  // namespace grid::kv
