#include "transport/peer_service.h"

#include <spdlog/spdlog.h>

#include "common/grpc_status.h"
#include "transport/codec.h"
#include "transport/metadata.h"
#include "transport/snapshot_file.h"

namespace grid::transport {
namespace {

// Distinct refusals remembered for log suppression; beyond it refusals log at debug level.
constexpr size_t kMaxRememberedRefusals = 256;

}  // namespace

PeerService::PeerService(const TransportOptions* options, const TransportCallbacks* callbacks,
                         std::function<bool(raft::MemberId)> is_removed)
    : options_(options), callbacks_(callbacks), is_removed_(std::move(is_removed)) {}

Result<raft::MemberId> PeerService::Admit(const grpc::ServerContextBase& ctx) const {
  GRID_ASSIGN_OR_RETURN(CallHeader h, ReadCallHeader(ctx));
  GRID_RETURN_IF_ERROR(AdmitStream(h));
  return h.from;
}

Status PeerService::AdmitStream(const CallHeader& h) const {
  Status s = CheckCallHeader(h, options_->cluster_id, options_->member_id, is_removed_(h.from));
  if (!s.ok()) LogRefusal(s.message());
  return s;
}

Status PeerService::DeliverBatch(raft::MemberId from, const peerpb::MessageBatch& batch) const {
  if (is_removed_(from)) {
    return FailedPrecondition("member " + IdHex(from) + " was removed from the cluster");
  }
  std::vector<raft::Message> msgs(static_cast<size_t>(batch.messages_size()));
  for (int i = 0; i < batch.messages_size(); ++i) {
    raft::Message& m = msgs[static_cast<size_t>(i)];
    Status s = DecodeFrom(batch.messages(i), from, &m);
    if (!s.ok()) {
      spdlog::warn("peer {} sent a bad message: {}", IdHex(from), s.message());
      return s;
    }
    if (m.type == raft::MessageType::kSnap) {
      return InvalidArgument("kSnap must travel through SendSnapshot");
    }
  }
  if (!msgs.empty() && callbacks_->on_messages) callbacks_->on_messages(std::move(msgs));
  return Status::Ok();
}

void PeerService::LogRefusal(const std::string& text) const {
  bool first;
  {
    std::lock_guard l(log_mu_);
    first = logged_refusals_.size() < kMaxRememberedRefusals && logged_refusals_.insert(text).second;
  }
  if (first) {
    spdlog::warn("refused peer call: {} (repeats are not logged)", text);
  } else {
    spdlog::debug("refused peer call: {}", text);
  }
}

Status PeerService::DecodeFrom(const peerpb::Message& in, raft::MemberId from,
                               raft::Message* out) const {
  GRID_RETURN_IF_ERROR(DecodeMessage(in, out));
  if (!IsPeerMessageType(out->type)) {
    return InvalidArgument(std::string("message type ") + MessageTypeLabel(out->type) +
                           " does not travel between members");
  }
  if (out->from != from || out->to != options_->member_id) {
    return InvalidArgument("message from " + IdHex(out->from) + " to " + IdHex(out->to) +
                           " on a call from " + IdHex(from) + " to " + IdHex(options_->member_id));
  }
  return Status::Ok();
}

// One inbound Stream call: answers StreamAccepted, then reads batches one at a time (so they
// reach on_messages in send order) until the sender ends the call or sends something invalid.
// Deletes itself in OnDone.
class PeerService::StreamReactor final
    : public grpc::ServerBidiReactor<peerpb::MessageBatch, peerpb::StreamAccepted> {
 public:
  StreamReactor(const PeerService* service, raft::MemberId from) : service_(service), from_(from) {
    StartWrite(&accepted_);
    StartRead(&batch_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);  // the sender ended the call, or it broke
      return;
    }
    Status s = Deliver();
    if (!s.ok()) {
      Finish(ToGrpc(s));
      return;
    }
    StartRead(&batch_);
  }

  void OnDone() override { delete this; }

 private:
  Status Deliver() {
    Status s = service_->DeliverBatch(from_, batch_);
    batch_.Clear();
    return s;
  }

  const PeerService* const service_;
  const raft::MemberId from_;
  const peerpb::StreamAccepted accepted_;
  peerpb::MessageBatch batch_;
};

grpc::ServerBidiReactor<peerpb::MessageBatch, peerpb::StreamAccepted>* PeerService::Stream(
    grpc::CallbackServerContext* ctx) {
  Result<raft::MemberId> from = Admit(*ctx);
  if (!from.ok()) {
    // A reactor that only finishes: refusals carry their status to the sender.
    class Refuse final
        : public grpc::ServerBidiReactor<peerpb::MessageBatch, peerpb::StreamAccepted> {
     public:
      explicit Refuse(const Status& s) { Finish(ToGrpc(s)); }
      void OnDone() override { delete this; }
    };
    return new Refuse(from.status());
  }
  return new StreamReactor(this, *from);
}

grpc::Status PeerService::ClusterInfo(grpc::ServerContext*, const peerpb::ClusterInfoRequest*,
                                      peerpb::ClusterInfoResponse* response) {
  if (!callbacks_->cluster_info) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "member is not serving cluster info yet");
  }
  const transport::ClusterInfo info = callbacks_->cluster_info();
  response->set_cluster_id(info.cluster_id);
  for (const ClusterMemberInfo& m : info.members) {
    peerpb::ClusterMember* out = response->add_members();
    out->set_id(m.id);
    for (const auto& u : m.peer_urls) out->add_peer_urls(u);
    out->set_is_learner(m.is_learner);
    out->set_name(m.name);
  }
  return grpc::Status::OK;
}

grpc::Status PeerService::LeaseRenew(grpc::ServerContext* ctx,
                                     const peerpb::LeaseRenewRequest* request,
                                     peerpb::LeaseRenewResponse* response) {
  Result<raft::MemberId> from = Admit(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  if (!callbacks_->on_lease_renew) return ToGrpc(Unavailable("member is not serving leases"));
  Result<int64_t> ttl = callbacks_->on_lease_renew(*from, request->id());
  if (!ttl.ok()) return ToGrpc(ttl.status());
  response->set_ttl(*ttl);
  return grpc::Status::OK;
}

grpc::Status PeerService::LeaseTimeToLive(grpc::ServerContext* ctx,
                                          const peerpb::LeaseTimeToLiveRequest* request,
                                          peerpb::LeaseTimeToLiveResponse* response) {
  Result<raft::MemberId> from = Admit(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  if (!callbacks_->on_lease_time_to_live) {
    return ToGrpc(Unavailable("member is not serving leases"));
  }
  Result<LeaseTtl> ttl = callbacks_->on_lease_time_to_live(*from, request->id(), request->keys());
  if (!ttl.ok()) return ToGrpc(ttl.status());
  response->set_ttl(ttl->remaining_ttl_seconds);
  response->set_granted_ttl(ttl->granted_ttl_seconds);
  response->mutable_keys()->Reserve(static_cast<int>(ttl->keys.size()));
  for (std::string& k : ttl->keys) response->add_keys(std::move(k));
  const size_t bytes = response->ByteSizeLong();
  if (bytes > options_->max_lease_response_bytes) {
    response->Clear();
    return ToGrpc(ResourceExhausted("lease time-to-live response of " + std::to_string(bytes) +
                                    " bytes exceeds max_lease_response_bytes " +
                                    std::to_string(options_->max_lease_response_bytes)));
  }
  return grpc::Status::OK;
}

grpc::Status PeerService::PromoteCheck(grpc::ServerContext* ctx,
                                       const peerpb::PromoteCheckRequest* request,
                                       peerpb::PromoteCheckResponse*) {
  Result<raft::MemberId> from = Admit(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  if (!callbacks_->on_promote_check) return ToGrpc(Unavailable("member is not serving promotes"));
  return ToGrpc(callbacks_->on_promote_check(*from, request->member_id()));
}

grpc::Status PeerService::SendSnapshot(grpc::ServerContext* ctx,
                                       grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                                       peerpb::SnapshotReceived* response) {
  Result<raft::MemberId> from = Admit(*ctx);
  if (!from.ok()) return ToGrpc(from.status());
  Status s = ReceiveSnapshot(reader, *from);
  if (!s.ok()) spdlog::warn("snapshot from peer {} rejected: {}", IdHex(*from), s.ToString());
  return ToGrpc(s);
}

Status PeerService::ReceiveSnapshot(grpc::ServerReader<peerpb::SnapshotChunk>* reader,
                                    raft::MemberId from) {
  peerpb::SnapshotChunk chunk;
  if (!reader->Read(&chunk)) return Unavailable("snapshot stream ended before its header");
  if (!chunk.has_header()) return InvalidArgument("snapshot stream must start with a header");
  raft::Message m;
  GRID_RETURN_IF_ERROR(DecodeFrom(chunk.header().message(), from, &m));
  if (m.type != raft::MessageType::kSnap || !m.snapshot.has_value()) {
    return InvalidArgument("snapshot header must carry a kSnap message with a snapshot");
  }
  const uint64_t size = chunk.header().size_bytes();
  if (size > options_->max_snapshot_bytes) {
    return ResourceExhausted("snapshot of " + std::to_string(size) + " bytes exceeds the limit of " +
                             std::to_string(options_->max_snapshot_bytes));
  }
  std::string prefix = "snap-" + IdHex(from) + "-" + IdHex(m.snapshot->meta.term.value()) + "-" +
                       IdHex(m.snapshot->meta.index.value());
  GRID_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotFileWriter> file,
                        SnapshotFileWriter::Create(options_->snapshot_dir, prefix, size));
  for (;;) {
    if (!reader->Read(&chunk)) {
      return Unavailable("snapshot stream broke after " + std::to_string(file->written_bytes()) +
                         " of " + std::to_string(size) + " bytes");
    }
    if (chunk.has_data()) {
      GRID_RETURN_IF_ERROR(file->Append(chunk.data()));
      continue;
    }
    if (!chunk.has_trailer()) return InvalidArgument("unexpected chunk in a snapshot stream");
    break;
  }
  GRID_ASSIGN_OR_RETURN(std::string path, file->Commit(chunk.trailer().sha256()));
  if (reader->Read(&chunk)) {
    std::remove(path.c_str());
    return InvalidArgument("data after the snapshot trailer");
  }
  if (callbacks_->on_snapshot) {
    callbacks_->on_snapshot(std::move(m), std::move(path));
  } else {
    std::remove(path.c_str());
  }
  return Status::Ok();
}

}  // namespace grid::transport
