#include "kv/http/etcd_handler.h"

#include <gtest/gtest.h>

namespace grid::kv::http {
namespace {

struct FakeState {
  std::vector<std::string> alarms;
  bool has_leader = true;
  bool read_ok = true;
  int reads = 0;
};

class FakeSource : public MemberStatusSource {
 public:
  explicit FakeSource(FakeState* state) : state_(state) {}
  std::vector<std::string> ActiveAlarms() const override { return state_->alarms; }
  bool HasLeader() const override { return state_->has_leader; }
  bool LinearizableReadWithin(std::chrono::milliseconds timeout) const override {
    EXPECT_EQ(timeout, kHealthReadTimeout);
    ++state_->reads;
    return state_->read_ok;
  }
  MetricsSnapshot Metrics() const override {
    MetricsSnapshot s;
    s.server_version = "3.4.23";
    s.member_id = 0x8e9e05c52164694dULL;
    s.current_revision = 7;
    s.db_total_size_bytes = 20480;
    return s;
  }

 private:
  FakeState* const state_;
};

class EtcdHandlerTest : public ::testing::Test {
 protected:
  HttpResponse Get(const std::string& target, const std::string& method = "GET") {
    HttpRequest r;
    r.method = method;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    return handler_.Handle(r);
  }
  static std::string HeaderOf(const HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "<none>";
  }

  FakeState state_;
  EtcdHttpHandler handler_{std::make_unique<FakeSource>(&state_), VersionInfo{}};
};

TEST_F(EtcdHandlerTest, HealthyMember) {
  HttpResponse r = Get("/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"health":"true"})");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(HeaderOf(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(state_.reads, 1);
}

TEST_F(EtcdHandlerTest, AnyAlarmMakesItUnhealthyUnlessExcluded) {
  state_.alarms = {"NOSPACE"};
  HttpResponse r = Get("/health");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"health\":\"false\"}\n");
  EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(state_.reads, 0);  // decided before reading, as etcd
  EXPECT_EQ(Get("/health?exclude=NOSPACE").status, 200);
  state_.alarms = {"NOSPACE", "CORRUPT"};
  EXPECT_EQ(Get("/health?exclude=NOSPACE").status, 503);
  EXPECT_EQ(Get("/health?exclude=NOSPACE&exclude=CORRUPT").status, 200);
}

TEST_F(EtcdHandlerTest, NoLeaderOrFailedReadIsUnhealthy) {
  state_.has_leader = false;
  EXPECT_EQ(Get("/health").status, 503);
  state_.has_leader = true;
  state_.read_ok = false;
  HttpResponse r = Get("/health");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"health\":\"false\"}\n");
}

TEST_F(EtcdHandlerTest, HealthAndVersionAllowOnlyGet) {
  for (const char* path : {"/health", "/version"}) {
    HttpResponse r = Get(path, "POST");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.body, "Method Not Allowed\n");
    EXPECT_EQ(HeaderOf(r, "Allow"), "GET");
    EXPECT_EQ(Get(path, "HEAD").status, 405);
  }
}

TEST_F(EtcdHandlerTest, Version) {
  HttpResponse r = Get("/version");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"etcdserver":"3.4.23","etcdcluster":"3.4.0"})");
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "application/json");
}

TEST_F(EtcdHandlerTest, MetricsCountHealthChecks) {
  (void)Get("/health");
  state_.alarms = {"NOSPACE"};
  (void)Get("/health");
  (void)Get("/health");
  HttpResponse r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(HeaderOf(r, "Content-Type"), kPrometheusContentType);
  EXPECT_NE(r.body.find("\netcd_server_health_success 1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\netcd_server_health_failures 2\n"), std::string::npos);
  EXPECT_NE(r.body.find("\netcd_debugging_mvcc_current_revision 7\n"), std::string::npos);
  EXPECT_NE(r.body.find("\netcd_mvcc_db_total_size_in_bytes 20480\n"), std::string::npos);
  EXPECT_NE(r.body.find("etcd_server_id{server_id=\"8e9e05c52164694d\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE etcd_server_version gauge\n"
                        "etcd_server_version{server_version=\"3.4.23\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(Get("/metrics", "POST").status, 200);  // promhttp takes any method
}

TEST_F(EtcdHandlerTest, UnknownPathIs404) {
  for (const char* path : {"/", "/healthz", "/health/", "/v2/keys", "*"}) {
    HttpResponse r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, "404 page not found\n");
  }
}

TEST(ProcessMetrics, ReadsThisProcess) {
  auto m = ReadProcessMetrics();
  ASSERT_TRUE(m.has_value());
  EXPECT_GT(m->open_fds, 0);
  EXPECT_GT(m->resident_memory_bytes, 0);
  EXPECT_GT(m->start_time_seconds, 1e9);
  MetricsSnapshot s;
  s.process = m;
  EXPECT_NE(FormatPrometheus(s).find("\nprocess_open_fds "), std::string::npos);
}

}  // namespace
}  // namespace grid::kv::http
