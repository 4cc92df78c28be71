// etcdserverpb.KV over the gRPC callback API. Mutations are proposed into the log and answered
// from the apply callback; linearizable reads wait on the read barrier, serializable ones are
// served from the store at once. Thread-safe; no thread of its own.
#pragma once

#include "etcd/rpc.grpc.pb.h"
#include "kv/api/server_context.h"

namespace grid::kv {

class KvService final : public etcdserverpb::KV::CallbackService {
 public:
  explicit KvService(const ServerContext* ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* context,
                                  const etcdserverpb::RangeRequest* request,
                                  etcdserverpb::RangeResponse* response) override;
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context,
                                const etcdserverpb::PutRequest* request,
                                etcdserverpb::PutResponse* response) override;
  grpc::ServerUnaryReactor* DeleteRange(grpc::CallbackServerContext* context,
                                        const etcdserverpb::DeleteRangeRequest* request,
                                        etcdserverpb::DeleteRangeResponse* response) override;
  grpc::ServerUnaryReactor* Txn(grpc::CallbackServerContext* context,
                                const etcdserverpb::TxnRequest* request,
                                etcdserverpb::TxnResponse* response) override;
  grpc::ServerUnaryReactor* Compact(grpc::CallbackServerContext* context,
                                    const etcdserverpb::CompactionRequest* request,
                                    etcdserverpb::CompactionResponse* response) override;

 private:
  const ServerContext* const ctx_;
};

// Proposes `request` and, once applied, moves the response chosen by `pick` into `out` and
// finishes `reactor`. Shared by the services that write through the log.
template <typename Response, typename Pick>
void ProposeAndFinish(const ServerContext& ctx, kvpb::InternalRequest request,
                      grpc::ServerUnaryReactor* reactor, Response* out, Pick pick);

}  // namespace grid::kv

#include "kv/api/propose_and_finish.inc"
