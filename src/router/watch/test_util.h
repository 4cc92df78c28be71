// Helpers shared by the watcher's tests.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace grid::router::watch::testing {

inline constexpr char kPrefix[] = "/grid/routes";
inline constexpr std::chrono::seconds kDeadline{30};

// Polls `done` every 5 ms until it holds or `timeout` passes; returns its last value.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

inline std::string CellKey(const std::string& cell) {
  return std::string(kPrefix) + "/cells/" + cell;
}
inline std::string TenantKey(const std::string& tenant) {
  return std::string(kPrefix) + "/tenants/" + tenant;
}
// A one-group cell with backend 10.0.0.<n>:8080.
inline std::string CellJson(int n = 1) {
  return R"({"backends": [{"address": "10.0.0.)" + std::to_string(n) + R"(:8080"}]})";
}
inline std::string TenantJson(const std::string& cell) { return R"({"cell": ")" + cell + R"("})"; }

}  // namespace grid::router::watch::testing
