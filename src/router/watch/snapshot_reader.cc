#include "router/watch/snapshot_reader.h"

#include <algorithm>

namespace grid::router::watch {
namespace {

// One attempt at a consistent read. OutOfRange when the pinned revision was compacted.
Result<Snapshot> ReadOnce(client::Client& client, const std::string& prefix,
                          const SnapshotOptions& options, const client::Context& ctx) {
  const std::string first_key = prefix + "/";
  client::GetOptions get;
  get.range_end = client::PrefixRangeEnd(first_key);
  get.limit = static_cast<int64_t>(
      FirstPageKeys(options.max_page_keys, client.options().max_receive_message_bytes));

  Snapshot snap;
  snap.source.prefix = prefix;
  std::string key = first_key;
  while (true) {
    Result<etcdserverpb::RangeResponse> page = client.Get(key, get, ctx);
    if (!page.ok()) {
      if (page.status().code() == Code::kResourceExhausted && get.limit > 1) {
        get.limit /= 2;  // the answer did not fit: same start key, smaller page
        continue;
      }
      return page.status();
    }
    if (get.revision == 0) get.revision = page->header().revision();
    ++snap.pages;
    if (snap.source.kvs.size() + static_cast<size_t>(page->kvs_size()) >
        options.max_snapshot_keys) {
      return ResourceExhausted("more than " + std::to_string(options.max_snapshot_keys) +
                               " keys under " + first_key);
    }
    for (auto& kv : *page->mutable_kvs()) {
      snap.source.kvs.insert_or_assign(std::move(*kv.mutable_key()),
                                       std::move(*kv.mutable_value()));
    }
    if (!page->more() || page->kvs_size() == 0) break;
    if (options.after_page) options.after_page(snap.pages);
    key = std::prev(snap.source.kvs.end())->first;
    key.push_back('\0');  // the smallest key after the last one read
  }
  snap.revision = get.revision;
  return snap;
}

}  // namespace

size_t FirstPageKeys(size_t max_page_keys, int max_receive_bytes) {
  GRID_CHECK(max_page_keys >= 1) << "a page holds at least one key";
  const size_t fit =
      max_receive_bytes > 0 ? static_cast<size_t>(max_receive_bytes) / kMaxEntryBytes : 0;
  return std::clamp<size_t>(fit, 1, max_page_keys);
}

Result<Snapshot> ReadSnapshot(client::Client& client, const std::string& prefix,
                              const SnapshotOptions& options, const client::Context& ctx) {
  for (int attempt = 0;; ++attempt) {
    Result<Snapshot> snap = ReadOnce(client, prefix, options, ctx);
    if (snap.ok() || snap.status().code() != Code::kOutOfRange || attempt >= kMaxSnapshotRestarts) {
      return snap;
    }
  }
}

}  // namespace grid::router::watch
