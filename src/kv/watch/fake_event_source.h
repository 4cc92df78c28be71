// Test-only in-memory history implementing EventSource, with a tiny Put/Delete API that
// returns the committed events as the store would.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kv/watch/event_source.h"

namespace grid::kv::watch::testing {

class FakeEventSource final : public EventSource {
 public:
  explicit FakeEventSource(size_t page_events = 1000) : page_events_(page_events) {}

  // Each call makes one revision; returns its events (prev_kv filled).
  std::vector<mvccpb::Event> Put(const std::string& key, const std::string& value) {
    return Txn({{key, value}}, {});
  }
  std::vector<mvccpb::Event> Delete(const std::string& key) { return Txn({}, {key}); }
  // Several puts then deletes in one revision.
  std::vector<mvccpb::Event> Txn(const std::vector<std::pair<std::string, std::string>>& puts,
                                 const std::vector<std::string>& deletes) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t rev = current_ + 1;
    std::vector<mvccpb::Event> out;
    for (const auto& [key, value] : puts) {
      mvccpb::Event ev;
      ev.set_type(mvccpb::Event::PUT);
      mvccpb::KeyValue* kv = ev.mutable_kv();
      kv->set_key(key);
      kv->set_value(value);
      kv->set_mod_revision(rev);
      auto it = live_.find(key);
      if (it != live_.end()) {
        *ev.mutable_prev_kv() = it->second;
        kv->set_create_revision(it->second.create_revision());
        kv->set_version(it->second.version() + 1);
      } else {
        kv->set_create_revision(rev);
        kv->set_version(1);
      }
      live_[key] = *kv;
      out.push_back(ev);
    }
    for (const auto& key : deletes) {
      auto it = live_.find(key);
      if (it == live_.end()) continue;
      mvccpb::Event ev;
      ev.set_type(mvccpb::Event::DELETE);
      ev.mutable_kv()->set_key(key);
      ev.mutable_kv()->set_mod_revision(rev);
      *ev.mutable_prev_kv() = it->second;
      live_.erase(it);
      out.push_back(ev);
    }
    if (out.empty()) return out;
    history_.insert(history_.end(), out.begin(), out.end());
    current_ = rev;
    return out;
  }

  void Compact(int64_t revision) {
    std::lock_guard<std::mutex> lock(mu_);
    compacted_ = revision;
  }
  void FailReads(bool fail) { fail_reads_ = fail; }
  int64_t reads() const { return reads_; }

  Result<std::vector<mvccpb::Event>> EventsInRange(std::string_view key, std::string_view end,
                                                   int64_t from_revision, int64_t to_revision,
                                                   bool with_prev_kv) const override {
    ++reads_;
    if (fail_reads_) return IOError("injected read failure");
    std::lock_guard<std::mutex> lock(mu_);
    if (from_revision < compacted_) return OutOfRange("mvcc: required revision has been compacted");
    std::vector<mvccpb::Event> out;
    const bool from_key = end.size() == 1 && end[0] == '\0';
    for (const auto& ev : history_) {
      const int64_t rev = ev.kv().mod_revision();
      if (rev < from_revision || rev > to_revision) continue;
      // Stop at a revision boundary once the page is full.
      if (out.size() >= page_events_ && out.back().kv().mod_revision() != rev) break;
      const std::string& k = ev.kv().key();
      const bool match = end.empty() ? k == key : (k >= key && (from_key || k < end));
      if (!match) continue;
      out.push_back(ev);
      if (!with_prev_kv) out.back().clear_prev_kv();
    }
    return out;
  }
  int64_t CurrentRevision() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  int64_t CompactedRevision() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return compacted_;
  }

 private:
  const size_t page_events_;
  mutable std::mutex mu_;
  int64_t current_ = 0;
  int64_t compacted_ = 0;
  std::map<std::string, mvccpb::KeyValue> live_;
  std::vector<mvccpb::Event> history_;
  std::atomic<bool> fail_reads_{false};
  mutable std::atomic<int64_t> reads_{0};
};

}  // namespace grid::kv::watch::testing
