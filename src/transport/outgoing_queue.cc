#include "transport/outgoing_queue.h"

#include "transport/codec.h"

namespace grid::transport {

bool OutgoingQueue::Push(raft::Message m) {
  uint64_t cost = ApproxMessageBytes(m);
  if (items_.size() >= max_msgs_ || cost > max_bytes_ - bytes_) return false;
  bytes_ += cost;
  items_.push_back(Item{std::move(m), cost});
  return true;
}

std::vector<raft::Message> OutgoingQueue::PopBatch(uint64_t max_batch_bytes) {
  std::vector<raft::Message> out;
  uint64_t total = 0;
  while (!items_.empty()) {
    Item& front = items_.front();
    if (!out.empty() && front.bytes > max_batch_bytes - total) break;
    total += front.bytes;
    bytes_ -= front.bytes;
    out.push_back(std::move(front.message));
    items_.pop_front();
    if (total >= max_batch_bytes) break;
  }
  return out;
}

size_t OutgoingQueue::Clear() {
  size_t n = items_.size();
  items_.clear();
  bytes_ = 0;
  return n;
}

}  // namespace grid::transport
