// etcdserverpb.Maintenance: Status, Alarm, Defragment, Hash, HashKV, Snapshot, MoveLeader.
// Thread-safe; no thread of its own (Snapshot streams from a thread per call, bounded by
// kMaxConcurrentSnapshots).
#pragma once

#include <atomic>

#include "etcd/rpc.grpc.pb.h"
#include "kv/api/server_context.h"

namespace grid::kv {

class MaintenanceService final : public etcdserverpb::Maintenance::CallbackService {
 public:
  // Snapshots streamed at once; one more is refused with "etcdserver: too many requests".
  static constexpr int kMaxConcurrentSnapshots = 2;
  // Bytes per SnapshotResponse message (etcd sends 32 KiB chunks).
  static constexpr size_t kSnapshotChunkBytes = 32 * 1024;

  explicit MaintenanceService(const ServerContext* ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* Alarm(grpc::CallbackServerContext* context,
                                  const etcdserverpb::AlarmRequest* request,
                                  etcdserverpb::AlarmResponse* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const etcdserverpb::StatusRequest* request,
                                   etcdserverpb::StatusResponse* response) override;
  grpc::ServerUnaryReactor* Defragment(grpc::CallbackServerContext* context,
                                       const etcdserverpb::DefragmentRequest* request,
                                       etcdserverpb::DefragmentResponse* response) override;
  grpc::ServerUnaryReactor* Hash(grpc::CallbackServerContext* context,
                                 const etcdserverpb::HashRequest* request,
                                 etcdserverpb::HashResponse* response) override;
  grpc::ServerUnaryReactor* HashKV(grpc::CallbackServerContext* context,
                                   const etcdserverpb::HashKVRequest* request,
                                   etcdserverpb::HashKVResponse* response) override;
  grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* Snapshot(
      grpc::CallbackServerContext* context, const etcdserverpb::SnapshotRequest* request) override;
  grpc::ServerUnaryReactor* MoveLeader(grpc::CallbackServerContext* context,
                                       const etcdserverpb::MoveLeaderRequest* request,
                                       etcdserverpb::MoveLeaderResponse* response) override;

 private:
  const ServerContext* const ctx_;
  std::atomic<int> snapshots_in_flight_{0};
};

}  // namespace grid::kv
