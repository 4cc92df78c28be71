// Helpers shared by the Lock and Election services.
#pragma once

#include <grpcpp/server_context.h>

#include "client/context.h"
#include "client/status_util.h"

namespace grid::client::services {

// A Context that is done when the RPC is cancelled by its caller or its deadline passes.
inline Context ServerCallContext(grpc::ServerContext* call) {
  Context ctx = Context().WithCancelPredicate([call] { return call->IsCancelled(); });
  const auto deadline = call->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    const auto remaining = deadline - std::chrono::system_clock::now();
    ctx = ctx.WithDeadline(
        Context::Clock::now() +
        std::chrono::duration_cast<Context::Clock::duration>(remaining));
  }
  return ctx;
}

// etcd's Lock/Election servers return the errors of their client calls as plain Go errors,
// which reach the caller with code UNKNOWN and the error text; context errors keep their
// codes (CANCELLED, DEADLINE_EXCEEDED).
inline grpc::Status ServiceError(const Status& status) {
  if (status.code() == Code::kCancelled || status.code() == Code::kDeadlineExceeded) {
    return ToGrpc(status);
  }
  return grpc::Status(grpc::StatusCode::UNKNOWN, status.message());
}

}  // namespace grid::client::services
