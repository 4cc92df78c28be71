#include "transport/metadata.h"

#include <charconv>

namespace grid::transport {
namespace {

Result<uint64_t> ReadHex(const grpc::ServerContextBase& ctx, const char* key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(key);
  if (it == md.end()) return InvalidArgument(std::string("peer call without metadata ") + key);
  std::string_view v(it->second.data(), it->second.size());
  uint64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out, 16);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return InvalidArgument(std::string("peer call metadata ") + key + " is not an id: '" +
                           std::string(v) + "'");
  }
  return out;
}

}  // namespace

std::string IdHex(uint64_t id) {
  char buf[17];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), id, 16);
  return std::string(buf, end);
}

void AddCallHeader(const CallHeader& h, grpc::ClientContext* ctx) {
  ctx->AddMetadata(kClusterIdKey, IdHex(h.cluster_id));
  ctx->AddMetadata(kFromMemberKey, IdHex(h.from));
  ctx->AddMetadata(kToMemberKey, IdHex(h.to));
}

Result<CallHeader> ReadCallHeader(const grpc::ServerContextBase& ctx) {
  CallHeader h;
  GRID_ASSIGN_OR_RETURN(h.cluster_id, ReadHex(ctx, kClusterIdKey));
  GRID_ASSIGN_OR_RETURN(uint64_t from, ReadHex(ctx, kFromMemberKey));
  GRID_ASSIGN_OR_RETURN(uint64_t to, ReadHex(ctx, kToMemberKey));
  h.from = raft::MemberId(from);
  h.to = raft::MemberId(to);
  return h;
}

Status CheckCallHeader(const CallHeader& h, uint64_t local_cluster_id, raft::MemberId self,
                       bool sender_removed) {
  if (h.cluster_id != local_cluster_id) {
    return FailedPrecondition("cluster ID mismatch: member " + IdHex(h.from) + " of cluster " +
                              IdHex(h.cluster_id) + " called member " + IdHex(self) +
                              " of cluster " + IdHex(local_cluster_id));
  }
  if (h.to != self) {
    return FailedPrecondition("member " + IdHex(self) + " is not " + IdHex(h.to) +
                              " (call from member " + IdHex(h.from) + ")");
  }
  if (sender_removed) {
    return FailedPrecondition("member " + IdHex(h.from) + " was removed from the cluster");
  }
  return Status::Ok();
}

}  // namespace grid::transport
