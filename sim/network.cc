#include "sim/network.h"

namespace grid::sim {

Network::Network(const NetworkConfig& config, Rng rng) : rng_(rng) { set_config(config); }

void Network::set_config(const NetworkConfig& config) {
  GRID_CHECK(config.min_delay_ticks >= 1 && config.min_delay_ticks <= config.max_delay_ticks)
      << "bad delay range [" << config.min_delay_ticks << ", " << config.max_delay_ticks << "]";
  config_ = config;
}

void Network::Partition(const std::vector<std::vector<MemberId>>& groups) {
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t h = 0; h < groups.size(); ++h) {
      if (g == h) continue;
      for (MemberId a : groups[g]) {
        for (MemberId b : groups[h]) Cut(a, b);
      }
    }
  }
}

int64_t Network::Delay() {
  int64_t d = rng_.Range(config_.min_delay_ticks, config_.max_delay_ticks);
  if (config_.long_delay_ppm > 0 && rng_.Chance(config_.long_delay_ppm)) {
    d += config_.long_delay_ticks;
  }
  return d;
}

bool Network::Enqueue(raft::Message m, uint64_t now, bool lost) {
  // A failure notice is never refused: the sender waits for it.
  if (!lost && queue_.size() >= config_.max_in_flight_msgs) {
    ++stats_.overflowed;
    return false;
  }
  Envelope e;
  e.msg = std::move(m);
  e.deliver_tick = now + static_cast<uint64_t>(Delay());
  e.seq = next_seq_++;
  e.lost = lost;
  queue_.push(std::move(e));
  return true;
}

int Network::Send(raft::Message m, uint64_t now) {
  ++stats_.sent;
  const bool snap = m.type == raft::MessageType::kSnap;
  bool dropped = false;
  if (!Linked(m.from, m.to)) {
    ++stats_.cut;
    dropped = true;
  } else if (config_.drop_ppm > 0 && rng_.Chance(config_.drop_ppm)) {
    ++stats_.dropped;
    dropped = true;
  }
  if (dropped) {
    // The sender of a snapshot learns of the failure (as a stream error) at delivery time.
    if (snap) Enqueue(std::move(m), now, /*lost=*/true);
    return 0;
  }
  int copies = 0;
  if (config_.duplicate_ppm > 0 && rng_.Chance(config_.duplicate_ppm)) {
    ++stats_.duplicated;
    copies += Enqueue(m, now, false) ? 1 : 0;
  }
  if (Enqueue(m, now, false)) {
    ++copies;
  } else if (snap && copies == 0) {
    Enqueue(std::move(m), now, /*lost=*/true);
  }
  return copies;
}

std::optional<Envelope> Network::PopDue(uint64_t now) {
  if (queue_.empty() || queue_.top().deliver_tick > now) return std::nullopt;
  Envelope e = queue_.top();
  queue_.pop();
  ++stats_.popped;
  return e;
}

}  // namespace grid::sim
