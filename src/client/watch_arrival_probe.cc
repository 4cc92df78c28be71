// Measuring tool for bench/large_watch_response_latency.py; times are CLOCK_MONOTONIC ns, so
// they compare across processes on one machine.
//
//   watch_arrival_probe watch HOST:PORT PREFIX
//     watches every key under PREFIX with client::Watcher; prints "ready" once the watch is
//     created, then per watch response "<header revision> <events> <ns when the callback got
//     it>". Runs until stdin closes.
//   watch_arrival_probe txn HOST:PORT PREFIX
//     per stdin line "KEYS VALUE": one txn putting VALUE at PREFIX t00000 .. t<KEYS - 1>;
//     prints "<revision> <ns before the call> <ns after the response>" (or "error ...").
#include <time.h>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "client/client.h"

namespace {

long long MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

int Watch(grid::client::Client* client, const std::string& prefix) {
  grid::client::WatchOptions options;
  options.prefix = true;
  auto watcher = client->Watch(prefix, options, [](const grid::client::WatchUpdate& u) {
    const long long now_ns = MonotonicNs();
    std::printf("%lld %zu %lld\n", static_cast<long long>(u.header_revision), u.events.size(),
                now_ns);
    std::fflush(stdout);
  });
  if (!watcher.ok()) {
    std::cerr << watcher.status().ToString() << "\n";
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

int Txn(grid::client::Client* client, const std::string& prefix) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    int keys = 0;
    std::string value;
    in >> keys >> value;
    grid::client::TxnBuilder txn;
    for (int i = 0; i < keys; ++i) {
      char name[16];
      std::snprintf(name, sizeof(name), "t%05d", i);
      txn.Then(grid::client::OpPut(prefix + name, value));
    }
    grid::client::Context ctx;
    const long long before_ns = MonotonicNs();
    auto resp = client->Txn(txn.request(), ctx);
    const long long after_ns = MonotonicNs();
    if (resp.ok()) {
      std::printf("%lld %lld %lld\n", static_cast<long long>(resp->header().revision()),
                  before_ns, after_ns);
    } else {
      std::printf("error %s\n", resp.status().ToString().c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 4 ? argv[1] : "";
  if (mode != "watch" && mode != "txn") {
    std::cerr << "usage: watch_arrival_probe watch|txn HOST:PORT PREFIX\n";
    return 2;
  }
  grid::client::ClientOptions options;
  options.call_timeout = std::chrono::seconds(60);
  auto client = grid::client::Client::Connect({argv[2]}, options);
  if (!client.ok()) {
    std::cerr << client.status().ToString() << "\n";
    return 1;
  }
  return mode == "watch" ? Watch(client->get(), argv[3]) : Txn(client->get(), argv[3]);
}
