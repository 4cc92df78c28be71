#include "kv/api/kv_service.h"

#include "kv/apply/kv_applier.h"
#include "kv/apply/validate.h"
#include "kv/server/errors.h"

namespace grid::kv {

Status RefuseOnLearner(const ServerContext& ctx) {
  if (ctx.self_is_learner && ctx.self_is_learner()) return ErrNotSupportedForLearner();
  return Status::Ok();
}

Status CheckQuota(const ServerContext& ctx, int64_t cost_bytes) {
  if (ctx.limits.quota_backend_bytes <= 0) return Status::Ok();
  if (ctx.alarms->Has(etcdserverpb::NOSPACE)) return ErrNoSpace();
  if (ctx.store->DbSizeBytes() + cost_bytes <= ctx.limits.quota_backend_bytes) {
    return Status::Ok();
  }
  kvpb::InternalRequest alarm;
  alarm.mutable_alarm()->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  alarm.mutable_alarm()->set_memberid(ctx.member->member_id);
  alarm.mutable_alarm()->set_alarm(etcdserverpb::NOSPACE);
  ctx.proposer->Propose(std::move(alarm), [](const Status&, kvpb::InternalResponse) {});
  return ErrNoSpace();
}

namespace {

// etcd's quota cost of a put: key + value plus its bookkeeping in the backend.
constexpr int64_t kPutOverheadBytes = 32 + 16;

int64_t TxnCost(const etcdserverpb::TxnRequest& txn) {
  int64_t cost = 0;
  for (const auto* ops : {&txn.success(), &txn.failure()}) {
    int64_t branch = 0;
    for (const auto& op : *ops) {
      if (op.has_request_put()) {
        branch += op.request_put().key().size() + op.request_put().value().size() +
                  kPutOverheadBytes;
      } else if (op.has_request_txn()) {
        branch += TxnCost(op.request_txn());
      }
    }
    cost = std::max(cost, branch);
  }
  return cost;
}

bool TxnIsReadOnly(const etcdserverpb::TxnRequest& txn) {
  for (const auto* ops : {&txn.success(), &txn.failure()}) {
    for (const auto& op : *ops) {
      if (op.has_request_put() || op.has_request_delete_range()) return false;
      if (op.has_request_txn() && !TxnIsReadOnly(op.request_txn())) return false;
    }
  }
  return true;
}

}  // namespace

Status AdmitPut(const ServerContext& ctx, const etcdserverpb::PutRequest& request) {
  GRID_RETURN_IF_ERROR(ValidatePut(request));
  return CheckQuota(ctx, request.key().size() + request.value().size() + kPutOverheadBytes);
}

Status AdmitTxn(const ServerContext& ctx, const etcdserverpb::TxnRequest& request) {
  GRID_RETURN_IF_ERROR(ValidateTxn(request, ctx.limits.max_txn_ops));
  if (TxnIsReadOnly(request)) return Status::Ok();
  return CheckQuota(ctx, TxnCost(request));
}

void ServeRange(const ServerContext* ctx, const etcdserverpb::RangeRequest* request,
                RangeDone done, ReadRunner run_read) {
  if (Status s = ValidateRange(*request); !s.ok()) return done(s);
  auto serve = [ctx, request, done] {
    Result<etcdserverpb::RangeResponse> r = ApplyRange(*ctx->store, *request);
    if (r.ok()) ctx->member->FillHeader(r->mutable_header(), r->header().revision());
    done(std::move(r));
  };
  if (request->serializable()) return serve();
  // A learner serves serializable reads only (etcd).
  if (Status refused = RefuseOnLearner(*ctx); !refused.ok()) return done(refused);
  // The only voting member and leader serves at once, on this thread (see Proposer).
  if (ctx->proposer->LocalReadIsLinearizable()) return serve();
  ctx->proposer->ReadBarrier([ctx, done, serve, run_read = std::move(run_read)](const Status& s) {
    if (!s.ok()) return done(s);
    const bool runs = run_read ? run_read(serve) : ctx->read_pool->Post(serve);
    if (!runs) done(ErrTooManyRequests());
  });
}

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* context,
                                           const etcdserverpb::RangeRequest* request,
                                           etcdserverpb::RangeResponse* response) {
  auto* reactor = context->DefaultReactor();
  ServeRange(ctx_, request, [reactor, response](Result<etcdserverpb::RangeResponse> r) {
    if (!r.ok()) {
      reactor->Finish(ToGrpcStatus(r.status()));
      return;
    }
    *response = std::move(*r);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const etcdserverpb::PutRequest* request,
                                         etcdserverpb::PutResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (Status s = AdmitPut(*ctx_, *request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  kvpb::InternalRequest internal;
  *internal.mutable_put() = *request;
  ProposeAndFinish(*ctx_, std::move(internal), reactor, response,
                   [](kvpb::InternalResponse& r) { return r.mutable_put(); });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::DeleteRange(grpc::CallbackServerContext* context,
                                                 const etcdserverpb::DeleteRangeRequest* request,
                                                 etcdserverpb::DeleteRangeResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (Status s = ValidateDeleteRange(*request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  kvpb::InternalRequest internal;
  *internal.mutable_delete_range() = *request;
  ProposeAndFinish(*ctx_, std::move(internal), reactor, response,
                   [](kvpb::InternalResponse& r) { return r.mutable_delete_range(); });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* context,
                                         const etcdserverpb::TxnRequest* request,
                                         etcdserverpb::TxnResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (Status s = AdmitTxn(*ctx_, *request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  kvpb::InternalRequest internal;
  *internal.mutable_txn() = *request;
  ProposeAndFinish(*ctx_, std::move(internal), reactor, response,
                   [](kvpb::InternalResponse& r) { return r.mutable_txn(); });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Compact(grpc::CallbackServerContext* context,
                                             const etcdserverpb::CompactionRequest* request,
                                             etcdserverpb::CompactionResponse* response) {
  auto* reactor = context->DefaultReactor();
  kvpb::InternalRequest internal;
  *internal.mutable_compaction() = *request;
  ProposeAndFinish(*ctx_, std::move(internal), reactor, response,
                   [](kvpb::InternalResponse& r) { return r.mutable_compaction(); });
  return reactor;
}

}  // namespace grid::kv
