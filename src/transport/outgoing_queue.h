// The bounded FIFO of messages waiting to be sent to one peer. Not thread-safe (the owner
// guards it).
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "raft/types.h"

namespace grid::transport {

class OutgoingQueue {
 public:
  OutgoingQueue(size_t max_msgs, uint64_t max_bytes) : max_msgs_(max_msgs), max_bytes_(max_bytes) {}

  // Appends `m` unless that would exceed either limit; false means `m` was not queued.
  bool Push(raft::Message m);
  // Removes and returns the oldest messages whose total cost stays within max_batch_bytes;
  // at least one message when the queue is not empty.
  std::vector<raft::Message> PopBatch(uint64_t max_batch_bytes);
  // Drops everything; returns the number of messages dropped.
  size_t Clear();

  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Item {
    raft::Message message;
    uint64_t bytes;
  };
  const size_t max_msgs_;
  const uint64_t max_bytes_;
  std::deque<Item> items_;
  uint64_t bytes_ = 0;
};

}  // namespace grid::transport
