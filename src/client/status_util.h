// Conversions between gRPC statuses and grid::Status (see common/grpc_status.h for the
// mapping), under the client's namespace.
#pragma once

#include "common/grpc_status.h"

namespace grid::client {

using ::grid::FromGrpc;
using ::grid::ToGrpc;

}  // namespace grid::client
