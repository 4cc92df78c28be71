// Conversions between gRPC statuses and grid::Status.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace grid::client {

// Keeps the gRPC message; maps the code: NOT_FOUND→kNotFound, OUT_OF_RANGE→kOutOfRange,
// INVALID_ARGUMENT→kInvalidArgument, FAILED_PRECONDITION→kFailedPrecondition,
// RESOURCE_EXHAUSTED→kResourceExhausted, UNAVAILABLE→kUnavailable,
// DEADLINE_EXCEEDED→kDeadlineExceeded, DATA_LOSS→kCorruption, CANCELLED→kCancelled,
// PERMISSION_DENIED/UNAUTHENTICATED→kPermissionDenied, UNIMPLEMENTED→kUnimplemented,
// ALREADY_EXISTS→kAlreadyExists, anything else→kInternal.
Status FromGrpc(const grpc::Status& status);

// The inverse mapping (kInternal→UNKNOWN, as Go servers report plain errors), for servers
// that answer with the errors of the client calls they made.
grpc::Status ToGrpc(const Status& status);

}  // namespace grid::client
