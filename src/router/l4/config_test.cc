#include "router/l4/config.h"

#include <gtest/gtest.h>

#include <string>

namespace grid::router::l4 {
namespace {

std::string Listener(const std::string& extra,
                     const std::string& backends =
                         "    backends:\n"
                         "      - {address: \"127.0.0.1:9001\", weight: 80}\n"
                         "      - {address: \"127.0.0.1:9002\", weight: 20}\n") {
  return "  - name: web\n    listen: \"127.0.0.1:0\"\n" + extra + backends;
}

std::string One(const std::string& extra) { return "listeners:\n" + Listener(extra); }
std::string One(const std::string& extra, const std::string& backends) {
  return "listeners:\n" + Listener(extra, backends);
}

std::string ErrorOf(const std::string& yaml) {
  Result<Config> c = ParseConfig(yaml);
  if (c.ok()) return "ok";
  return c.status().message();
}

TEST(L4ConfigTest, ParsesEveryFieldAndDefaults) {
  Result<Config> c = ParseConfig(
      One("    policy: least_conn\n    connect_timeout_ms: 250\n    idle_timeout_ms: 5000\n"
          "    connect_attempts: 2\n    max_connections: 7\n    buffer_bytes: 4096\n"
          "    health_check: {interval_ms: 100, timeout_ms: 50, unhealthy_threshold: 2,"
          " healthy_threshold: 4}\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const ListenerConfig& l = c->listeners.at(0);
  EXPECT_EQ(l.name, "web");
  EXPECT_EQ(l.listen_address.ToString(), "127.0.0.1:0");
  EXPECT_EQ(l.policy, Policy::kLeastConn);
  EXPECT_EQ(l.connect_timeout_ms, 250u);
  EXPECT_EQ(l.idle_timeout_ms, 5000u);
  EXPECT_EQ(l.connect_attempts, 2u);
  EXPECT_EQ(l.max_connections, 7u);
  EXPECT_EQ(l.buffer_bytes, 4096u);
  ASSERT_TRUE(l.health_check.has_value());
  EXPECT_EQ(l.health_check->interval_ms, 100u);
  EXPECT_EQ(l.health_check->timeout_ms, 50u);
  EXPECT_EQ(l.health_check->unhealthy_threshold, 2u);
  EXPECT_EQ(l.health_check->healthy_threshold, 4u);
  ASSERT_EQ(l.backends.size(), 2u);
  EXPECT_EQ(l.backends[0].weight, 80u);
  EXPECT_EQ(l.backends[1].resolved.port(), 9002);

  Result<Config> d = ParseConfig(One(""));
  ASSERT_TRUE(d.ok());
  const ListenerConfig& m = d->listeners.at(0);
  EXPECT_EQ(m.policy, Policy::kRoundRobin);
  EXPECT_EQ(m.connect_timeout_ms, kDefaultConnectTimeoutMs);
  EXPECT_EQ(m.idle_timeout_ms, kDefaultIdleTimeoutMs);
  EXPECT_EQ(m.connect_attempts, kDefaultConnectAttempts);
  EXPECT_EQ(m.max_connections, kDefaultMaxConnections);
  EXPECT_EQ(m.buffer_bytes, kDefaultBufferBytes);
  EXPECT_FALSE(m.health_check.has_value());
}

TEST(L4ConfigTest, ExactMessages) {
  EXPECT_EQ(ErrorOf("listeners: []\n"), "listeners: must be a non-empty list");
  EXPECT_EQ(ErrorOf("{}\n"), "listeners: required");
  EXPECT_EQ(ErrorOf("listener: []\n"), "listener: unknown field");
  EXPECT_EQ(ErrorOf("- a\n"), "top level: must be a map with a listeners list");
  EXPECT_EQ(ErrorOf(One("    polcy: least_conn\n")), "listeners[0].polcy: unknown field");
  EXPECT_EQ(ErrorOf(One("    policy: random\n")),
            "listeners[0].policy: must be round_robin or least_conn, got \"random\"");
  EXPECT_EQ(ErrorOf(One("    connect_timeout_ms: soon\n")),
            "listeners[0].connect_timeout_ms: must be an integer, got \"soon\"");
  EXPECT_EQ(ErrorOf(One("    connect_timeout_ms: 0\n")),
            "listeners[0].connect_timeout_ms: must be between 1 and 60000, got 0");
  EXPECT_EQ(ErrorOf(One("    health_check: {interval_ms: 100, timeout_ms: 101}\n")),
            "listeners[0].health_check.timeout_ms: must be between 1 and 100, got 101");
  EXPECT_EQ(ErrorOf(One("    health_check: {interval: 100}\n")),
            "listeners[0].health_check.interval: unknown field");
  EXPECT_EQ(ErrorOf(One("    health_check: {unhealthy_threshold: 0}\n")),
            "listeners[0].health_check.unhealthy_threshold: must be between 1 and 100, got 0");
  EXPECT_EQ(ErrorOf("listeners:\n  - name: web\n    backends: [{address: \"127.0.0.1:1\"}]\n"),
            "listeners[0].listen: required");
  EXPECT_EQ(ErrorOf("listeners:\n  - listen: \"127.0.0.1:0\"\n"), "listeners[0].name: required");
  EXPECT_EQ(ErrorOf("listeners:\n  - name: web\n    listen: \"127.0.0.1:0\"\n"),
            "listeners[0].backends: required");
  EXPECT_EQ(ErrorOf(One("", "    backends: []\n")),
            "listeners[0].backends: must be a non-empty list");
  EXPECT_EQ(ErrorOf(One("", "    backends:\n      - {address: \"127.0.0.1:9001\", weight: 101}\n")),
            "listeners[0].backends[0].weight: must be between 0 and 100, got 101");
  EXPECT_EQ(ErrorOf(One("", "    backends:\n      - {address: \"127.0.0.1:9001\", weight: -1}\n")),
            "listeners[0].backends[0].weight: must be between 0 and 100, got -1");
  EXPECT_EQ(ErrorOf(One("", "    backends:\n      - {weight: 1}\n")),
            "listeners[0].backends[0].address: required");
  EXPECT_EQ(ErrorOf(One("", "    backends:\n      - {address: \"127.0.0.1:9001\", wieght: 1}\n")),
            "listeners[0].backends[0].wieght: unknown field");
  EXPECT_EQ(ErrorOf(One("", "    backends:\n      - {address: \"127.0.0.1:0\"}\n")),
            "listeners[0].backends[0].address: port 0 is not a backend port");
  EXPECT_EQ(ErrorOf(One("",
                        "    backends:\n      - {address: \"127.0.0.1:9001\"}\n"
                        "      - {address: \"127.0.0.1:9001\"}\n")),
            "listeners[0].backends[1].address: duplicate backend \"127.0.0.1:9001\"");
  EXPECT_EQ(ErrorOf("listeners:\n" + Listener("") + Listener("")),
            "listeners[1].name: duplicate listener name \"web\"");
  // The field path names the listener's position.
  std::string two = "listeners:\n" + Listener("");
  two +=
      "  - name: db\n    listen: \"127.0.0.1:0\"\n    max_connections: 0\n"
      "    backends: [{address: \"127.0.0.1:5432\"}]\n";
  EXPECT_EQ(ErrorOf(two), "listeners[1].max_connections: must be between 1 and 1000000, got 0");
  EXPECT_EQ(ErrorOf(One("", "    backends:\n      - {address: \"nonsense\"}\n"))
                .rfind("listeners[0].backends[0].address: ", 0),
            0u);
  EXPECT_EQ(ErrorOf("listeners: [").rfind("yaml: ", 0), 0u);
}

TEST(L4ConfigTest, LimitsAtTheLimit) {
  EXPECT_EQ(ErrorOf(One("    connect_attempts: 16\n")), "ok");
  EXPECT_EQ(ErrorOf(One("    connect_attempts: 17\n")),
            "listeners[0].connect_attempts: must be between 1 and 16, got 17");
  EXPECT_EQ(ErrorOf(One("    max_connections: 1000000\n")), "ok");
  EXPECT_EQ(ErrorOf(One("    max_connections: 1000001\n")),
            "listeners[0].max_connections: must be between 1 and 1000000, got 1000001");
  EXPECT_EQ(ErrorOf(One("    buffer_bytes: 1024\n")), "ok");
  EXPECT_EQ(ErrorOf(One("    buffer_bytes: 1048576\n")), "ok");
  EXPECT_EQ(ErrorOf(One("    buffer_bytes: 1023\n")),
            "listeners[0].buffer_bytes: must be between 1024 and 1048576, got 1023");
  EXPECT_EQ(ErrorOf(One("    buffer_bytes: 1048577\n")),
            "listeners[0].buffer_bytes: must be between 1024 and 1048576, got 1048577");
  EXPECT_EQ(ErrorOf(One("", "    backends:\n      - {address: \"127.0.0.1:9001\", weight: 0}\n")),
            "ok");
  EXPECT_EQ(ErrorOf(One("", "    backends:\n      - {address: \"127.0.0.1:9001\", weight: 100}\n")),
            "ok");

  auto backends = [](size_t n) {
    std::string s = "    backends:\n";
    for (size_t i = 0; i < n; ++i) {
      s += "      - {address: \"127.0.0.1:" + std::to_string(10000 + i) + "\"}\n";
    }
    return s;
  };
  EXPECT_EQ(ErrorOf(One("", backends(kMaxBackendsPerListener))), "ok");
  EXPECT_EQ(ErrorOf(One("", backends(kMaxBackendsPerListener + 1))),
            "listeners[0].backends: at most 256 backends, got 257");

  auto listeners = [](size_t n) {
    std::string s = "listeners:\n";
    for (size_t i = 0; i < n; ++i) {
      s += "  - {name: l" + std::to_string(i) +
           ", listen: \"127.0.0.1:0\", backends: [{address: \"127.0.0.1:9001\"}]}\n";
    }
    return s;
  };
  EXPECT_EQ(ErrorOf(listeners(kMaxListeners)), "ok");
  EXPECT_EQ(ErrorOf(listeners(kMaxListeners + 1)), "listeners: at most 64 listeners, got 65");
}

TEST(L4ConfigTest, ReloadKeepsListeners) {
  Result<Config> a = ParseConfig(One(""));
  ASSERT_TRUE(a.ok());
  Result<Config> weights = ParseConfig(
      One("    policy: least_conn\n", "    backends:\n      - {address: \"127.0.0.1:9003\"}\n"));
  ASSERT_TRUE(weights.ok());
  EXPECT_TRUE(CheckReloadable(*a, *weights).ok());

  std::string moved = One("");
  moved.replace(moved.find("127.0.0.1:0"), 11, "127.0.0.1:7");
  Result<Config> b = ParseConfig(moved);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(CheckReloadable(*a, *b).message(),
            "listeners[0].listen: moving a listener needs a restart (\"127.0.0.1:0\" running, "
            "\"127.0.0.1:7\" in the file)");
  Result<Config> c = ParseConfig("listeners:\n" + Listener("") +
                                 "  - {name: db, listen: \"127.0.0.1:0\", backends: [{address: "
                                 "\"127.0.0.1:9001\"}]}\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(CheckReloadable(*a, *c).message(),
            "listeners: adding or removing listeners needs a restart (1 running, 2 in the file)");
}

}  // namespace
}  // namespace grid::router::l4
