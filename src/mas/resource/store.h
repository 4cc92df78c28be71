// ResourceStore: resources kept in a store cluster over the etcd v3 API, one key per object:
//
//   <prefix>/resources/<kind>/<name>   ->  StoredValue(resource)   (compact JSON)
//
// metadata.resourceVersion is the key's mod revision. Every write is one transaction guarded
// by a compare on the key, so concurrent writers never overwrite each other:
//   Create        create_revision == 0, else AlreadyExists `KVCluster "a" already exists`
//   Update        mod_revision == resourceVersion, else a conflict (IsConflict); writes spec
//                 and labels, keeps status; generation + 1 only when the spec changed
//   UpdateStatus  mod_revision == resourceVersion, else a conflict; writes status only
//   Delete        optional mod_revision == resourceVersion precondition
// A write that would change nothing is skipped and returns the current object.
//
// Fencing: a store made with `write_fence` adds that compare to every write's transaction
// (the controllers pass their leadership's Fence::Compare()). A write the fence refuses fails
// with FenceLostError (IsFenceLost), however late it reaches the store and even when the
// object has not changed since it was read: a deposed leader's step is never recorded.
//
// Thread-safety: thread-safe (the Client is); holds no state besides its options.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/watcher.h"
#include "common/status.h"
#include "mas/resource/resource.h"

namespace grid::mas {

inline constexpr int64_t kDefaultListPageSize = 100;
inline constexpr size_t kDefaultMaxListItems = 10000;

struct ResourceStoreOptions {
  std::string prefix = "/gridmas";  // keys start with "<prefix>/resources/"
  int64_t list_page_size = kDefaultListPageSize;  // keys per range request
  size_t max_list_items = kDefaultMaxListItems;   // List() fails beyond this many objects
  // Injected for tests; defaults: the system clock and a random version-4 UUID.
  std::function<std::chrono::system_clock::time_point()> now;
  std::function<std::string()> new_uid;
  // When set, every write also requires this compare to hold (see Fencing above).
  std::optional<etcdserverpb::Compare> write_fence;
};

// A FailedPrecondition whose message says the object has been modified since
// `stale_version` was read; IsConflict recognises it.
Status ConflictError(const std::string& describe, const std::string& stale_version,
                     const std::string& current_version);
bool IsConflict(const Status& status);

// A FailedPrecondition saying the write fence no longer holds (the writer was deposed);
// IsFenceLost recognises it.
Status FenceLostError(const std::string& describe, const etcdserverpb::Compare& fence);
bool IsFenceLost(const Status& status);

struct ResourceList {
  std::vector<Resource> items;  // in key (name) order
  int64_t revision = 0;         // the store revision the list was read at; watch from + 1
};

enum class EventType { kAdded, kModified, kDeleted };
const char* EventTypeName(EventType type);

struct ResourceEvent {
  EventType type = EventType::kAdded;
  int64_t revision = 0;  // the event's store revision (for a delete: the deleting revision)
  // The object after the event; for kDeleted the last version before deletion when the store
  // returned it, else only kind and metadata.name are set.
  Resource resource;
};

struct ResourceWatchUpdate {
  std::vector<ResourceEvent> events;  // in revision order
  // Not OK when the watch has ended (e.g. OutOfRange: the start revision was compacted) or
  // when a stored value failed to decode (Corruption; that event is dropped, the watch goes on).
  Status status;
};
using ResourceWatchCallback = std::function<void(const ResourceWatchUpdate&)>;

// Pure steps of the writes, exposed for tests.
// The object Create stores: defaults applied, validated, generation 1, empty status.
Result<Resource> PrepareCreate(Resource desired, const std::string& now, const std::string& uid);
// The object Update stores: `desired`'s spec and labels on `current`'s identity and status;
// generation + 1 when the spec changed.
Result<Resource> PrepareUpdate(const Resource& current, Resource desired);
// The object UpdateStatus stores: `current` with `status` replaced.
Result<Resource> PrepareStatusUpdate(const Resource& current, ResourceStatus status);

class ResourceStore {
 public:
  // REQUIRES: `client` outlives the store.
  ResourceStore(client::Client* client, ResourceStoreOptions options = {});

  // The key of one object and the prefix of one kind ("<prefix>/resources/<kind>/").
  std::string Key(Kind kind, const std::string& name) const;
  std::string KindPrefix(Kind kind) const;
  const ResourceStoreOptions& options() const { return options_; }

  Result<Resource> Create(const Resource& resource);
  Result<Resource> Get(Kind kind, const std::string& name);
  Result<ResourceList> List(Kind kind);
  // REQUIRES: resource.metadata.resource_version set (else InvalidArgument).
  Result<Resource> Update(const Resource& resource);
  Result<Resource> UpdateStatus(Kind kind, const std::string& name, const ResourceStatus& status,
                                const std::string& resource_version);
  // `resource_version` empty: unconditional. NotFound when there is nothing to delete.
  Status Delete(Kind kind, const std::string& name, const std::string& resource_version = "");

  // Events of `kind` from `start_revision` (0 = from now on), in order; see client::Watcher
  // for threads and reconnection. The watch ends when the handle is destroyed.
  Result<std::unique_ptr<client::Watcher>> Watch(Kind kind, int64_t start_revision,
                                                 ResourceWatchCallback callback);

 private:
  // Stores `next` if the key's mod revision is still `expected_rv`.
  Result<Resource> CompareAndPut(const Resource& next, int64_t expected_rv);
  Result<Resource> GetAt(Kind kind, const std::string& name, int64_t* mod_revision);
  // `request` with the write fence's compare added when the store has one.
  etcdserverpb::TxnRequest Fenced(etcdserverpb::TxnRequest request) const;
  // Why a fenced txn whose own compare on `key` held failed: the fence.
  Status FenceError(const std::string& describe) const;

  client::Client* const client_;
  const ResourceStoreOptions options_;
};

}  // namespace grid::mas
