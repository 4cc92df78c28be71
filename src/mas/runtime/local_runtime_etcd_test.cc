// LocalRuntime running a real etcd 3.4 member: started on allocated ports, killed with
// SIGKILL, restarted in place on its data dir with its data intact. Needs `etcd` on $PATH
// (or $GRID_TEST_ETCD_BINARY); skipped when there is none.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <sstream>
#include <thread>

#include "client/client.h"
#include "common/testing/temp_dir.h"
#include "mas/runtime/local_runtime.h"

namespace grid::mas::runtime {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kReadyDeadline{30000};

std::string FindEtcd() {
  if (const char* env = std::getenv("GRID_TEST_ETCD_BINARY"); env && *env == '/') return env;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = dir + "/etcd";
    if (!dir.empty() && dir[0] == '/' && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool WaitFor(const std::function<bool()>& done, milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return done();
}

TEST(LocalRuntimeEtcdTest, KilledMemberRestartsInPlaceWithItsData) {
  const std::string etcd = FindEtcd();
  if (etcd.empty()) GTEST_SKIP() << "no etcd binary on PATH";
  testing::TempDir dir("mas_runtime_etcd");
  LocalRuntimeOptions options;
  options.root = dir.path();
  ASSERT_TRUE(options.catalog.Add("etcd", "3.4.23", etcd).ok());
  options.backoff_initial = milliseconds(50);
  options.poll_interval = milliseconds(20);
  options.active = true;
  Result<std::unique_ptr<LocalRuntime>> opened = LocalRuntime::Open(std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  LocalRuntime& rt = **opened;
  struct StopAtEnd {
    LocalRuntime& rt;
    ~StopAtEnd() { EXPECT_TRUE(rt.StopAll(milliseconds(5000)).ok()); }
  } stop_at_end{rt};

  Result<int> client_port = rt.AllocatePort();
  Result<int> peer_port = rt.AllocatePort();
  ASSERT_TRUE(client_port.ok() && peer_port.ok());
  const std::string client_url = "http://127.0.0.1:" + std::to_string(*client_port);
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(*peer_port);
  InstanceSpec spec{"kv/demo/m1", "etcd", "3.4.23",
                    {"--name=m1", "--data-dir={data_dir}", "--listen-client-urls=" + client_url,
                     "--advertise-client-urls=" + client_url, "--listen-peer-urls=" + peer_url,
                     "--initial-advertise-peer-urls=" + peer_url,
                     "--initial-cluster=m1=" + peer_url, "--initial-cluster-state=new",
                     "--initial-cluster-token=mas-runtime-test"},
                    RestartPolicy::kInPlace};
  ASSERT_TRUE(rt.Start(spec).ok());

  client::ClientOptions client_options;
  client_options.dial_timeout = milliseconds(0);
  client_options.call_timeout = milliseconds(1000);
  client_options.max_reconnect_backoff = milliseconds(200);
  Result<std::unique_ptr<client::Client>> connected =
      client::Client::Connect({"127.0.0.1:" + std::to_string(*client_port)}, client_options);
  ASSERT_TRUE(connected.ok()) << connected.status().ToString();
  client::Client& kv = **connected;
  ASSERT_TRUE(WaitFor([&] { return kv.Put("/mas/runtime/k", "before-kill").ok(); },
                      kReadyDeadline))
      << "etcd did not answer; see " << rt.LogPath(spec.name);
  Result<etcdserverpb::MemberListResponse> members = kv.MemberList();
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->members_size(), 1);

  const int pid = rt.Get(spec.name)->pid;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        Result<InstanceStatus> s = rt.Get(spec.name);
        return s.ok() && s->state == InstanceState::kRunning && s->restarts == 1;
      },
      kReadyDeadline));
  EXPECT_EQ(rt.Get(spec.name)->last_exit, "signal 9 (Killed)");
  EXPECT_NE(rt.Get(spec.name)->pid, pid);

  std::string value;
  ASSERT_TRUE(WaitFor(
      [&] {
        Result<etcdserverpb::RangeResponse> got = kv.Get("/mas/runtime/k");
        if (!got.ok() || got->kvs_size() != 1) return false;
        value = got->kvs(0).value();
        return true;
      },
      kReadyDeadline))
      << "etcd did not answer after the restart; see " << rt.LogPath(spec.name);
  EXPECT_EQ(value, "before-kill");
}

}  // namespace
}  // namespace grid::mas::runtime
