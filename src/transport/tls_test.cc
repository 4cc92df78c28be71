// Peer TLS: CA-signed certificates made in the test (with client-cert-auth) and auto-TLS.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <fstream>
#include <sstream>

#include "common/testing/temp_dir.h"
#include "transport/cert_gen.h"
#include "transport/transport_test_util.h"

namespace grid::transport {
namespace {

using raft::MemberId;
using testutil::App;
using testutil::Eventually;
using testutil::Member;

constexpr uint64_t kCluster = 0x71;

// A CA and one certificate per member, written as files.
struct Pki {
  testing::TempDir dir{"transport_pki"};
  KeyAndCert ca;

  Pki() {
    CertRequest req;
    req.common_name = "test-ca";
    req.is_ca = true;
    auto c = GenerateCertificate(req, nullptr);
    GRID_CHECK(c.ok()) << c.status().ToString();
    ca = *c;
    GRID_CHECK(WriteKeyAndCert(ca, dir.path() + "/ca").ok());
  }
  // Returns the directory holding cert.pem and key.pem for `name`.
  std::string Issue(const std::string& name, const KeyAndCert* issuer) {
    CertRequest req;
    req.common_name = name;
    req.hosts = {"127.0.0.1", "localhost"};
    auto c = GenerateCertificate(req, issuer);
    GRID_CHECK(c.ok()) << c.status().ToString();
    std::string d = dir.path() + "/" + name;
    GRID_CHECK(WriteKeyAndCert(*c, d).ok());
    return d;
  }
  std::string ca_file() const { return dir.path() + "/ca/cert.pem"; }
};

auto WithTls(const std::string& cert_dir, const std::string& ca_file) {
  return [=](TransportOptions& o, TransportCallbacks&) {
    o.listen_urls = {"https://127.0.0.1:0"};
    o.tls.cert_file = cert_dir + "/cert.pem";
    o.tls.key_file = cert_dir + "/key.pem";
    o.tls.trusted_ca_file = ca_file;
    o.tls.client_cert_auth = true;
  };
}

TEST(TransportTlsTest, CaSignedCertificatesWithClientCertAuth) {
  Pki pki;
  Member a(kCluster, 1, WithTls(pki.Issue("m1", &pki.ca), pki.ca_file()));
  Member b(kCluster, 2, WithTls(pki.Issue("m2", &pki.ca), pki.ca_file()));
  ASSERT_EQ(a.url().rfind("https://", 0), 0u);
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  ASSERT_TRUE(b->AddPeer(a.id(), {a.url()}).ok());
  a->Send({App(1, 2, 0), App(1, 2, 1)});
  b->Send({App(2, 1, 0)});
  ASSERT_TRUE(Eventually([&] { return b.events.message_count() == 2; }));
  ASSERT_TRUE(Eventually([&] { return a.events.message_count() == 1; }));
}

Result<int64_t> RenewThrough(Member& m, MemberId to, int64_t id) {
  auto answer = std::make_shared<std::promise<Result<int64_t>>>();
  auto future = answer->get_future();
  m->RenewLease(to, id, std::chrono::seconds(5),
                [answer](Result<int64_t> r) { answer->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    return Internal("no answer");
  }
  return future.get();
}

TEST(TransportTlsTest, LeaseCallsUseTheConfiguredTls) {
  Pki pki, other;
  auto tls_b = WithTls(pki.Issue("m2", &pki.ca), pki.ca_file());
  Member b(kCluster, 2, [&](TransportOptions& o, TransportCallbacks& cb) {
    tls_b(o, cb);
    cb.on_lease_renew = [](MemberId, int64_t id) -> Result<int64_t> { return id * 10; };
  });
  Member a(kCluster, 1, WithTls(pki.Issue("m1", &pki.ca), pki.ca_file()));
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  Result<int64_t> ttl = RenewThrough(a, b.id(), 3);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 30);

  // A client certificate b does not trust is refused.
  Member c(kCluster, 3, WithTls(other.Issue("m3", &other.ca), pki.ca_file()));
  ASSERT_TRUE(c->AddPeer(b.id(), {b.url()}).ok());
  EXPECT_EQ(RenewThrough(c, b.id(), 3).status().code(), Code::kUnavailable);
}

TEST(TransportTlsTest, CertificateFromAnotherCaIsRefused) {
  Pki pki, other;
  Member b(kCluster, 2, WithTls(pki.Issue("m2", &pki.ca), pki.ca_file()));
  // Trusts b's CA, but presents a certificate b does not trust.
  Member a(kCluster, 1, WithTls(other.Issue("m1", &other.ca), pki.ca_file()));
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return a.events.unreachable_count(MemberId(2)) > 0; }));
  EXPECT_EQ(b.events.message_count(), 0u);
}

TEST(TransportTlsTest, PlainTextClientCannotTalkToTls) {
  Pki pki;
  Member b(kCluster, 2, WithTls(pki.Issue("m2", &pki.ca), pki.ca_file()));
  Member a(kCluster, 1);
  std::string plain = "http://" + b.url().substr(std::string("https://").size());
  ASSERT_TRUE(a->AddPeer(b.id(), {plain}).ok());
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return a.events.unreachable_count(MemberId(2)) > 0; }));
  EXPECT_EQ(b.events.message_count(), 0u);
}

TEST(TransportTlsTest, AutoTls) {
  testing::TempDir tls_dir("transport_autotls");
  auto auto_tls = [&](const std::string& sub) {
    return [=, &tls_dir](TransportOptions& o, TransportCallbacks&) {
      o.listen_urls = {"https://127.0.0.1:0"};
      o.tls.auto_tls = true;
      o.tls.client_cert_auth = true;
      o.tls.auto_tls_dir = tls_dir.path() + "/" + sub;
    };
  };
  Member a(kCluster, 1, auto_tls("a"));
  Member b(kCluster, 2, auto_tls("b"));
  EXPECT_TRUE(std::filesystem::exists(tls_dir.path() + "/a/cert.pem"));
  EXPECT_TRUE(std::filesystem::exists(tls_dir.path() + "/a/key.pem"));
  EXPECT_EQ(std::filesystem::status(tls_dir.path() + "/a/key.pem").permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  ASSERT_TRUE(b->AddPeer(a.id(), {a.url()}).ok());
  a->Send({App(1, 2, 0)});
  b->Send({App(2, 1, 0)});
  ASSERT_TRUE(Eventually([&] { return b.events.message_count() == 1; }));
  ASSERT_TRUE(Eventually([&] { return a.events.message_count() == 1; }));

  // A restart reuses the generated pair.
  std::string before;
  {
    std::ifstream in(tls_dir.path() + "/a/cert.pem");
    std::stringstream ss;
    ss << in.rdbuf();
    before = ss.str();
  }
  a.Stop();
  a.Restart();
  std::ifstream in(tls_dir.path() + "/a/cert.pem");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), before);
}

TEST(TransportTlsTest, InconsistentTlsOptionsAreRejected) {
  testing::TempDir dir;
  TransportOptions o = testutil::TestOptions(kCluster, 1, dir.path());
  o.tls.cert_file = dir.path() + "/cert.pem";
  EXPECT_EQ(Transport::Start(o, {}).status().code(), Code::kInvalidArgument);  // no key
  o.tls.key_file = dir.path() + "/key.pem";
  o.tls.client_cert_auth = true;
  EXPECT_EQ(Transport::Start(o, {}).status().code(), Code::kInvalidArgument);  // no CA
  o.tls.client_cert_auth = false;
  EXPECT_EQ(Transport::Start(o, {}).status().code(), Code::kIOError);  // files missing
}

}  // namespace
}  // namespace grid::transport
