#include "kv/server/reconfig_check.h"

#include "kv/server/members.h"

namespace grid::kv {
namespace {

bool Started(const kvpb::MemberRecord& m) { return !m.name().empty(); }

bool ConnectedSince(const ReconfigView& view, uint64_t id) {
  if (id == view.self) return true;
  const auto since = view.active_since(id);
  return since.has_value() &&
         *since <= view.now - std::chrono::milliseconds(kHealthIntervalMs);
}

const kvpb::MemberRecord* Find(const ReconfigView& view, uint64_t id) {
  for (const auto& m : view.members) {
    if (m.id() == id) return &m;
  }
  return nullptr;
}

}  // namespace

Status CheckReconfig(const ReconfigView& view, const kvpb::MemberChange& change) {
  size_t voters = 0, started = 0, connected = 0;
  for (const auto& m : view.members) {
    if (m.is_learner()) continue;
    ++voters;
    if (Started(m)) ++started;
    if (ConnectedSince(view, m.id())) ++connected;
  }
  const uint64_t id = change.member().id();
  switch (change.kind()) {
    case kvpb::MemberChange::ADD: {
      const size_t after = voters + 1;
      if (!change.member().is_learner() && !(started == 1 && after == 2) &&
          started < after / 2 + 1) {
        return ErrNotEnoughStartedMembers();
      }
      if (connected != voters) return ErrUnhealthyCluster();
      return Status::Ok();
    }
    case kvpb::MemberChange::REMOVE: {
      const kvpb::MemberRecord* m = Find(view, id);
      if (m == nullptr || m->is_learner()) return Status::Ok();
      const size_t left = voters - 1;
      const size_t started_left = started - (Started(*m) ? 1 : 0);
      if (started_left < left / 2 + 1) return ErrNotEnoughStartedMembers();
      if (id != view.self && !view.active_since(id).has_value()) return Status::Ok();
      if (connected == 0 || connected - 1 < 1 + (voters - 1) / 2) return ErrUnhealthyCluster();
      return Status::Ok();
    }
    case kvpb::MemberChange::PROMOTE: {
      const size_t after = voters + 1;
      if (started + 1 < after / 2 + 1) return ErrNotEnoughStartedMembers();
      return Status::Ok();
    }
    default:
      return Status::Ok();
  }
}

}  // namespace grid::kv
