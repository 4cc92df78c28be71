// GrpcClusterOps: ClusterOps (promotion.h) over the etcd v3 API of the cluster's client
// endpoints, with short deadlines (a lost primary must not hold the controller's loop).
//
// Thread-safety: thread-safe; every call connects anew (promotions are rare).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mas/standby/promotion.h"

namespace grid::mas::standby {

inline constexpr std::chrono::milliseconds kClusterOpsTimeout{2000};

class GrpcClusterOps final : public ClusterOps {
 public:
  explicit GrpcClusterOps(std::chrono::milliseconds timeout = kClusterOpsTimeout)
      : timeout_(timeout) {}
  Result<int64_t> Revision(const std::vector<std::string>& endpoints) override;
  Status RaiseNoSpace(const std::vector<std::string>& endpoints) override;
  Status DisarmNoSpace(const std::vector<std::string>& endpoints) override;
  Result<int64_t> ProgressRevision(const std::vector<std::string>& endpoints,
                                   const std::string& key) override;

 private:
  const std::chrono::milliseconds timeout_;
};

}  // namespace grid::mas::standby
