// Identity of this member and the response header every etcd response carries.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "etcd/rpc.pb.h"

namespace grid::kv {

struct MemberIdentity {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  std::string name;
  std::atomic<uint64_t> raft_term{1};

  // Fills cluster_id, member_id, raft_term and `revision` (the store revision the response
  // reflects).
  void FillHeader(etcdserverpb::ResponseHeader* header, int64_t revision) const {
    header->set_cluster_id(cluster_id);
    header->set_member_id(member_id);
    header->set_revision(revision);
    header->set_raft_term(raft_term.load(std::memory_order_relaxed));
  }
};

}  // namespace grid::kv
