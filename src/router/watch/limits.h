// Named limits of the table watcher. Each is the default of a TableWatcherOptions field (or
// of a function argument) so tests can reach it with small values; each has a test at the
// limit (see README.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "router/table/limits.h"

namespace grid::router::watch {

// Range read of the prefix: keys asked per page. A page is also capped by the client's
// max_receive_message_bytes divided by kMaxEntryBytes, and halved when the server's answer
// is still too large (values over the table's limit).
inline constexpr size_t kDefaultPageKeys = 1000;
// Bytes one key-value may take in a range response: key + value limits + protobuf framing.
inline constexpr size_t kEntryOverheadBytes = 64;
inline constexpr size_t kMaxEntryBytes =
    table::kMaxKeyBytes + table::kMaxValueBytes + kEntryOverheadBytes;
// Keys a snapshot may hold: every tenant, every cell and the router key. Beyond it the read
// is refused (the table would be refused anyway) instead of filling memory.
inline constexpr size_t kMaxSnapshotKeys = table::kMaxTenants + table::kMaxCells + 1;
// A paged read whose pinned revision is compacted between pages starts over at most this
// many times before reporting the error.
inline constexpr int kMaxSnapshotRestarts = 3;

// Watch responses waiting for the watcher thread; beyond it the stream's reader blocks
// (back-pressure on the stream).
inline constexpr size_t kMaxQueuedUpdates = 1024;

// Store retries (range reads, re-creating an ended watch) and the watch stream's own
// reconnects: exponential from the minimum, doubling, capped at the maximum.
inline constexpr std::chrono::milliseconds kMinRetryBackoff{50};
inline constexpr std::chrono::milliseconds kMaxRetryBackoff{2000};
// How long a watch creation may wait for the server's confirmation.
inline constexpr std::chrono::milliseconds kWatchCreateTimeout{2000};
// How often the watcher thread looks at the channel's connectivity while it waits.
inline constexpr std::chrono::milliseconds kConnectivityPollInterval{100};

// The bootstrap cache file: larger files are neither written nor read.
inline constexpr size_t kMaxCacheFileBytes = 256 * 1024 * 1024;

}  // namespace grid::router::watch
