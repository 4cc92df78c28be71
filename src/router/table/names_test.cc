#include "router/table/names.h"

#include <gtest/gtest.h>

#include "router/table/limits.h"

namespace grid::router::table {
namespace {

TEST(NamesTest, Names) {
  EXPECT_TRUE(IsName("eu-1"));
  EXPECT_TRUE(IsName("a"));
  EXPECT_TRUE(IsName(std::string(kMaxNameBytes, 'a')));
  EXPECT_FALSE(IsName(std::string(kMaxNameBytes + 1, 'a')));
  EXPECT_FALSE(IsName(""));
  EXPECT_FALSE(IsName("EU-1"));
  EXPECT_FALSE(IsName("-eu"));
  EXPECT_FALSE(IsName("eu-"));
  EXPECT_FALSE(IsName("eu_1"));
  EXPECT_FALSE(IsName("eu.1"));
  EXPECT_FALSE(IsName("eu/1"));
}

TEST(NamesTest, HostNames) {
  EXPECT_TRUE(IsHostName("shop.acme.com"));
  EXPECT_TRUE(IsHostName("localhost"));
  EXPECT_FALSE(IsHostName("Shop.acme.com"));  // callers lowercase first
  EXPECT_FALSE(IsHostName("shop..acme.com"));
  EXPECT_FALSE(IsHostName("shop.acme.com."));
  EXPECT_FALSE(IsHostName("*.acme.com"));
  EXPECT_FALSE(IsHostName("acme.com:80"));
  // At the limit: 253 bytes in labels of at most 63.
  std::string host = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                     std::string(63, 'c') + "." + std::string(61, 'd');
  ASSERT_EQ(host.size(), kMaxHostBytes);
  EXPECT_TRUE(IsHostName(host));
  EXPECT_FALSE(IsHostName(host + "d"));
  EXPECT_FALSE(IsHostName(std::string(64, 'a') + ".com"));
}

TEST(NamesTest, HeaderNames) {
  EXPECT_TRUE(IsHeaderName("X-Tenant"));
  EXPECT_FALSE(IsHeaderName(""));
  EXPECT_FALSE(IsHeaderName("x tenant"));
  EXPECT_FALSE(IsHeaderName("x:tenant"));
  EXPECT_FALSE(IsHeaderName(std::string("x\0y", 3)));
}

TEST(NamesTest, CanonicalAddress) {
  EXPECT_EQ(CanonicalAddress("10.0.0.1:8080").value(), "10.0.0.1:8080");
  EXPECT_EQ(CanonicalAddress("API.Example.com:80").value(), "api.example.com:80");
  EXPECT_EQ(CanonicalAddress("[2001:DB8::1]:443").value(), "[2001:db8::1]:443");
  EXPECT_EQ(CanonicalAddress("backend-1:1").value(), "backend-1:1");
  EXPECT_EQ(CanonicalAddress("backend-1:65535").value(), "backend-1:65535");
  for (const char* bad : {"10.0.0.1", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:http",
                          "10.0.0.256:80", ":80", "[::1:80", "[zz::1]:80", "a b:80",
                          "2001:db8::1:80", "10.0.0.1:-1"}) {
    EXPECT_FALSE(CanonicalAddress(bad).ok()) << bad;
  }
}

TEST(NamesTest, NormalizeRequestHost) {
  char buf[kMaxHostBytes];
  auto n = [&](std::string_view h) {
    auto r = NormalizeRequestHost(h, buf, sizeof buf);
    return r ? std::string(*r) : std::string("<none>");
  };
  EXPECT_EQ(n("Acme.Example.COM"), "acme.example.com");
  EXPECT_EQ(n("acme.example.com:8443"), "acme.example.com");
  EXPECT_EQ(n("acme.example.com."), "acme.example.com");
  EXPECT_EQ(n("acme.example.com.:80"), "acme.example.com");
  EXPECT_EQ(n("[::1]:8080"), "[::1]");
  EXPECT_EQ(n("::1"), "::1");
  EXPECT_EQ(n(""), "<none>");
  EXPECT_EQ(n(":80"), "<none>");
  EXPECT_EQ(n(std::string(kMaxHostBytes, 'a')), std::string(kMaxHostBytes, 'a'));
  EXPECT_EQ(n(std::string(kMaxHostBytes + 1, 'a')), "<none>");
}

}  // namespace
}  // namespace grid::router::table
