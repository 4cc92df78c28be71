// Conversions between grid::Status and gRPC statuses, in one place for every server and
// client. Separate target (grid_grpc_status) so that grid_common stays free of gRPC.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace grid {

// Keeps the message. kInternal and kIOError become UNKNOWN (what a Go server sends for a plain
// error); every other code has its namesake (kCorruption→DATA_LOSS).
grpc::Status ToGrpc(const Status& status);

// Keeps the message; UNAUTHENTICATED→kPermissionDenied, DATA_LOSS→kCorruption, codes without a
// grid namesake (UNKNOWN, INTERNAL, ABORTED, ...)→kInternal.
Status FromGrpc(const grpc::Status& status);

}  // namespace grid
