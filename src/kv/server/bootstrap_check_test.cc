#include "kv/server/bootstrap_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "grid/peer.grpc.pb.h"

namespace grid::kv {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A peer that serves a fixed member table on the peer port.
class FakePeer final : public peerpb::Peer::Service {
 public:
  explicit FakePeer(peerpb::ClusterInfoResponse table) : table_(std::move(table)) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
  }
  ~FakePeer() override { server_->Shutdown(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  grpc::Status ClusterInfo(grpc::ServerContext*, const peerpb::ClusterInfoRequest*,
                           peerpb::ClusterInfoResponse* response) override {
    *response = table_;
    return grpc::Status::OK;
  }

 private:
  peerpb::ClusterInfoResponse table_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// A TCP port that accepts connections (the kernel completes them) but never answers.
class SilentPort {
 public:
  SilentPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentPort() { close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port nothing listens on: bound, then closed.
std::string ClosedPortUrl() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

struct MemberFlags {
  ServerConfig config;
  InitialCluster cluster;
};

// Member "a" of a cluster a, b, c whose peers b and c are at the given URLs.
MemberFlags MemberA(const std::string& b_url, const std::string& c_url) {
  MemberFlags s;
  s.config.name = "a";
  s.config.initial_advertise_peer_urls = {ClosedPortUrl()};
  s.config.initial_cluster = "a=" + s.config.initial_advertise_peer_urls[0] + ",b=" + b_url +
                             ",c=" + c_url;
  auto parsed = ParseInitialCluster(s.config);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  s.cluster = *parsed;
  return s;
}

// The member table a running peer serves: every initial member, named when `started`.
peerpb::ClusterInfoResponse TableOf(const InitialCluster& cluster, bool self_started) {
  peerpb::ClusterInfoResponse t;
  t.set_cluster_id(cluster.cluster_id);
  for (const InitialMember& m : cluster.members) {
    peerpb::ClusterMember* out = t.add_members();
    out->set_id(m.id);
    for (const auto& u : m.peer_urls) out->add_peer_urls(u);
    if (m.id != cluster.self_id || self_started) out->set_name(m.name);
  }
  return t;
}

// Member a of a cluster whose member b is served by `b` (c is not up). This member's id
// depends only on its own peer URL and the token, so it matches the one `b` was built with.
MemberFlags PointedAt(const MemberFlags& s, const FakePeer& b) {
  MemberFlags out = s;
  out.config.initial_cluster = "a=" + s.config.initial_advertise_peer_urls[0] + ",b=" + b.url() +
                               ",c=" + ClosedPortUrl();
  auto parsed = ParseInitialCluster(out.config);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  out.cluster = *parsed;
  EXPECT_EQ(out.cluster.self_id, s.cluster.self_id);
  return out;
}

// A peer lists this member with its published name: the member lost its log.
TEST(BootstrapCheckTest, RefusesWhenAPeerListsThisMemberAsStarted) {
  const MemberFlags s = MemberA(ClosedPortUrl(), ClosedPortUrl());
  FakePeer b(TableOf(s.cluster, /*self_started=*/true));
  const MemberFlags a = PointedAt(s, b);
  const Status refused =
      RefuseIfAlreadyBootstrapped(a.config, a.cluster, {}, kBootstrapCheckTimeout);
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  const std::string id = fmt::format("{:x}", a.cluster.self_id);
  EXPECT_NE(refused.message().find("member " + id + " has already been bootstrapped"),
            std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("etcdctl member remove " + id), std::string::npos);
  EXPECT_NE(refused.message().find("--initial-cluster-state existing"), std::string::npos);
}

TEST(BootstrapCheckTest, DecidesOnThePublishedNameOfThisMember) {
  MemberFlags s = MemberA("http://127.0.0.1:2", "http://127.0.0.1:3");
  transport::ClusterInfo info;
  info.cluster_id = s.cluster.cluster_id;
  for (const InitialMember& m : s.cluster.members) {
    info.members.push_back({m.id, m.peer_urls, false, m.id == s.cluster.self_id ? "" : m.name});
  }
  // The others started (a quorum of two elected a leader) but this member never did: a
  // first bootstrap where this member comes up last.
  EXPECT_TRUE(CheckNotBootstrapped(s.config, s.cluster, info, "peer").ok());
  for (auto& m : info.members) {
    if (m.id == s.cluster.self_id) m.name = "a";
  }
  const Status refused = CheckNotBootstrapped(s.config, s.cluster, info, "peer");
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.message().find("etcdctl member add a --peer-urls=" +
                                   s.config.initial_advertise_peer_urls[0]),
            std::string::npos)
      << refused.message();
  // A cluster that does not list this member's id (another token, or it was removed).
  info.members.erase(std::remove_if(info.members.begin(), info.members.end(),
                                    [&](auto& m) { return m.id == s.cluster.self_id; }),
                     info.members.end());
  EXPECT_TRUE(CheckNotBootstrapped(s.config, s.cluster, info, "peer").ok());
}

// All members starting together: peers that are not up yet fail at once.
TEST(BootstrapCheckTest, NoPeerListeningIsAFirstBootstrap) {
  MemberFlags s = MemberA(ClosedPortUrl(), ClosedPortUrl());
  const auto start = steady_clock::now();
  EXPECT_TRUE(RefuseIfAlreadyBootstrapped(s.config, s.cluster, {}, kBootstrapCheckTimeout).ok());
  EXPECT_LT(steady_clock::now() - start, kBootstrapCheckTimeout);
}

// The limit: peers that accept connections but never answer cost one timeout in all, not one
// per peer.
TEST(BootstrapCheckTest, SilentPeersCostOneTimeoutInAll) {
  SilentPort b, c;
  MemberFlags s = MemberA(b.url(), c.url());
  const milliseconds timeout(500);
  const auto start = steady_clock::now();
  EXPECT_TRUE(RefuseIfAlreadyBootstrapped(s.config, s.cluster, {}, timeout).ok());
  const auto took = steady_clock::now() - start;
  EXPECT_GE(took, timeout);
  EXPECT_LT(took, 2 * timeout);
}

// A peer that lists this member but not as started does not stop the bootstrap.
TEST(BootstrapCheckTest, PeerUpWithThisMemberNotStartedIsAFirstBootstrap) {
  const MemberFlags s = MemberA(ClosedPortUrl(), ClosedPortUrl());
  FakePeer b(TableOf(s.cluster, /*self_started=*/false));
  const MemberFlags a = PointedAt(s, b);
  EXPECT_TRUE(RefuseIfAlreadyBootstrapped(a.config, a.cluster, {}, kBootstrapCheckTimeout).ok());
}

}  // namespace
}  // namespace grid::kv
