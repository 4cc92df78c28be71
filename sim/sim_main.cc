// grid-sim: runs the deterministic cluster simulation for one seed or a range of seeds.
//   grid-sim --seed 42 --verbose            replay one seed with its full trace
//   grid-sim --seeds 1000                   seeds 1..1000, 3 and 5 members alternating
//   grid-sim --seeds 10000 --first-seed 5000 --members 5
// Exit status: 0 when every seed passed, 1 when one failed, 2 on bad flags.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>

#include "sim/cluster.h"
#include "sim/linearizability/history_json.h"

namespace {

volatile sig_atomic_t g_seed_running = 0;
volatile sig_atomic_t g_members_running = 0;
volatile sig_atomic_t g_steps_running = 0;

// A failed GRID_CHECK (in the core or here) aborts: say which seed to replay.
void OnAbort(int sig) {
  char buf[160];
  char num[24];
  auto put = [&](const char* s) {
    const size_t n = std::strlen(buf);
    std::strncpy(buf + n, s, sizeof(buf) - n - 1);
  };
  auto itoa = [&](long v) {
    char tmp[24];
    int i = 0;
    do {
      tmp[i++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v > 0 && i < 23);
    for (int j = 0; j < i; ++j) num[j] = tmp[i - 1 - j];
    num[i] = 0;
    return num;
  };
  buf[0] = 0;
  put("grid-sim: aborted; replay: grid-sim --seed ");
  put(itoa(g_seed_running));
  put(" --members ");
  put(itoa(g_members_running));
  put(" --steps ");
  put(itoa(g_steps_running));
  put(" --verbose\n");
  ssize_t ignored = write(2, buf, std::strlen(buf));
  (void)ignored;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Deterministic cluster simulation of the Raft core"};
  uint64_t seed = 0;
  uint64_t seeds = 1;
  uint64_t first_seed = 1;
  int members = 0;
  grid::sim::SimOptions base;
  bool verbose = false;
  bool stop_on_failure = false;
  std::string history_path;
  auto* seed_opt = app.add_option("--seed", seed, "run this one seed");
  app.add_option("--seeds", seeds, "number of seeds to run, from --first-seed")
      ->capture_default_str()
      ->excludes(seed_opt);
  app.add_option("--first-seed", first_seed, "first seed of --seeds")
      ->capture_default_str()
      ->excludes(seed_opt);
  app.add_option("--members", members,
                 "founding voters, 3 or 5 (default: 3 for odd seeds, 5 for even)")
      ->check(CLI::IsMember({3, 5}));
  app.add_option("--steps", base.steps, "ticks of the chaos phase")->capture_default_str();
  app.add_option("--liveness-ticks", base.liveness_ticks, "bound on the liveness phase")
      ->capture_default_str();
  app.add_flag("--verbose", verbose, "print the trace of every event");
  app.add_flag("--stop-on-failure", stop_on_failure, "stop at the first failing seed");
  app.add_option("--history", history_path,
                 "write the client history of the (last) seed as JSON lines for grid-lincheck");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (*seed_opt) {
    first_seed = seed;
    seeds = 1;
  }
  std::signal(SIGABRT, OnAbort);
  if (verbose) base.trace_out = &std::cout;

  uint64_t failures = 0, by_size[6] = {0, 0, 0, 0, 0, 0};
  grid::sim::RunStats total;
  for (uint64_t s = first_seed; s < first_seed + seeds; ++s) {
    grid::sim::SimOptions o = base;
    o.seed = s;
    o.members = members != 0 ? members : (s % 2 == 1 ? 3 : 5);
    g_seed_running = static_cast<sig_atomic_t>(s);
    g_members_running = o.members;
    g_steps_running = static_cast<sig_atomic_t>(o.steps);
    const grid::sim::RunResult r = grid::sim::RunSeed(o);
    ++by_size[o.members];
    total.ticks += r.stats.ticks;
    total.ops += r.stats.ops;
    total.ops_ok += r.stats.ops_ok;
    total.ops_indeterminate += r.stats.ops_indeterminate;
    total.crashes += r.stats.crashes;
    total.partitions += r.stats.partitions;
    total.conf_changes_applied += r.stats.conf_changes_applied;
    total.transfers += r.stats.transfers;
    total.snapshots_installed += r.stats.snapshots_installed;
    total.messages += r.stats.messages;
    if (seeds == 1 || !r.ok()) std::cout << r.Summary(o) << std::endl;
    if (!history_path.empty()) {
      std::ofstream out(history_path);
      for (const grid::lin::Operation& op : r.history)
        out << grid::lin::OperationToJson(op) << "\n";
    }
    if (!r.ok()) {
      ++failures;
      if (stop_on_failure) break;
    }
  }
  if (seeds > 1) {
    std::cout << seeds << " seeds from " << first_seed << " (" << by_size[3] << " with 3 members, "
              << by_size[5] << " with 5): " << failures << " failed; " << total.ticks << " ticks, "
              << total.ops << " client ops (" << total.ops_ok << " ok, " << total.ops_indeterminate
              << " indeterminate), " << total.crashes << " crashes, " << total.partitions
              << " partitions, " << total.conf_changes_applied << " conf changes, "
              << total.transfers << " transfers, " << total.snapshots_installed
              << " snapshots installed, " << total.messages << " messages" << std::endl;
  }
  return failures == 0 ? 0 : 1;
}
