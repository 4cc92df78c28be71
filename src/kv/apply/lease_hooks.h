// What the KV applier needs from the lessor, and nothing more: the applier attaches keys to
// leases on Put and detaches them on overwrite and delete. Called only on the apply thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace grid::kv {

class LeaseHooks {
 public:
  virtual ~LeaseHooks() = default;
  virtual bool LeaseExists(int64_t lease_id) const = 0;
  virtual void Attach(int64_t lease_id, std::string_view key) = 0;
  virtual void Detach(int64_t lease_id, std::string_view key) = 0;
};

}  // namespace grid::kv
