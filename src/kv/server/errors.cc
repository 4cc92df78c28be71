#include "kv/server/errors.h"

#include "common/grpc_status.h"

namespace grid::kv {

grpc::Status ToGrpcStatus(const Status& status) {
  grpc::Status mapped = ToGrpc(status);
  const std::string& m = status.message();
  if (mapped.ok() || m.rfind("etcdserver: ", 0) == 0) return mapped;
  return grpc::Status(mapped.error_code(), "etcdserver: " + m);
}

}  // namespace grid::kv
