// ReadIndex (§6.4) bookkeeping on the leader: requests waiting for the leader's first commit
// in its term, and requests waiting for a heartbeat round to confirm leadership.
//
// Rounds: every registered request gets a new round number (monotonic for the life of the
// member). Heartbeats carry the newest round in `context`; a follower echoes it. A request of
// round r is confirmed once a majority of voters (the leader included) echoed a round >= r:
// those heartbeats were sent after the request was registered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "raft/types.h"

namespace grid::raft {

// The 8-byte little-endian `context` of heartbeats (a read round) and of kTransferLeader
// (the transferee).
std::string EncodeU64Context(uint64_t v);
// nullopt when `context` is not such an encoding.
std::optional<uint64_t> DecodeU64Context(const std::string& context);

struct ReadRequest {
  MemberId from;  // kNoMember (or the leader itself) for a local request
  std::string ctx;
  Index index;     // the commit index when the request was registered
  uint64_t round = 0;
};

class ReadIndexQueue {
 public:
  // At most `max_requests` waiting and pending requests in total
  // (Config::max_pending_read_index_requests); more are dropped.
  explicit ReadIndexQueue(size_t max_requests) : max_requests_(max_requests) {}

  size_t size() const { return waiting_.size() + pending_.size(); }
  bool Full() const { return size() >= max_requests_; }

  // A request that must wait for the leader's first commit in its term. False when full.
  bool AddWaiting(MemberId from, std::string ctx);
  std::vector<ReadRequest> TakeWaiting();

  // Registers a request at `index` under a new round; returns the round. REQUIRES: !Full()
  // unless the request was taken from the waiting list.
  uint64_t AddPending(MemberId from, std::string ctx, Index index);
  // The newest round with an unconfirmed request; 0 when none.
  uint64_t PendingRound() const;
  void RecordAck(MemberId from, uint64_t round);
  const std::map<MemberId, uint64_t>& acks() const { return acks_; }
  // Removes and returns the requests of rounds <= `confirmed_round`, oldest first.
  std::vector<ReadRequest> Release(uint64_t confirmed_round);

  // Drops every request (leadership changed). Round numbers keep increasing.
  void Clear();

 private:
  size_t max_requests_;
  uint64_t last_round_ = 0;
  std::vector<ReadRequest> waiting_;
  std::deque<ReadRequest> pending_;
  std::map<MemberId, uint64_t> acks_;
};

}  // namespace grid::raft
