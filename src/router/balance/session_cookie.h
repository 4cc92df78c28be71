// Cookie-insert session persistence. The router sets a cookie naming the backend it picked;
// a later request carrying the cookie goes to that backend while it is healthy. The cookie
// value is an opaque token, 16 hex digits of Hash64(address, kSessionCookieSeed): it does not
// reveal the address, and every router of a fleet derives the same token, so a client keeps
// its backend whichever router it reaches. Immutable; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "router/balance/balancer.h"

namespace grid::router::balance {

inline constexpr uint64_t kSessionCookieSeed = 0x67726964636f6f6bULL;  // "gridcook"
inline constexpr size_t kMaxSessionCookieNameBytes = 64;
inline constexpr uint32_t kMaxSessionCookieMaxAgeS = 365 * 24 * 3600;

struct SessionDecision {
  size_t backend = 0;
  // When set, the Set-Cookie header value to add to the response (a new or a replaced cookie).
  std::optional<std::string> set_cookie;
};

class SessionCookie {
 public:
  // max_age_s == 0 makes a session cookie (no Max-Age attribute).
  // REQUIRES: cookie_name is a valid cookie name of at most kMaxSessionCookieNameBytes;
  // max_age_s <= kMaxSessionCookieMaxAgeS; backends as for any Balancer.
  SessionCookie(std::string cookie_name, std::span<const BackendSpec> backends,
                uint32_t max_age_s);

  const std::string& cookie_name() const { return cookie_name_; }

  // cookie_value: the request's value of cookie_name(), if any. The cookie's backend is used
  // when it exists and is healthy; otherwise `balancer` picks and the decision sets the cookie.
  // Returns nullopt when no backend is healthy.
  std::optional<SessionDecision> Decide(std::optional<std::string_view> cookie_value,
                                        Balancer& balancer, const PickContext& ctx) const;

  const std::string& TokenFor(size_t backend) const { return tokens_[backend]; }
  // "name=token; Path=/; HttpOnly[; Max-Age=N]"
  std::string SetCookieValue(size_t backend) const;

 private:
  std::string cookie_name_;
  uint32_t max_age_s_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, size_t> by_token_;
};

// True for a non-empty RFC 6265 token (the characters a cookie name may hold).
bool IsCookieName(std::string_view name);

}  // namespace grid::router::balance
