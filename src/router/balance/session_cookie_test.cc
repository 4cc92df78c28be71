#include "router/balance/session_cookie.h"

#include <set>

#include <gtest/gtest.h>

#include "router/balance/round_robin.h"
#include "router/balance/test_util.h"

namespace grid::router::balance {
namespace {
using testing::AllHealthy;
using testing::Ctx;
using testing::Equal;

TEST(SessionCookieTest, NoCookiePicksAndSetsIt) {
  auto specs = Equal(3);
  RoundRobin rr(specs);
  SessionCookie sc("grid_sticky", specs, 0);
  auto states = AllHealthy(3);
  auto d = sc.Decide(std::nullopt, rr, Ctx(states));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->backend, 0u);
  ASSERT_TRUE(d->set_cookie.has_value());
  EXPECT_EQ(*d->set_cookie, "grid_sticky=" + sc.TokenFor(0) + "; Path=/; HttpOnly");
}

TEST(SessionCookieTest, CookieNamingHealthyBackendIsFollowed) {
  auto specs = Equal(3);
  RoundRobin rr(specs);
  SessionCookie sc("s", specs, 0);
  auto states = AllHealthy(3);
  for (int i = 0; i < 5; ++i) {
    auto d = sc.Decide(sc.TokenFor(2), rr, Ctx(states));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->backend, 2u);
    EXPECT_FALSE(d->set_cookie.has_value());
  }
}

TEST(SessionCookieTest, CookieNamingUnhealthyOrUnknownBackendIsReplaced) {
  auto specs = Equal(3);
  RoundRobin rr(specs);
  SessionCookie sc("s", specs, 600);
  auto states = AllHealthy(3);
  states[2].healthy = false;
  auto d = sc.Decide(sc.TokenFor(2), rr, Ctx(states));
  ASSERT_TRUE(d.has_value());
  EXPECT_NE(d->backend, 2u);
  EXPECT_EQ(*d->set_cookie, "s=" + sc.TokenFor(d->backend) + "; Path=/; HttpOnly; Max-Age=600");

  d = sc.Decide("not-a-token", rr, Ctx(states));
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->set_cookie.has_value());
}

TEST(SessionCookieTest, AllDownIsNullopt) {
  auto specs = Equal(2);
  RoundRobin rr(specs);
  SessionCookie sc("s", specs, 0);
  std::vector<BackendState> states(2, BackendState{false, 0});
  EXPECT_FALSE(sc.Decide(sc.TokenFor(0), rr, Ctx(states)).has_value());
  EXPECT_FALSE(sc.Decide(std::nullopt, rr, Ctx(states)).has_value());
}

TEST(SessionCookieTest, TokensAreOpaqueStableAndDistinct) {
  auto specs = Equal(100);
  SessionCookie a("s", specs, 0);
  SessionCookie b("s", specs, 0);
  std::set<std::string> seen;
  for (size_t i = 0; i < specs.size(); ++i) {
    EXPECT_EQ(a.TokenFor(i), b.TokenFor(i));
    EXPECT_EQ(a.TokenFor(i).size(), 16u);
    EXPECT_EQ(a.TokenFor(i).find("10.0.0"), std::string::npos);
    seen.insert(a.TokenFor(i));
  }
  EXPECT_EQ(seen.size(), specs.size());
}

TEST(SessionCookieTest, CookieNames) {
  EXPECT_TRUE(IsCookieName("grid_sticky"));
  EXPECT_TRUE(IsCookieName("A-b.c!#$%&'*+^`|~"));
  EXPECT_FALSE(IsCookieName(""));
  EXPECT_FALSE(IsCookieName("a b"));
  EXPECT_FALSE(IsCookieName("a=b"));
  EXPECT_FALSE(IsCookieName("a;b"));
}

TEST(SessionCookieTest, NameAndMaxAgeAtTheirLimits) {
  auto specs = Equal(1);
  SessionCookie sc(std::string(kMaxSessionCookieNameBytes, 'n'), specs, kMaxSessionCookieMaxAgeS);
  EXPECT_NE(sc.SetCookieValue(0).find("Max-Age=31536000"), std::string::npos);
  EXPECT_DEATH(SessionCookie(std::string(kMaxSessionCookieNameBytes + 1, 'n'), specs, 0),
               "kMaxSessionCookieNameBytes");
  EXPECT_DEATH(SessionCookie("s", specs, kMaxSessionCookieMaxAgeS + 1), "kMaxSessionCookieMaxAgeS");
}

}  // namespace
}  // namespace grid::router::balance
