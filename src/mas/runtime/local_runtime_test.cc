#include "mas/runtime/local_runtime.h"

#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "common/testing/temp_dir.h"

namespace grid::mas::runtime {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kWaitDeadline{10000};
constexpr milliseconds kShortGrace{2000};

// Runs until its data dir disappears (so a crashed test leaves no process behind for long).
const char kLoopScript[] = "while [ -d '{data_dir}' ]; do sleep 0.05; done";

bool WaitFor(const std::function<bool()>& done, milliseconds deadline = kWaitDeadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return done();
}

bool Alive(int pid) { return pid > 0 && kill(pid, 0) == 0 && ReadProcStat(pid)->state != 'Z'; }

class LocalRuntimeTest : public ::testing::Test {
 protected:
  LocalRuntimeOptions Options(bool active) {
    LocalRuntimeOptions options;
    options.root = dir_.path() + "/root";
    EXPECT_TRUE(options.catalog.Parse("test@sh=/bin/sh").ok());
    options.backoff_initial = milliseconds(20);
    options.backoff_max = milliseconds(160);
    options.poll_interval = milliseconds(5);
    options.passive_rescan_interval = milliseconds(50);
    options.stop_grace = kShortGrace;
    options.active = active;
    return options;
  }

  LocalRuntime* Open(bool active) { return Open(Options(active)); }
  LocalRuntime* Open(LocalRuntimeOptions options) {
    Result<std::unique_ptr<LocalRuntime>> runtime = LocalRuntime::Open(std::move(options));
    EXPECT_TRUE(runtime.ok()) << runtime.status().ToString();
    if (!runtime.ok()) return nullptr;
    runtimes_.push_back(std::move(runtime).value());
    return runtimes_.back().get();
  }

  void TearDown() override {
    for (auto& runtime : runtimes_) EXPECT_TRUE(runtime->StopAll(kShortGrace).ok());
    runtimes_.clear();
  }

  static InstanceSpec Script(const std::string& name, const std::string& script,
                             RestartPolicy restart = RestartPolicy::kInPlace) {
    return InstanceSpec{name, "test", "sh", {"-c", script}, restart};
  }

  InstanceStatus StatusOf(LocalRuntime* runtime, const std::string& name) {
    Result<InstanceStatus> status = runtime->Get(name);
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    return status.ok() ? *status : InstanceStatus{};
  }

  testing::TempDir dir_{"mas_runtime"};
  std::vector<std::unique_ptr<LocalRuntime>> runtimes_;
};

TEST_F(LocalRuntimeTest, StartsAndStops) {
  LocalRuntime* rt = Open(true);
  ASSERT_TRUE(rt->Start(Script("kv/a/m1", kLoopScript)).ok());
  InstanceStatus s = StatusOf(rt, "kv/a/m1");
  EXPECT_EQ(s.state, InstanceState::kRunning);
  EXPECT_TRUE(Alive(s.pid));
  EXPECT_EQ(rt->DataDir("kv/a/m1"), rt->root() + "/instances/kv_a_m1/data");
  EXPECT_TRUE(fs::is_directory(rt->DataDir("kv/a/m1")));
  EXPECT_TRUE(fs::exists(rt->InstanceDir("kv/a/m1") + "/instance.json"));
  EXPECT_EQ(getpgid(s.pid), s.pid);  // leads its own process group

  ASSERT_TRUE(rt->Stop("kv/a/m1", kShortGrace).ok());
  InstanceStatus stopped = StatusOf(rt, "kv/a/m1");
  EXPECT_EQ(stopped.state, InstanceState::kStopped);
  EXPECT_EQ(stopped.pid, 0);
  EXPECT_EQ(stopped.last_exit, "signal 15 (Terminated)");
  EXPECT_FALSE(Alive(s.pid));
  EXPECT_TRUE(rt->Stop("kv/a/m1").ok());  // already stopped
  EXPECT_EQ(rt->Stop("nope").code(), Code::kNotFound);
  EXPECT_EQ(rt->Host(), "127.0.0.1");

  // Starts again on the same data dir.
  ASSERT_TRUE(rt->Start(Script("kv/a/m1", kLoopScript)).ok());
  EXPECT_EQ(StatusOf(rt, "kv/a/m1").state, InstanceState::kRunning);
  EXPECT_EQ(rt->List("kv/").size(), 1u);
  EXPECT_EQ(rt->List("kv/b").size(), 0u);
}

TEST_F(LocalRuntimeTest, StartIsIdempotentAndRefusesAnotherSpec) {
  LocalRuntime* rt = Open(true);
  ASSERT_TRUE(rt->Start(Script("m", kLoopScript)).ok());
  const int pid = StatusOf(rt, "m").pid;
  ASSERT_TRUE(rt->Start(Script("m", kLoopScript)).ok());
  EXPECT_EQ(StatusOf(rt, "m").pid, pid);
  Status other = rt->Start(Script("m", std::string(kLoopScript) + " # v2"));
  EXPECT_EQ(other.code(), Code::kFailedPrecondition);
  // Stopped, it takes the new spec.
  ASSERT_TRUE(rt->Stop("m", kShortGrace).ok());
  ASSERT_TRUE(rt->Start(Script("m", std::string(kLoopScript) + " # v2")).ok());
  EXPECT_EQ(StatusOf(rt, "m").spec.args[1], std::string(kLoopScript) + " # v2");
}

TEST_F(LocalRuntimeTest, RefusesBadNamesArgsAndVersions) {
  LocalRuntime* rt = Open(true);
  for (const std::string name : {"", "A", "/x", "x/", "a//b", "a/../b", "..", ".", "a_b",
                                 "a b"}) {
    EXPECT_EQ(rt->Start(Script(name, kLoopScript)).code(), Code::kInvalidArgument) << name;
  }
  EXPECT_EQ(InstanceNameError(std::string(kMaxInstanceNameBytes, 'n')), "");
  EXPECT_NE(InstanceNameError(std::string(kMaxInstanceNameBytes + 1, 'n')), "");

  InstanceSpec spec = Script("args", kLoopScript);
  spec.args.resize(kMaxInstanceArgs, "x");  // sh -c SCRIPT $0 $1 ...
  ASSERT_TRUE(rt->Start(spec).ok());
  spec.name = "args2";
  spec.args.push_back("x");
  EXPECT_EQ(rt->Start(spec).code(), Code::kInvalidArgument);

  spec = Script("argbytes", kLoopScript);
  spec.args.push_back(std::string(kMaxInstanceArgBytes, 'y'));
  EXPECT_TRUE(rt->Start(spec).ok());
  spec.name = "argbytes2";
  spec.args.back().push_back('y');
  EXPECT_EQ(rt->Start(spec).code(), Code::kInvalidArgument);

  spec = Script("labels", kLoopScript);
  for (size_t i = 0; i < kMaxInstanceLabels; ++i) spec.labels["k" + std::to_string(i)] = "v";
  spec.labels["k0"] = std::string(kMaxInstanceLabelBytes, 'v');
  ASSERT_TRUE(rt->Start(spec).ok());
  EXPECT_EQ(rt->Get("labels")->spec.labels, spec.labels);  // recorded with the instance
  spec.name = "labels2";
  spec.labels["k0"].push_back('v');
  EXPECT_EQ(rt->Start(spec).code(), Code::kInvalidArgument);
  spec.labels["k0"] = "v";
  spec.labels["one-too-many"] = "v";
  EXPECT_EQ(rt->Start(spec).code(), Code::kInvalidArgument);

  InstanceSpec unknown = Script("v", kLoopScript);
  unknown.version = "9";
  Status s = rt->Start(unknown);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "no binary for test@9 (known: test@sh)");
  EXPECT_EQ(rt->Get("v").status().code(), Code::kNotFound);
}

TEST_F(LocalRuntimeTest, InstanceLimit) {
  LocalRuntimeOptions options = Options(true);
  options.max_instances = 3;
  LocalRuntime* rt = Open(std::move(options));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(rt->Start(Script("m" + std::to_string(i), kLoopScript)).ok());
  }
  EXPECT_EQ(rt->Start(Script("m3", kLoopScript)).code(), Code::kResourceExhausted);
  EXPECT_TRUE(rt->Start(Script("m0", kLoopScript)).ok());  // a known one is not a new one
  ASSERT_TRUE(rt->Remove("m0", true).ok());
  EXPECT_TRUE(rt->Start(Script("m3", kLoopScript)).ok());
}

TEST_F(LocalRuntimeTest, ConcurrentCallersAndStopAll) {
  LocalRuntime* rt = Open(true);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([rt, t] {
      const std::string name = "c/" + std::to_string(t);
      for (int round = 0; round < 5; ++round) {
        EXPECT_TRUE(rt->Start(Script(name, kLoopScript)).ok());
        EXPECT_EQ(rt->List("c/").size() >= 1, true);
        EXPECT_TRUE(rt->AllocatePort().ok());
        EXPECT_TRUE(rt->Stop(name, kShortGrace).ok());
      }
      EXPECT_TRUE(rt->Start(Script(name, kLoopScript)).ok());
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<int> pids;
  for (const InstanceStatus& s : rt->List("c/")) {
    EXPECT_EQ(s.state, InstanceState::kRunning);
    pids.push_back(s.pid);
  }
  ASSERT_EQ(pids.size(), 4u);
  ASSERT_TRUE(rt->StopAll(kShortGrace).ok());
  for (int pid : pids) EXPECT_FALSE(Alive(pid));
  for (const InstanceStatus& s : rt->List()) EXPECT_EQ(s.state, InstanceState::kStopped);
}

TEST_F(LocalRuntimeTest, MissingBinaryFails) {
  LocalRuntimeOptions options = Options(true);
  ASSERT_TRUE(options.catalog.Parse("test@gone=" + dir_.path() + "/no-such-binary").ok());
  LocalRuntime* rt = Open(std::move(options));
  InstanceSpec spec{"m", "test", "gone", {}, RestartPolicy::kInPlace};
  EXPECT_EQ(rt->Start(spec).code(), Code::kNotFound);
  InstanceStatus s = StatusOf(rt, "m");
  EXPECT_EQ(s.state, InstanceState::kFailed);
  EXPECT_NE(s.message.find("no-such-binary"), std::string::npos);
}

TEST_F(LocalRuntimeTest, SubstitutesDataDirAndAppendsOutputToLog) {
  LocalRuntime* rt = Open(true);
  ASSERT_TRUE(rt->Start(Script("m", "echo out; echo err >&2; touch '{data_dir}/made'; " +
                                        std::string(kLoopScript)))
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return fs::exists(rt->DataDir("m") + "/made"); }));
  ASSERT_TRUE(WaitFor([&] {
    std::ifstream in(rt->LogPath("m"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find("out\n") != std::string::npos && text.find("err\n") != std::string::npos;
  }));
}

TEST_F(LocalRuntimeTest, LogOverTheLimitIsRotatedAtRestart) {
  LocalRuntimeOptions options = Options(true);
  options.max_log_bytes = 1000;
  LocalRuntime* rt = Open(std::move(options));
  // Writes 1001 bytes (1000 'x' and a newline), then runs.
  ASSERT_TRUE(rt->Start(Script("m", "head -c 1000 /dev/zero | tr '\\0' x; echo; " +
                                        std::string(kLoopScript)))
                  .ok());
  ASSERT_TRUE(WaitFor([&] {
    std::error_code ec;
    return fs::file_size(rt->LogPath("m"), ec) > 1000 && !ec;
  }));
  ASSERT_EQ(kill(StatusOf(rt, "m").pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return StatusOf(rt, "m").restarts == 1; }));
  EXPECT_TRUE(fs::exists(rt->LogPath("m") + ".1"));
  std::error_code ec;
  EXPECT_LT(fs::file_size(rt->LogPath("m"), ec), 1000u);
}

// Restart policy kInPlace keeps the data dir.
TEST_F(LocalRuntimeTest, KilledInstanceRestartsInPlace) {
  LocalRuntime* rt = Open(true);
  ASSERT_TRUE(rt->Start(Script("m", kLoopScript)).ok());
  std::ofstream(rt->DataDir("m") + "/kept") << "data";
  const int pid = StatusOf(rt, "m").pid;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] {
    InstanceStatus s = StatusOf(rt, "m");
    return s.state == InstanceState::kRunning && s.restarts == 1;
  }));
  InstanceStatus s = StatusOf(rt, "m");
  EXPECT_NE(s.pid, pid);
  EXPECT_EQ(s.last_exit, "signal 9 (Killed)");
  EXPECT_EQ(s.incarnation, 0);
  EXPECT_TRUE(fs::exists(rt->DataDir("m") + "/kept"));
  Result<InstanceRecord> record = ReadInstanceRecord(rt->InstanceDir("m"));
  ASSERT_TRUE(record.ok());
  ASSERT_TRUE(WaitFor([&] {
    Result<InstanceRecord> r = ReadInstanceRecord(rt->InstanceDir("m"));
    return r.ok() && r->process.pid == StatusOf(rt, "m").pid && r->restarts == 1;
  }));
}

TEST_F(LocalRuntimeTest, ReplacedInstanceStartsOnAnEmptyDataDir) {
  LocalRuntime* rt = Open(true);
  ASSERT_TRUE(rt->Start(Script("r", kLoopScript, RestartPolicy::kReplace)).ok());
  std::ofstream(rt->DataDir("r") + "/old") << "data";
  ASSERT_EQ(kill(StatusOf(rt, "r").pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] {
    InstanceStatus s = StatusOf(rt, "r");
    return s.state == InstanceState::kRunning && s.incarnation == 1;
  }));
  EXPECT_FALSE(fs::exists(rt->DataDir("r") + "/old"));
  EXPECT_TRUE(fs::is_directory(rt->DataDir("r")));
  EXPECT_EQ(StatusOf(rt, "r").last_exit, "signal 9 (Killed)");
}

TEST_F(LocalRuntimeTest, NeverPolicyLeavesItStopped) {
  LocalRuntime* rt = Open(true);
  ASSERT_TRUE(rt->Start(Script("n", "exit 7", RestartPolicy::kNever)).ok());
  ASSERT_TRUE(WaitFor([&] { return StatusOf(rt, "n").state == InstanceState::kStopped; }));
  InstanceStatus s = StatusOf(rt, "n");
  EXPECT_EQ(s.last_exit, "exit status 7");
  EXPECT_EQ(s.restarts, 0);
  EXPECT_NE(s.message.find("Never"), std::string::npos);
}

TEST_F(LocalRuntimeTest, PassiveRuntimeObservesButDoesNotRestart) {
  LocalRuntimeOptions options = Options(false);
  options.passive_rescan_interval = milliseconds(5);  // rescans must not lose what it saw
  LocalRuntime* rt = Open(std::move(options));
  ASSERT_TRUE(rt->Start(Script("p", kLoopScript)).ok());
  ASSERT_EQ(kill(StatusOf(rt, "p").pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return StatusOf(rt, "p").state == InstanceState::kBackoff; }));
  const InstanceStatus s = StatusOf(rt, "p");
  EXPECT_EQ(s.last_exit, "signal 9 (Killed)");
  // Well past its restart time (and a few passes of the supervisor) it is still down.
  const auto until = s.next_restart + milliseconds(100);
  bool restarted = false;
  ASSERT_TRUE(WaitFor([&] {
    restarted = restarted || StatusOf(rt, "p").state != InstanceState::kBackoff;
    return restarted || std::chrono::system_clock::now() > until;
  }));
  EXPECT_FALSE(restarted);
  EXPECT_EQ(StatusOf(rt, "p").last_exit, "signal 9 (Killed)");
  EXPECT_EQ(StatusOf(rt, "p").restarts, 0);
  rt->SetActive(true);
  ASSERT_TRUE(WaitFor([&] { return StatusOf(rt, "p").state == InstanceState::kRunning; }));
  EXPECT_EQ(StatusOf(rt, "p").restarts, 1);
}

TEST_F(LocalRuntimeTest, BackoffGrowsBetweenRestarts) {
  LocalRuntimeOptions options = Options(true);
  options.backoff_initial = milliseconds(40);
  options.backoff_max = milliseconds(320);
  LocalRuntime* rt = Open(std::move(options));
  ASSERT_TRUE(rt->Start(Script("crash", "exit 3")).ok());
  // restarts -> delay between the last start and the planned restart.
  std::map<int64_t, std::chrono::system_clock::duration> delay;
  ASSERT_TRUE(WaitFor([&] {
    InstanceStatus s = StatusOf(rt, "crash");
    if (s.state == InstanceState::kBackoff) delay[s.restarts] = s.next_restart - s.started_at;
    return delay.size() >= 4 && delay.count(0) && delay.count(1) && delay.count(2) &&
           delay.count(3);
  }));
  EXPECT_LT(delay[0], delay[1]);
  EXPECT_LT(delay[1], delay[2]);
  EXPECT_LT(delay[2], delay[3]);
  EXPECT_EQ(StatusOf(rt, "crash").last_exit, "exit status 3");
  ASSERT_TRUE(rt->Stop("crash").ok());  // cancels the pending restart
  EXPECT_EQ(StatusOf(rt, "crash").state, InstanceState::kStopped);
}

// A restarted control plane adopts the processes its predecessor started.
TEST_F(LocalRuntimeTest, AdoptsProcessesOfAPreviousRuntime) {
  int pid = 0;
  {
    Result<std::unique_ptr<LocalRuntime>> a = LocalRuntime::Open(Options(true));
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE((*a)->Start(Script("kv/x/m1", kLoopScript)).ok());
    ASSERT_TRUE((*a)->Start(Script("kv/x/m2", kLoopScript)).ok());
    ASSERT_TRUE((*a)->Stop("kv/x/m2", kShortGrace).ok());
    pid = StatusOf(a->get(), "kv/x/m1").pid;
  }  // the runtime goes; its instances stay
  ASSERT_TRUE(Alive(pid));

  LocalRuntime* b = Open(true);
  InstanceStatus s = StatusOf(b, "kv/x/m1");
  EXPECT_EQ(s.state, InstanceState::kRunning);
  EXPECT_EQ(s.pid, pid);
  EXPECT_EQ(StatusOf(b, "kv/x/m2").state, InstanceState::kStopped);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] {
    InstanceStatus now = StatusOf(b, "kv/x/m1");
    return now.state == InstanceState::kRunning && now.restarts == 1;
  }));
  EXPECT_NE(StatusOf(b, "kv/x/m1").pid, pid);
  EXPECT_FALSE(Alive(pid));
}

TEST_F(LocalRuntimeTest, AdoptedProcessIsStopped) {
  int pid = 0;
  {
    Result<std::unique_ptr<LocalRuntime>> a = LocalRuntime::Open(Options(true));
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE((*a)->Start(Script("m", kLoopScript)).ok());
    pid = StatusOf(a->get(), "m").pid;
  }
  LocalRuntime* b = Open(false);
  ASSERT_EQ(StatusOf(b, "m").pid, pid);
  ASSERT_TRUE(b->Stop("m", kShortGrace).ok());
  EXPECT_FALSE(Alive(pid));
  EXPECT_EQ(StatusOf(b, "m").state, InstanceState::kStopped);
}

TEST_F(LocalRuntimeTest, PassiveRuntimeFollowsTheActiveOne) {
  LocalRuntime* active = Open(true);
  ASSERT_TRUE(active->Start(Script("m", kLoopScript)).ok());
  LocalRuntime* passive = Open(false);
  const int pid = StatusOf(active, "m").pid;
  EXPECT_EQ(StatusOf(passive, "m").pid, pid);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return StatusOf(active, "m").restarts == 1; }));
  const int new_pid = StatusOf(active, "m").pid;
  ASSERT_TRUE(WaitFor([&] {
    InstanceStatus s = StatusOf(passive, "m");
    return s.state == InstanceState::kRunning && s.pid == new_pid;
  }));
  // Taking over adopts the running process instead of starting a second one.
  active->SetActive(false);
  passive->SetActive(true);
  EXPECT_EQ(StatusOf(passive, "m").pid, new_pid);
  EXPECT_EQ(StatusOf(passive, "m").restarts, 1);
}

TEST_F(LocalRuntimeTest, RemoveAndWipeData) {
  LocalRuntime* rt = Open(true);
  ASSERT_TRUE(rt->Start(Script("w", kLoopScript)).ok());
  std::ofstream(rt->DataDir("w") + "/f") << "x";
  EXPECT_EQ(rt->WipeData("w").code(), Code::kFailedPrecondition);
  ASSERT_TRUE(rt->Stop("w", kShortGrace).ok());
  ASSERT_TRUE(rt->WipeData("w").ok());
  EXPECT_TRUE(fs::is_directory(rt->DataDir("w")));
  EXPECT_TRUE(fs::is_empty(rt->DataDir("w")));
  EXPECT_EQ(StatusOf(rt, "w").incarnation, 1);
  EXPECT_EQ(rt->WipeData("nope").code(), Code::kNotFound);

  // Remove without wipe forgets the instance and keeps its data.
  ASSERT_TRUE(rt->Start(Script("keep", kLoopScript)).ok());
  std::ofstream(rt->DataDir("keep") + "/f") << "x";
  ASSERT_TRUE(rt->Remove("keep", false).ok());
  EXPECT_EQ(rt->Get("keep").status().code(), Code::kNotFound);
  EXPECT_TRUE(fs::exists(rt->DataDir("keep") + "/f"));
  EXPECT_FALSE(fs::exists(rt->InstanceDir("keep") + "/instance.json"));

  // Remove with wipe removes the whole instance dir, running or not.
  ASSERT_TRUE(rt->Start(Script("w", kLoopScript)).ok());
  const int pid = StatusOf(rt, "w").pid;
  ASSERT_TRUE(rt->Remove("w", true).ok());
  EXPECT_FALSE(Alive(pid));
  EXPECT_FALSE(fs::exists(rt->InstanceDir("w")));
  EXPECT_TRUE(rt->Remove("w", true).ok());  // unknown: OK

  // A new runtime on the root sees only what is left.
  LocalRuntime* again = Open(false);
  EXPECT_EQ(again->List().size(), 0u);
}

TEST_F(LocalRuntimeTest, ReloadSendsHangup) {
  LocalRuntime* rt = Open(true);
  ASSERT_TRUE(rt->Start(Script("h", "trap 'touch \"{data_dir}/reloaded\"' HUP; " +
                                        std::string(kLoopScript)))
                  .ok());
  // The trap is set once the script runs; retry until it takes effect.
  ASSERT_TRUE(WaitFor([&] {
    EXPECT_TRUE(rt->Reload("h").ok());
    return WaitFor([&] { return fs::exists(rt->DataDir("h") + "/reloaded"); }, milliseconds(200));
  }));
  EXPECT_EQ(StatusOf(rt, "h").state, InstanceState::kRunning);
  ASSERT_TRUE(rt->Stop("h", kShortGrace).ok());
  EXPECT_EQ(rt->Reload("h").code(), Code::kFailedPrecondition);
  EXPECT_EQ(rt->Reload("nope").code(), Code::kNotFound);
}

TEST_F(LocalRuntimeTest, StopEscalatesToKill) {
  LocalRuntime* rt = Open(true);
  ASSERT_TRUE(rt->Start(Script("t", "trap '' TERM; touch '{data_dir}/ready'; " +
                                        std::string(kLoopScript)))
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return fs::exists(rt->DataDir("t") + "/ready"); }));
  ASSERT_TRUE(rt->Stop("t", milliseconds(100)).ok());
  EXPECT_EQ(StatusOf(rt, "t").last_exit, "signal 9 (Killed)");
}

TEST_F(LocalRuntimeTest, AllocatesDistinctPorts) {
  LocalRuntime* rt = Open(true);
  std::set<int> seen;
  for (int i = 0; i < 50; ++i) {
    Result<int> port = rt->AllocatePort();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    EXPECT_GT(*port, 0);
    EXPECT_TRUE(seen.insert(*port).second) << *port;
  }
}

TEST_F(LocalRuntimeTest, CorruptRecordFailsOpenNamingTheFile) {
  const std::string dir = dir_.path() + "/root/instances/bad";
  fs::create_directories(dir);
  std::ofstream(dir + "/instance.json") << "{not json";
  Result<std::unique_ptr<LocalRuntime>> rt = LocalRuntime::Open(Options(true));
  ASSERT_EQ(rt.status().code(), Code::kCorruption);
  EXPECT_NE(rt.status().message().find(dir + "/instance.json"), std::string::npos);
}

TEST_F(LocalRuntimeTest, InstanceNotRunningAtOpenIsRestartedWhenActive) {
  {
    Result<std::unique_ptr<LocalRuntime>> a = LocalRuntime::Open(Options(true));
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE((*a)->Start(Script("m", kLoopScript)).ok());
    const int pid = StatusOf(a->get(), "m").pid;
    a->reset();
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    ASSERT_TRUE(WaitFor([&] { return !Alive(pid); }));
  }
  LocalRuntime* b = Open(true);
  ASSERT_TRUE(WaitFor([&] {
    InstanceStatus s = StatusOf(b, "m");
    return s.state == InstanceState::kRunning && s.restarts == 1;
  }));
}

}  // namespace
}  // namespace grid::mas::runtime
