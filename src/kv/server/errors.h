// etcd's errors as gridkv returns them: the same gRPC code and the same message text, so that
// clients that match on either (etcdctl, clientv3's rpctypes, python3-etcd3) behave the same.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace grid::kv {

inline Status ErrStopped() { return Unavailable("etcdserver: server stopped"); }
inline Status ErrTooManyRequests() { return ResourceExhausted("etcdserver: too many requests"); }
inline Status ErrRequestTooLarge() { return InvalidArgument("etcdserver: request is too large"); }
inline Status ErrNoSpace() { return ResourceExhausted("etcdserver: mvcc: database space exceeded"); }
inline Status ErrTimeout() { return Unavailable("etcdserver: request timed out"); }
inline Status ErrLeaderChanged() { return Unavailable("etcdserver: leader changed"); }
inline Status ErrMemberNotFound() { return NotFound("etcdserver: member not found"); }
inline Status ErrNotCapable() { return Unavailable("etcdserver: not capable"); }
inline Status ErrNotSupportedForLearner() {
  return Unavailable("etcdserver: rpc not supported for learner");
}

// Maps a grid Status to the gRPC status etcd would send. Messages without etcd's
// "etcdserver: " prefix get it (the store's own errors are phrased "mvcc: ...").
grpc::Status ToGrpcStatus(const Status& status);

}  // namespace grid::kv
