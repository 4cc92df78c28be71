// Reads every key under the table's prefix at one store revision, in pages, so a prefix of
// any size (10,000+ tenants) is read without a response larger than the client accepts.
//
// The first page fixes the revision; every later page asks for that revision, so the
// result is one consistent cut of the store even while writers keep going. A page is at most
// `max_page_keys` keys and at most what fits the client's max_receive_message_bytes when every
// value is within the table's limits (kMaxEntryBytes each); if the server still answers
// ResourceExhausted (values over those limits), the page is halved down to one key. A
// revision compacted between pages restarts the read (at most kMaxSnapshotRestarts times).
//
// Thread-safety: a free function; safe from any thread (the Client is thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "client/client.h"
#include "common/status.h"
#include "router/table/table_builder.h"
#include "router/watch/limits.h"

namespace grid::router::watch {

struct SnapshotOptions {
  size_t max_page_keys = kDefaultPageKeys;      // >= 1
  size_t max_snapshot_keys = kMaxSnapshotKeys;  // more keys: ResourceExhausted
  // Tests: runs after each page that returned data, with the pages read so far in this
  // attempt (1 after the first page), before the next page is asked for.
  std::function<void(size_t pages)> after_page;
};

struct Snapshot {
  table::TableSource source;  // every key under "<prefix>/"
  int64_t revision = 0;       // the store revision all pages were read at
  size_t pages = 0;           // range requests that returned data (for tests and logs)
};

// The range read covers "<prefix>/" .. PrefixRangeEnd("<prefix>/"): a sibling such as
// "<prefix>2/x" is not part of the table.
Result<Snapshot> ReadSnapshot(client::Client& client, const std::string& prefix,
                              const SnapshotOptions& options = {}, const client::Context& ctx = {});

// The first page size ReadSnapshot asks for with a client accepting `max_receive_bytes`.
size_t FirstPageKeys(size_t max_page_keys, int max_receive_bytes);

}  // namespace grid::router::watch
