#include "kv/api/maintenance_service.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "kv/api/kv_service.h"
#include "kv/server/errors.h"
#include "kv/snapshot/etcd_backend.h"
#include "kv/snapshot/snapshot_file.h"

namespace grid::kv {
namespace fs = std::filesystem;

grpc::ServerUnaryReactor* MaintenanceService::Alarm(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::AlarmRequest* request,
                                                    etcdserverpb::AlarmResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (grid::Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  if (request->action() == etcdserverpb::AlarmRequest::GET) {
    ctx_->member->FillHeader(response->mutable_header(), ctx_->store->CurrentRevision());
    for (const auto& m : ctx_->alarms->List()) {
      if (request->alarm() == etcdserverpb::NONE || request->alarm() == m.alarm()) {
        *response->add_alarms() = m;
      }
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  kvpb::InternalRequest internal;
  *internal.mutable_alarm() = *request;
  ProposeAndFinish(*ctx_, std::move(internal), reactor, response,
                   [](kvpb::InternalResponse& r) { return r.mutable_alarm(); });
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Status(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::StatusRequest*,
                                                     etcdserverpb::StatusResponse* response) {
  auto* reactor = context->DefaultReactor();
  const MemberIdentity& m = *ctx_->member;
  m.FillHeader(response->mutable_header(), ctx_->store->CurrentRevision());
  response->set_version(ctx_->version);
  response->set_dbsize(ctx_->store->DbSizeBytes());
  response->set_dbsizeinuse(ctx_->store->DbSizeInUseBytes());
  response->set_leader(ctx_->leader_id ? ctx_->leader_id() : m.member_id);
  response->set_raftindex(ctx_->committed_index());
  response->set_raftappliedindex(ctx_->applied_index());
  response->set_raftterm(m.raft_term.load());
  response->set_islearner(ctx_->is_voter && !ctx_->is_voter(m.member_id));
  for (const auto& a : ctx_->alarms->List()) {
    response->add_errors(fmt::format("memberID:{} alarm:{} ", a.memberid(),
                                     etcdserverpb::AlarmType_Name(a.alarm())));
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Defragment(grpc::CallbackServerContext* context,
                                                         const etcdserverpb::DefragmentRequest*,
                                                         etcdserverpb::DefragmentResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (grid::Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  const ServerContext* ctx = ctx_;
  // Defragmenting rewrites the backend: run it off the gRPC threads.
  std::thread([ctx, reactor, response] {
    grid::Status s = ctx->store->Defragment();
    if (!s.ok()) {
      reactor->Finish(ToGrpcStatus(s));
      return;
    }
    ctx->member->FillHeader(response->mutable_header(), ctx->store->CurrentRevision());
    reactor->Finish(grpc::Status::OK);
  }).detach();
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Hash(grpc::CallbackServerContext* context,
                                                   const etcdserverpb::HashRequest*,
                                                   etcdserverpb::HashResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (grid::Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  Result<uint32_t> h = ctx_->store->HashBackend();
  if (!h.ok()) {
    reactor->Finish(ToGrpcStatus(h.status()));
    return reactor;
  }
  ctx_->member->FillHeader(response->mutable_header(), ctx_->store->CurrentRevision());
  response->set_hash(*h);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::HashKV(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::HashKVRequest* request,
                                                     etcdserverpb::HashKVResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (grid::Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  Result<mvcc::HashResult> h = ctx_->store->HashKV(request->revision());
  if (!h.ok()) {
    reactor->Finish(ToGrpcStatus(h.status()));
    return reactor;
  }
  ctx_->member->FillHeader(response->mutable_header(), ctx_->store->CurrentRevision());
  response->set_hash(h->hash);
  response->set_compact_revision(h->compact_revision);  // -1: never compacted, as etcd
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::MoveLeader(grpc::CallbackServerContext* context,
                                                         const etcdserverpb::MoveLeaderRequest* request,
                                                         etcdserverpb::MoveLeaderResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (grid::Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    reactor->Finish(ToGrpcStatus(refused));
    return reactor;
  }
  const ServerContext* ctx = ctx_;
  if (ctx->leader_id && ctx->leader_id() != ctx->member->member_id) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "etcdserver: not leader"));
    return reactor;
  }
  if (!ctx->is_voter || !ctx->is_voter(request->targetid()) || !ctx->transfer_leadership) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                 "etcdserver: bad leader transferee"));
    return reactor;
  }
  ctx->transfer_leadership(request->targetid(), [ctx, reactor, response](const grid::Status& s) {
    if (!s.ok()) {
      reactor->Finish(ToGrpcStatus(s));
      return;
    }
    ctx->member->FillHeader(response->mutable_header(), ctx->store->CurrentRevision());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

namespace {

// Streams one snapshot: a producer thread exports the store as an etcd backend file and reads
// it into chunks (the SHA-256 of the file last, as etcd), the reactor writes them one at a
// time. The queue between them holds at most kMaxQueuedChunks.
class SnapshotWriter final : public grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse> {
 public:
  static constexpr size_t kMaxQueuedChunks = 8;

  SnapshotWriter(const ServerContext* ctx, std::atomic<int>* in_flight)
      : ctx_(ctx), in_flight_(in_flight) {
    producer_ = std::thread([this] { Produce(); });
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    writing_ = false;
    if (!ok) {
      cancelled_ = true;
      cv_.notify_all();
      MaybeFinishLocked();
      return;
    }
    chunks_.pop_front();
    cv_.notify_all();
    WriteNextLocked();
  }

  void OnDone() override {
    producer_.join();
    in_flight_->fetch_sub(1);
    delete this;
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  void Produce() {
    // The backend as etcd's bbolt file, in a temporary file streamed and then removed.
    const fs::path path = fs::path(ctx_->data_dir) / "member" / "snap" /
                          ("stream-" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".db");
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    snapshot::ExportOptions options;
    options.member = snapshot::MemberInfo{ctx_->member->member_id, ctx_->member->name, {}, {}};
    if (!ctx_->peer_url.empty()) options.member->peer_urls.push_back(ctx_->peer_url);
    if (!ctx_->client_url.empty()) options.member->client_urls.push_back(ctx_->client_url);
    grid::Status s = snapshot::ExportEtcdBackend(*ctx_->store, path.string(), options).status();
    uint64_t total = 0;
    if (s.ok()) {
      s = snapshot::StreamWithSha256(
          path.string(), MaintenanceService::kSnapshotChunkBytes,
          [&](std::string_view chunk, uint64_t remaining_bytes) {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return cancelled_ || chunks_.size() < kMaxQueuedChunks; });
            if (cancelled_) return false;
            chunks_.push_back(Chunk{std::string(chunk), remaining_bytes});
            total += chunk.size();
            WriteNextLocked();
            return true;
          });
    }
    fs::remove(path, ec);
    std::lock_guard lock(mu_);
    if (!s.ok()) spdlog::warn("snapshot stream failed after {} bytes: {}", total, s.ToString());
    else spdlog::info("snapshot streamed: {} bytes", total);
    produced_ = true;
    result_ = s.ok() ? grpc::Status::OK : ToGrpcStatus(s);
    MaybeFinishLocked();
  }

  // REQUIRES: mu_ held.
  void WriteNextLocked() {
    if (writing_ || cancelled_ || chunks_.empty()) {
      MaybeFinishLocked();
      return;
    }
    writing_ = true;
    response_.Clear();
    ctx_->member->FillHeader(response_.mutable_header(), ctx_->store->CurrentRevision());
    response_.set_blob(chunks_.front().blob);
    response_.set_remaining_bytes(chunks_.front().remaining_bytes);
    StartWrite(&response_);
  }

  // REQUIRES: mu_ held.
  void MaybeFinishLocked() {
    if (finished_ || writing_) return;
    if (cancelled_ && produced_) {
      finished_ = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "snapshot cancelled"));
    } else if (produced_ && chunks_.empty()) {
      finished_ = true;
      Finish(result_);
    }
  }

  const ServerContext* const ctx_;
  std::atomic<int>* const in_flight_;
  std::mutex mu_;
  std::condition_variable cv_;
  struct Chunk {
    std::string blob;
    uint64_t remaining_bytes;  // bytes after this chunk, as etcd reports them
  };
  std::deque<Chunk> chunks_;        // GUARDED_BY(mu_)
  bool writing_ = false;            // GUARDED_BY(mu_)
  bool cancelled_ = false;          // GUARDED_BY(mu_)
  bool produced_ = false;           // GUARDED_BY(mu_)
  bool finished_ = false;           // GUARDED_BY(mu_)
  grpc::Status result_;             // GUARDED_BY(mu_)
  etcdserverpb::SnapshotResponse response_;
  std::thread producer_;
};

class RefusedWriter final : public grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse> {
 public:
  explicit RefusedWriter(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* MaintenanceService::Snapshot(
    grpc::CallbackServerContext*, const etcdserverpb::SnapshotRequest*) {
  if (grid::Status refused = RefuseOnLearner(*ctx_); !refused.ok()) {
    return new RefusedWriter(ToGrpcStatus(refused));
  }
  if (snapshots_in_flight_.fetch_add(1) >= kMaxConcurrentSnapshots) {
    snapshots_in_flight_.fetch_sub(1);
    return new RefusedWriter(ToGrpcStatus(ErrTooManyRequests()));
  }
  return new SnapshotWriter(ctx_, &snapshots_in_flight_);
}

}  // namespace grid::kv
