// One loop's upstream side: a slot per backend address (where it resolved to, its idle
// keep-alive connections, its active count, its passive ejection) and the connections
// themselves. Addresses come from the published AddressBook; the pool never resolves.
//
// An UpstreamConn belongs either to a client session (which drives it through
// UpstreamUser) or to its backend's idle list; an idle connection that becomes readable (the
// backend closed it or sent stray bytes) or outlives the idle timeout is closed and dropped.
// Not thread-safe: the loop's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "router/net/address_book.h"
#include "router/net/event_loop.h"
#include "router/net/io_buffer.h"
#include "router/net/socket.h"
#include "router/net/stream.h"
#include "router/net/timer_wheel.h"
#include "router/protect/concurrency_limit.h"
#include "router/table/route_table.h"

namespace grid::router::proxy {

class UpstreamConn;
class UpstreamPool;

struct BackendSlot {
  std::string address;  // "host:port" as in the table
  Status resolve_status;
  net::SocketAddress resolved;
  uint64_t book_generation = 0;     // the AddressBook `resolved` was last checked against
  std::vector<UpstreamConn*> idle;  // most recently used last
  uint32_t active = 0;              // connections lent to sessions
  uint64_t ejected_until_ms = 0;    // this loop skips it after a connect failure (UsesLoopConnectSkip)
};

// A connection slot of the cell's concurrency caps, with the counters it points into kept
// alive (an idle connection may outlive the table its slot was taken under).
struct ConnectionSlot {
  std::shared_ptr<protect::LimitCounters> cell;
  std::shared_ptr<protect::LimitCounters> backend;
  protect::Slot slot;  // declared last: released before the counters go
};

// What a session implements to drive a connection it holds.
class UpstreamUser {
 public:
  virtual ~UpstreamUser() = default;
  virtual void OnUpstreamConnected(UpstreamConn* conn, int error) = 0;
  virtual void OnUpstreamReadable(UpstreamConn* conn) = 0;
  virtual void OnUpstreamDrained(UpstreamConn* conn) = 0;
};

class UpstreamConn : public net::StreamOwner, public net::Deferred {
 public:
  UpstreamConn(UpstreamPool* pool, BackendSlot* slot, int fd, bool connecting);
  ~UpstreamConn() override;

  net::Stream& stream() { return stream_; }
  net::IoBuffer& in() { return in_; }
  BackendSlot* slot() const { return slot_; }
  // Requests this connection carried before the current one.
  uint32_t reuse_count() const { return reuse_count_; }
  void set_user(UpstreamUser* user) { user_ = user; }
  // Held for the connection's whole life (connecting, lent, idle).
  void set_limit_slot(ConnectionSlot slot) { limit_slot_ = std::move(slot); }

  void OnStreamReadable(net::Stream* stream) override;
  void OnStreamDrained(net::Stream* stream) override;
  void OnStreamConnected(net::Stream* stream, int error) override;

 private:
  friend class UpstreamPool;
  UpstreamPool* pool_;
  BackendSlot* slot_;
  net::Stream stream_;
  net::IoBuffer in_;
  UpstreamUser* user_ = nullptr;  // nullptr: idle in the pool
  uint32_t reuse_count_ = 0;
  net::Timer idle_timer_;
  ConnectionSlot limit_slot_;
};

class UpstreamPool {
 public:
  UpstreamPool(net::EventLoop* loop, size_t max_idle_per_backend);
  ~UpstreamPool();

  // The slot for `address`, created on first use. Its address is what `book` holds for it
  // (checked again whenever the book is a newer one: idle connections to an address the name
  // no longer resolves to are closed). Without a book, or for a text the book does not hold,
  // a numeric address is parsed and a DNS name is an error: the loop never resolves.
  BackendSlot* Slot(std::string_view address, const net::AddressBook* book);

  // An idle connection to `slot`, lent to `user`; nullptr when none.
  UpstreamConn* TakeIdle(BackendSlot* slot, UpstreamUser* user);
  // A new connection being established to `slot`, lent to `user`; the error when the
  // connect could not even start.
  Result<UpstreamConn*> Connect(BackendSlot* slot, UpstreamUser* user);
  // Takes back a connection whose exchange ended cleanly: kept idle for `idle_timeout_ms`
  // when the backend's idle list has room, else closed.
  void Release(UpstreamConn* conn, uint64_t idle_timeout_ms);
  // Closes a connection lent to a session.
  void Discard(UpstreamConn* conn);
  // Closes every idle connection (drain).
  void CloseIdle();
  // Closes the idle connections of one slot.
  void CloseIdle(BackendSlot* slot);

  size_t idle_count() const;

 private:
  friend class UpstreamConn;
  void DropIdle(UpstreamConn* conn);

  net::EventLoop* loop_;
  const size_t max_idle_per_backend_;
  std::unordered_map<std::string, std::unique_ptr<BackendSlot>, table::StringHash,
                     std::equal_to<>>
      slots_;
  // Every connection the pool created and has not destroyed (owned here; sessions borrow).
  std::unordered_map<UpstreamConn*, std::unique_ptr<UpstreamConn>> conns_;
};

}  // namespace grid::router::proxy
