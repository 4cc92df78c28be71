// etcdserverpb.KV over the gRPC callback API. Mutations are proposed into the log and answered
// from the apply callback; linearizable reads wait on the read barrier, serializable ones are
// served from the store at once. Thread-safe; no thread of its own.
#pragma once

#include <functional>

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

// What KvService and the KV front (kv_front.h) share, so that both servers answer alike.
//
// A Put or Txn checked before it is proposed: validation, and the quota for writes.
[[nodiscard]] Status AdmitPut(const ServerContext& ctx, const etcdserverpb::PutRequest& request);
[[nodiscard]] Status AdmitTxn(const ServerContext& ctx, const etcdserverpb::TxnRequest& request);
// A Range, validated and served: serializable at once; linearizable at once on a lone leader,
// else after a read barrier, by `run_read` (nullptr: on ctx.read_pool). `done` runs exactly
// once (possibly before ServeRange returns) with the response, header filled in. REQUIRES:
// `request` stays valid until `done` runs.
using RangeDone = std::function<void(Result<etcdserverpb::RangeResponse>)>;
// Runs a read that waited on a barrier somewhere; false when it cannot (it then does not run).
using ReadRunner = std::function<bool(std::function<void()> read)>;
void ServeRange(const ServerContext* ctx, const etcdserverpb::RangeRequest* request,
                RangeDone done, ReadRunner run_read = nullptr);

// Proposes `request` and, once applied, moves the response chosen by `pick` into `out` and
// finishes `reactor`. Shared by the services that write through the log.
template <typename Response, typename Pick>
void ProposeAndFinish(const ServerContext& ctx, kvpb::InternalRequest request,
                      grpc::ServerUnaryReactor* reactor, Response* out, Pick pick);

}  // namespace grid::kv

#include "kv/api/propose_and_finish.inc"
