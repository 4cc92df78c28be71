// URL parsing and the call identity check.
#include <gtest/gtest.h>

#include "transport/metadata.h"
#include "transport/url.h"

namespace grid::transport {
namespace {

TEST(PeerUrlTest, Parses) {
  auto u = ParsePeerUrl("http://127.0.0.1:2380");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->target(), "127.0.0.1:2380");
  auto v6 = ParsePeerUrl("https://[::1]:0/");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->tls);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->WithPort(4000), "https://[::1]:4000");
  auto named = ParsePeerUrl("https://member-1.example:65535");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->port, 65535);
}

TEST(PeerUrlTest, RejectsBadUrls) {
  for (const char* bad : {"unix:///tmp/x", "127.0.0.1:2380", "http://host", "http://:80",
                          "http://host:65536", "http://host:12x", "http://host:80/path",
                          "http://[::1:80"}) {
    EXPECT_EQ(ParsePeerUrl(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(CallHeaderTest, ChecksClusterRecipientAndRemoval) {
  CallHeader h{0xabc, raft::MemberId(2), raft::MemberId(1)};
  EXPECT_TRUE(CheckCallHeader(h, 0xabc, raft::MemberId(1), false).ok());

  Status cluster = CheckCallHeader(h, 0xdef, raft::MemberId(1), false);
  EXPECT_EQ(cluster.code(), Code::kFailedPrecondition);
  EXPECT_NE(cluster.message().find("cluster ID mismatch"), std::string::npos);

  Status recipient = CheckCallHeader(h, 0xabc, raft::MemberId(0x3f), false);
  EXPECT_EQ(recipient.code(), Code::kFailedPrecondition);
  EXPECT_NE(recipient.message().find("member 3f is not 1"), std::string::npos);

  Status removed = CheckCallHeader(h, 0xabc, raft::MemberId(1), true);
  EXPECT_EQ(removed.code(), Code::kFailedPrecondition);
  EXPECT_NE(removed.message().find("member 2 was removed"), std::string::npos);
}

}  // namespace
}  // namespace grid::transport
