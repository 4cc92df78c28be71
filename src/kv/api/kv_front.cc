#include "kv/api/kv_front.h"

#include <memory>
#include <utility>

#include "kv/api/kv_service.h"
#include "kv/apply/validate.h"
#include "kv/server/errors.h"

namespace grid::kv {
namespace {

// The error as the gRPC library's server would send it (kv/server/errors.h's mapping).
void Refuse(h2::Responder& responder, const Status& status) {
  const grpc::Status s = ToGrpcStatus(status);
  responder.Fail(static_cast<h2::GrpcCode>(s.error_code()), s.error_message());
}

// grpc-go's answer to a body that is not the method's message.
void RefuseUnparsable(h2::Responder& responder) {
  responder.Fail(h2::GrpcCode::kInternal, "grpc: error unmarshalling request");
}

template <typename Message>
bool Parse(const h2::UnaryCall& call, Message* message) {
  const std::string_view m = call.message();
  return message->ParseFromArray(m.data(), static_cast<int>(m.size()));
}

// Proposes `request`; once applied, answers with the response `pick` chooses.
template <typename Pick>
void ProposeAndAnswer(const ServerContext& ctx, kvpb::InternalRequest request,
                      h2::Responder responder, Pick pick) {
  if (static_cast<int64_t>(request.ByteSizeLong()) > ctx.limits.max_request_bytes) {
    return Refuse(responder, ErrRequestTooLarge());
  }
  auto shared = std::make_shared<h2::Responder>(std::move(responder));
  ctx.proposer->Propose(std::move(request),
                        [shared, pick](const Status& status, kvpb::InternalResponse response) {
                          if (!status.ok()) return Refuse(*shared, status);
                          shared->Finish(h2::FrameMessage(*pick(response)));
                        });
}

}  // namespace

h2::MethodTable KvFrontMethods(const ServerContext* ctx) {
  h2::MethodTable methods;
  methods["/etcdserverpb.KV/Range"] = [ctx](h2::UnaryCall call, h2::Responder responder) {
    auto request = std::make_shared<etcdserverpb::RangeRequest>();
    if (!Parse(call, request.get())) return RefuseUnparsable(responder);
    auto shared = std::make_shared<h2::Responder>(std::move(responder));
    const etcdserverpb::RangeRequest* raw = request.get();
    // A read that waited on a barrier runs on this call's loop, which then answers at once
    // (one hand-off, where a read pool thread would add a second).
    ReadRunner on_loop = [shared](std::function<void()> read) {
      shared->RunOnLoop(std::move(read));
      return true;
    };
    ServeRange(
        ctx, raw,
        [shared, request = std::move(request)](Result<etcdserverpb::RangeResponse> r) {
          if (!r.ok()) return Refuse(*shared, r.status());
          shared->Finish(h2::FrameMessage(*r));
        },
        std::move(on_loop));
  };
  methods["/etcdserverpb.KV/Put"] = [ctx](h2::UnaryCall call, h2::Responder responder) {
    kvpb::InternalRequest internal;
    if (!Parse(call, internal.mutable_put())) return RefuseUnparsable(responder);
    if (Status s = AdmitPut(*ctx, internal.put()); !s.ok()) return Refuse(responder, s);
    ProposeAndAnswer(*ctx, std::move(internal), std::move(responder),
                     [](kvpb::InternalResponse& r) { return r.mutable_put(); });
  };
  methods["/etcdserverpb.KV/DeleteRange"] = [ctx](h2::UnaryCall call, h2::Responder responder) {
    kvpb::InternalRequest internal;
    if (!Parse(call, internal.mutable_delete_range())) return RefuseUnparsable(responder);
    if (Status s = ValidateDeleteRange(internal.delete_range()); !s.ok()) {
      return Refuse(responder, s);
    }
    ProposeAndAnswer(*ctx, std::move(internal), std::move(responder),
                     [](kvpb::InternalResponse& r) { return r.mutable_delete_range(); });
  };
  methods["/etcdserverpb.KV/Txn"] = [ctx](h2::UnaryCall call, h2::Responder responder) {
    kvpb::InternalRequest internal;
    if (!Parse(call, internal.mutable_txn())) return RefuseUnparsable(responder);
    if (Status s = AdmitTxn(*ctx, internal.txn()); !s.ok()) return Refuse(responder, s);
    ProposeAndAnswer(*ctx, std::move(internal), std::move(responder),
                     [](kvpb::InternalResponse& r) { return r.mutable_txn(); });
  };
  methods["/etcdserverpb.KV/Compact"] = [ctx](h2::UnaryCall call, h2::Responder responder) {
    kvpb::InternalRequest internal;
    if (!Parse(call, internal.mutable_compaction())) return RefuseUnparsable(responder);
    ProposeAndAnswer(*ctx, std::move(internal), std::move(responder),
                     [](kvpb::InternalResponse& r) { return r.mutable_compaction(); });
  };
  return methods;
}

}  // namespace grid::kv
