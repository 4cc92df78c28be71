// Where the watch hub reads history from when a watcher is behind (historical start revision,
// or it fell behind because its consumer was slow).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "etcd/kv.pb.h"

namespace grid::kv::watch {

// Thread-safety: all methods are called from the hub's catch-up thread, concurrently with the
// apply thread committing new revisions; implementations must allow that.
class EventSource {
 public:
  virtual ~EventSource() = default;

  // Events with revision in [from_revision, to_revision] on keys in [key, end) (end empty: the
  // single key; end "\0": every key >= key), in revision order, prev_kv filled when
  // `with_prev_kv`. A result is one page: it may stop before to_revision, but only at a
  // revision boundary (it never holds part of a revision's events). An empty result means
  // there are no events in the whole interval.
  // Errors: OutOfRange when from_revision < CompactedRevision() (the compaction revision itself
  // stays readable, as in etcd); other errors are retried later.
  virtual Result<std::vector<mvccpb::Event>> EventsInRange(std::string_view key,
                                                           std::string_view end,
                                                           int64_t from_revision,
                                                           int64_t to_revision,
                                                           bool with_prev_kv) const = 0;
  virtual int64_t CurrentRevision() const = 0;
  virtual int64_t CompactedRevision() const = 0;
};

}  // namespace grid::kv::watch
