#include "router/balance/session_cookie.h"

#include <cstdio>

#include "common/check.h"
#include "router/balance/hash.h"

namespace grid::router::balance {

bool IsCookieName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7f) return false;
    switch (c) {
      case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
      case '\\': case '"': case '/': case '[': case ']': case '?': case '=': case '{':
      case '}':
        return false;
      default:
        break;
    }
  }
  return true;
}

SessionCookie::SessionCookie(std::string cookie_name, std::span<const BackendSpec> backends,
                             uint32_t max_age_s)
    : cookie_name_(std::move(cookie_name)), max_age_s_(max_age_s) {
  CheckBackendSpecs(backends);
  GRID_CHECK(IsCookieName(cookie_name_) && cookie_name_.size() <= kMaxSessionCookieNameBytes)
      << cookie_name_;
  GRID_CHECK_LE(max_age_s_, kMaxSessionCookieMaxAgeS);
  for (size_t i = 0; i < backends.size(); ++i) {
    char token[17];
    std::snprintf(token, sizeof token, "%016llx",
                  static_cast<unsigned long long>(Hash64(backends[i].address, kSessionCookieSeed)));
    tokens_.emplace_back(token);
    // A 64-bit collision between two addresses of one group keeps the first backend.
    by_token_.emplace(tokens_.back(), i);
  }
}

std::string SessionCookie::SetCookieValue(size_t backend) const {
  std::string v = cookie_name_ + "=" + tokens_.at(backend) + "; Path=/; HttpOnly";
  if (max_age_s_ > 0) v += "; Max-Age=" + std::to_string(max_age_s_);
  return v;
}

std::optional<SessionDecision> SessionCookie::Decide(std::optional<std::string_view> cookie_value,
                                                     Balancer& balancer,
                                                     const PickContext& ctx) const {
  CheckPickContext(ctx, tokens_.size());
  if (cookie_value) {
    auto it = by_token_.find(std::string(*cookie_value));
    if (it != by_token_.end() && ctx.backends[it->second].healthy) {
      return SessionDecision{it->second, std::nullopt};
    }
  }
  std::optional<size_t> picked = balancer.Pick(ctx);
  if (!picked) return std::nullopt;
  return SessionDecision{*picked, SetCookieValue(*picked)};
}

}  // namespace grid::router::balance
