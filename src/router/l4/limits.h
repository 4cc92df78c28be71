// Named limits of the L4 (TCP) listener mode. Configuration values are checked against these
// when a file is loaded; each has a test at the limit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace grid::router::l4 {

// Listeners in one configuration.
inline constexpr size_t kMaxListeners = 64;
// Backends of one listener (the balancers allow more; this keeps a pick O(small)).
inline constexpr size_t kMaxBackendsPerListener = 256;
// A backend's weight: 0 (no new connections: draining) .. 100.
inline constexpr uint32_t kMaxWeight = 100;

// Client connections one listener holds at once (all threads together); more are closed at
// accept. Default and ceiling of `max_connections`.
inline constexpr uint32_t kDefaultMaxConnections = 10000;
inline constexpr uint32_t kMaxConnectionsPerListener = 1000000;

// Backends tried for one client connection (the first attempt included) before the client is
// closed. Default and ceiling of `connect_attempts`.
inline constexpr uint32_t kDefaultConnectAttempts = 3;
inline constexpr uint32_t kMaxConnectAttempts = 16;

// Bytes buffered per direction of one connection: the relay reads at most this much from one
// side and reads no more until the other side has taken all of it, so one connection holds at
// most 2 × 2 × buffer_bytes (read buffer and unsent output, both directions).
inline constexpr uint32_t kDefaultBufferBytes = 64 * 1024;
inline constexpr uint32_t kMinBufferBytes = 1024;
inline constexpr uint32_t kMaxBufferBytes = 1024 * 1024;

// Timeouts (milliseconds).
inline constexpr uint32_t kDefaultConnectTimeoutMs = 1000;
inline constexpr uint32_t kMaxConnectTimeoutMs = 60000;
inline constexpr uint32_t kDefaultIdleTimeoutMs = 300000;
inline constexpr uint32_t kMaxIdleTimeoutMs = 86400000;

// Health checks.
inline constexpr uint32_t kMinHealthIntervalMs = 10;
inline constexpr uint32_t kMaxHealthIntervalMs = 3600000;
inline constexpr uint32_t kMaxHealthThreshold = 100;

// Event loops (threads) serving the listeners.
inline constexpr int kMaxThreads = 64;

}  // namespace grid::router::l4
