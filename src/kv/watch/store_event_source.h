// EventSource over the MVCC store. Header-only: it uses only the abstract mvcc::Store
// interface, so the watch library does not link the store.
#pragma once

#include <cstddef>

#include "kv/watch/event_source.h"
#include "storage/mvcc/store.h"

namespace grid::kv::watch {

// Thread-safety: as mvcc::Store's const methods (any thread). `store` must outlive this.
class StoreEventSource final : public EventSource {
 public:
  // `page_events` must equal the store's Options::max_events_per_read: a page that long may end
  // inside a revision, so its last revision is dropped (the next page reads it again).
  // REQUIRES: the store returns a revision with more than `page_events` events whole (else a
  // watcher would see part of that revision).
  StoreEventSource(const mvcc::Store* store, size_t page_events)
      : store_(store), page_events_(page_events) {}

  Result<std::vector<mvccpb::Event>> EventsInRange(std::string_view key, std::string_view end,
                                                   int64_t from_revision, int64_t to_revision,
                                                   bool with_prev_kv) const override {
    Result<std::vector<mvccpb::Event>> page =
        store_->EventsInRange(key, end, from_revision, to_revision, with_prev_kv);
    if (!page.ok()) return page;
    std::vector<mvccpb::Event>& events = *page;
    if (events.size() >= page_events_ && !events.empty()) {
      const int64_t last = events.back().kv().mod_revision();
      if (events.front().kv().mod_revision() != last) {
        while (events.back().kv().mod_revision() == last) events.pop_back();
      }
    }
    return page;
  }
  int64_t CurrentRevision() const override { return store_->CurrentRevision(); }
  int64_t CompactedRevision() const override { return store_->CompactedRevision(); }

 private:
  const mvcc::Store* store_;
  size_t page_events_;
};

}  // namespace grid::kv::watch
