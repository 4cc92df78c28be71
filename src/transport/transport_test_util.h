// Test harness: a member's transport with recorded callbacks, and polling helpers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"
#include "transport/transport.h"

namespace grid::transport::testutil {

// Polls `pred` until it holds or `timeout` passes.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

class StringReader final : public SnapshotReader {
 public:
  explicit StringReader(std::string data, uint64_t announced)
      : data_(std::move(data)), announced_(announced) {}
  explicit StringReader(std::string data) : StringReader(data, data.size()) {}
  uint64_t size_bytes() const override { return announced_; }
  Result<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, data_.size() - pos_);
    std::copy(data_.data() + pos_, data_.data() + pos_ + k, buf);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  uint64_t announced_;
  size_t pos_ = 0;
};

// What the callbacks of one member saw.
struct Events {
  std::mutex mu;
  std::vector<raft::Message> messages;
  std::vector<size_t> batch_sizes;
  std::vector<std::pair<raft::Message, std::string>> snapshots;
  std::map<raft::MemberId, int> unreachable;
  std::vector<std::pair<raft::MemberId, bool>> snapshot_status;

  size_t message_count() {
    std::lock_guard l(mu);
    return messages.size();
  }
  int unreachable_count(raft::MemberId id) {
    std::lock_guard l(mu);
    return unreachable[id];
  }
  size_t snapshot_status_count() {
    std::lock_guard l(mu);
    return snapshot_status.size();
  }
};

inline TransportOptions TestOptions(uint64_t cluster, uint64_t id, const std::string& dir) {
  TransportOptions o;
  o.cluster_id = cluster;
  o.member_id = raft::MemberId(id);
  o.listen_urls = {"http://127.0.0.1:0"};
  o.snapshot_dir = dir + "/snap";
  o.dial_timeout = std::chrono::seconds(10);
  o.initial_backoff = std::chrono::milliseconds(10);
  o.max_backoff = std::chrono::milliseconds(100);
  return o;
}

class Member {
 public:
  // `tweak` may edit the options and callbacks before start.
  template <typename Tweak>
  Member(uint64_t cluster, uint64_t id, Tweak tweak) : options_(TestOptions(cluster, id, dir_.path())) {
    callbacks_.on_messages = [this](std::vector<raft::Message> msgs) {
      std::lock_guard l(events.mu);
      events.batch_sizes.push_back(msgs.size());
      for (auto& m : msgs) events.messages.push_back(std::move(m));
    };
    callbacks_.on_snapshot = [this](raft::Message m, std::string path) {
      std::lock_guard l(events.mu);
      events.snapshots.emplace_back(std::move(m), std::move(path));
    };
    callbacks_.on_unreachable = [this](raft::MemberId id) {
      std::lock_guard l(events.mu);
      ++events.unreachable[id];
    };
    callbacks_.on_snapshot_status = [this](raft::MemberId id, bool ok) {
      std::lock_guard l(events.mu);
      events.snapshot_status.emplace_back(id, ok);
    };
    tweak(options_, callbacks_);
    Restart();
  }
  Member(uint64_t cluster, uint64_t id) : Member(cluster, id, [](auto&, auto&) {}) {}

  // Starts (again) on the same listen URLs as before (the bound ports after the first start).
  void Restart() {
    auto t = Transport::Start(options_, callbacks_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    transport_ = std::move(t).value();
    options_.listen_urls = transport_->listen_urls();
  }
  void Stop() { transport_.reset(); }

  Transport* operator->() { return transport_.get(); }
  const std::string& url() const { return options_.listen_urls[0]; }
  const std::string& dir() const { return dir_.path(); }
  raft::MemberId id() const { return options_.member_id; }

  Events events;

 private:
  testing::TempDir dir_{"transport_test"};
  TransportOptions options_;
  TransportCallbacks callbacks_;
  std::unique_ptr<Transport> transport_;
};

inline raft::Message App(uint64_t from, uint64_t to, uint64_t index, size_t payload = 8) {
  raft::Message m;
  m.type = raft::MessageType::kApp;
  m.from = raft::MemberId(from);
  m.to = raft::MemberId(to);
  m.term = raft::Term(3);
  m.index = raft::Index(index);
  m.commit = raft::Index(index);
  m.entries.push_back(raft::Entry{raft::Term(3), raft::Index(index + 1), raft::EntryType::kNormal,
                                  std::string(payload, static_cast<char>('a' + index % 26))});
  return m;
}

inline raft::Message Snap(uint64_t from, uint64_t to, uint64_t index) {
  raft::Message m;
  m.type = raft::MessageType::kSnap;
  m.from = raft::MemberId(from);
  m.to = raft::MemberId(to);
  m.term = raft::Term(4);
  raft::Snapshot s;
  s.meta.index = raft::Index(index);
  s.meta.term = raft::Term(4);
  s.meta.conf_state.voters = {raft::MemberId(from), raft::MemberId(to)};
  s.data = "checkpoint-token";
  m.snapshot = s;
  return m;
}

}  // namespace grid::transport::testutil
