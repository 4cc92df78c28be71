// etcd's --initial-cluster: "name=peerURL,name=peerURL,..." (a name may repeat with more URLs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "kv/server/config.h"

namespace grid::kv {

struct InitialMember {
  std::string name;
  std::vector<std::string> peer_urls;  // sorted
  uint64_t id = 0;                     // DeriveMemberId(peer_urls, token)
};

struct InitialCluster {
  std::vector<InitialMember> members;  // ordered by id
  uint64_t cluster_id = 0;             // DeriveClusterId of the member ids
  uint64_t self_id = 0;
};

// Members named by an --initial-cluster list (at most MemberTable::kMaxMembers).
// InvalidArgument, with etcd's wording, for a malformed list, a URL given to two members,
// duplicate ids, or when `config.name` is missing or its URLs differ from
// --initial-advertise-peer-urls. An empty list means "<name>=<advertised peer URLs>".
Result<InitialCluster> ParseInitialCluster(const ServerConfig& config);

}  // namespace grid::kv
