// The identity every peer call carries in its gRPC metadata, and the receiver's check of it.
#pragma once

#include <cstdint>
#include <string>

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include "common/status.h"
#include "raft/types.h"

namespace grid::transport {

inline constexpr char kClusterIdKey[] = "grid-cluster-id";
inline constexpr char kFromMemberKey[] = "grid-from-member";
inline constexpr char kToMemberKey[] = "grid-to-member";

struct CallHeader {
  uint64_t cluster_id = 0;
  raft::MemberId from;
  raft::MemberId to;
};

// Ids print in hexadecimal, as member lists show them.
std::string IdHex(uint64_t id);
inline std::string IdHex(raft::MemberId id) { return IdHex(id.value()); }

void AddCallHeader(const CallHeader& h, grpc::ClientContext* ctx);
// InvalidArgument when a key is missing or not a hexadecimal id.
Result<CallHeader> ReadCallHeader(const grpc::ServerContextBase& ctx);

// FailedPrecondition "cluster ID mismatch ..." / "member <self> is not <to> ..." /
// "member <from> was removed from the cluster".
Status CheckCallHeader(const CallHeader& h, uint64_t local_cluster_id, raft::MemberId self,
                       bool sender_removed);

}  // namespace grid::transport
