#include "mas/resource/store.h"

#include <charconv>
#include <cstdio>
#include <random>
#include <string>

#include "client/ops.h"

namespace grid::mas {
namespace {

constexpr char kConflictMarker[] = "the object has been modified";
constexpr char kFenceLostMarker[] = "write fence lost";

std::string Describe(Kind kind, const std::string& name) {
  return std::string(KindName(kind)) + " " + nlohmann::json(name).dump();
}

Result<int64_t> ParseResourceVersion(const std::string& rv) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), value);
  if (rv.empty() || ec != std::errc() || end != rv.data() + rv.size() || value <= 0) {
    return InvalidArgument("metadata.resourceVersion: must be a positive decimal revision, got " +
                           nlohmann::json(rv).dump());
  }
  return value;
}

Status CheckName(const std::string& name) {
  const std::string e = DnsLabelError(name);
  if (!e.empty()) return InvalidArgument("metadata.name: " + e);
  return Status::Ok();
}

Status CheckStoredSize(const Resource& r, const std::string& value) {
  if (value.size() > kMaxResourceBytes) {
    return ResourceExhausted(r.Describe() + ": stored form is " + std::to_string(value.size()) +
                             " bytes, limit " + std::to_string(kMaxResourceBytes));
  }
  return Status::Ok();
}

std::string RandomUid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t hi = (rng() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  const uint64_t lo = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0xffff), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

client::GetOptions KeysOnly() {
  client::GetOptions options;
  options.keys_only = true;
  return options;
}

}  // namespace

Status ConflictError(const std::string& describe, const std::string& stale_version,
                     const std::string& current_version) {
  return FailedPrecondition(describe + ": " + kConflictMarker +
                            "; please apply your changes to the latest version and try again "
                            "(resourceVersion " + stale_version + " is stale, current " +
                            current_version + ")");
}

bool IsConflict(const Status& status) {
  return status.code() == Code::kFailedPrecondition &&
         status.message().find(kConflictMarker) != std::string::npos;
}

Status FenceLostError(const std::string& describe, const etcdserverpb::Compare& fence) {
  return FailedPrecondition(describe + ": " + kFenceLostMarker + " (key " +
                            nlohmann::json(fence.key()).dump() + " create revision " +
                            std::to_string(fence.create_revision()) +
                            " no longer holds: this writer is no longer the leader); not written");
}

bool IsFenceLost(const Status& status) {
  return status.code() == Code::kFailedPrecondition &&
         status.message().find(kFenceLostMarker) != std::string::npos;
}

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      break;
  }
  return "DELETED";
}

Result<Resource> PrepareCreate(Resource desired, const std::string& now, const std::string& uid) {
  Defaults(&desired);
  desired.metadata.generation = 1;
  desired.metadata.resource_version.clear();
  desired.metadata.creation_timestamp = now;
  desired.metadata.uid = uid;
  desired.status = ResourceStatus{};
  GRID_RETURN_IF_ERROR(Validate(desired).WithContext(desired.Describe()));
  return desired;
}

Result<Resource> PrepareUpdate(const Resource& current, Resource desired) {
  if (desired.kind() != current.kind() || desired.metadata.name != current.metadata.name) {
    return InvalidArgument(desired.Describe() + ": cannot update " + current.Describe());
  }
  Defaults(&desired);
  Resource next = current;
  next.metadata.labels = std::move(desired.metadata.labels);
  if (SpecChanged(current.spec, desired.spec)) {
    next.spec = std::move(desired.spec);
    next.metadata.generation = current.metadata.generation + 1;
  }
  GRID_RETURN_IF_ERROR(Validate(next).WithContext(next.Describe()));
  return next;
}

Result<Resource> PrepareStatusUpdate(const Resource& current, ResourceStatus status) {
  GRID_RETURN_IF_ERROR(ValidateStatus(status).WithContext(current.Describe()));
  Resource next = current;
  next.status = std::move(status);
  return next;
}

ResourceStore::ResourceStore(client::Client* client, ResourceStoreOptions options)
    : client_(client), options_(std::move(options)) {
  GRID_CHECK(client_ != nullptr);
  GRID_CHECK(options_.list_page_size > 0);
}

std::string ResourceStore::KindPrefix(Kind kind) const {
  return options_.prefix + "/resources/" + KindName(kind) + "/";
}

std::string ResourceStore::Key(Kind kind, const std::string& name) const {
  return KindPrefix(kind) + name;
}

etcdserverpb::TxnRequest ResourceStore::Fenced(etcdserverpb::TxnRequest request) const {
  if (options_.write_fence) *request.add_compare() = *options_.write_fence;
  return request;
}

Status ResourceStore::FenceError(const std::string& describe) const {
  GRID_CHECK(options_.write_fence.has_value());
  return FenceLostError(describe, *options_.write_fence);
}

Result<Resource> ResourceStore::Create(const Resource& resource) {
  const auto now = options_.now ? options_.now() : std::chrono::system_clock::now();
  GRID_ASSIGN_OR_RETURN(
      Resource next,
      PrepareCreate(resource, FormatTimestamp(now), options_.new_uid ? options_.new_uid() : RandomUid()));
  const std::string value = StoredValue(next);
  GRID_RETURN_IF_ERROR(CheckStoredSize(next, value));
  const std::string key = Key(next.kind(), next.metadata.name);
  auto txn = client::TxnBuilder()
                 .If(client::CompareCreateRevision(key, etcdserverpb::Compare::EQUAL, 0))
                 .Then(client::OpPut(key, value))
                 .Else(client::OpGet(key, KeysOnly()));
  GRID_ASSIGN_OR_RETURN(auto resp, client_->Txn(Fenced(txn.request())));
  if (!resp.succeeded()) {
    if (resp.responses(0).response_range().kvs_size() == 0) return FenceError(next.Describe());
    return Status(Code::kAlreadyExists, next.Describe() + " already exists");
  }
  next.metadata.resource_version = std::to_string(resp.header().revision());
  return next;
}

Result<Resource> ResourceStore::GetAt(Kind kind, const std::string& name, int64_t* mod_revision) {
  GRID_RETURN_IF_ERROR(CheckName(name));
  GRID_ASSIGN_OR_RETURN(auto resp, client_->Get(Key(kind, name)));
  if (resp.kvs_size() == 0) return NotFound(Describe(kind, name) + " not found");
  const auto& kv = resp.kvs(0);
  *mod_revision = kv.mod_revision();
  return DecodeStored(kv.value(), kv.mod_revision());
}

Result<Resource> ResourceStore::Get(Kind kind, const std::string& name) {
  int64_t mod_revision = 0;
  return GetAt(kind, name, &mod_revision);
}

Result<ResourceList> ResourceStore::List(Kind kind) {
  ResourceList list;
  const std::string prefix = KindPrefix(kind);
  client::GetOptions options;
  options.range_end = client::PrefixRangeEnd(prefix);
  options.limit = options_.list_page_size;
  std::string from = prefix;
  while (true) {
    GRID_ASSIGN_OR_RETURN(auto resp, client_->Get(from, options));
    if (list.revision == 0) {
      list.revision = resp.header().revision();
      options.revision = list.revision;  // every page reads the same snapshot
    }
    for (const auto& kv : resp.kvs()) {
      if (list.items.size() >= options_.max_list_items) {
        return ResourceExhausted(std::string("more than ") +
                                 std::to_string(options_.max_list_items) + " " + KindName(kind) +
                                 " objects, limit max_list_items");
      }
      GRID_ASSIGN_OR_RETURN(auto r, DecodeStored(kv.value(), kv.mod_revision()));
      list.items.push_back(std::move(r));
    }
    if (!resp.more() || resp.kvs_size() == 0) break;
    from = resp.kvs(resp.kvs_size() - 1).key();
    from.push_back('\0');
  }
  return list;
}

Result<Resource> ResourceStore::CompareAndPut(const Resource& next, int64_t expected_rv) {
  const std::string value = StoredValue(next);
  GRID_RETURN_IF_ERROR(CheckStoredSize(next, value));
  const std::string key = Key(next.kind(), next.metadata.name);
  auto txn = client::TxnBuilder()
                 .If(client::CompareModRevision(key, etcdserverpb::Compare::EQUAL, expected_rv))
                 .Then(client::OpPut(key, value))
                 .Else(client::OpGet(key, KeysOnly()));
  GRID_ASSIGN_OR_RETURN(auto resp, client_->Txn(Fenced(txn.request())));
  if (!resp.succeeded()) {
    const auto& range = resp.responses(0).response_range();
    if (range.kvs_size() == 0) return NotFound(next.Describe() + " not found");
    if (range.kvs(0).mod_revision() == expected_rv) return FenceError(next.Describe());
    return ConflictError(next.Describe(), std::to_string(expected_rv),
                         std::to_string(range.kvs(0).mod_revision()));
  }
  Resource stored = next;
  stored.metadata.resource_version = std::to_string(resp.header().revision());
  return stored;
}

Result<Resource> ResourceStore::Update(const Resource& resource) {
  GRID_ASSIGN_OR_RETURN(const int64_t rv,
                        ParseResourceVersion(resource.metadata.resource_version));
  int64_t current_rv = 0;
  GRID_ASSIGN_OR_RETURN(Resource current,
                        GetAt(resource.kind(), resource.metadata.name, &current_rv));
  if (current_rv != rv) {
    return ConflictError(current.Describe(), std::to_string(rv), std::to_string(current_rv));
  }
  GRID_ASSIGN_OR_RETURN(Resource next, PrepareUpdate(current, resource));
  if (StoredValue(next) == StoredValue(current)) return current;
  return CompareAndPut(next, rv);
}

Result<Resource> ResourceStore::UpdateStatus(Kind kind, const std::string& name,
                                             const ResourceStatus& status,
                                             const std::string& resource_version) {
  GRID_ASSIGN_OR_RETURN(const int64_t rv, ParseResourceVersion(resource_version));
  int64_t current_rv = 0;
  GRID_ASSIGN_OR_RETURN(Resource current, GetAt(kind, name, &current_rv));
  if (current_rv != rv) {
    return ConflictError(current.Describe(), std::to_string(rv), std::to_string(current_rv));
  }
  GRID_ASSIGN_OR_RETURN(Resource next, PrepareStatusUpdate(current, status));
  if (StoredValue(next) == StoredValue(current)) return current;
  return CompareAndPut(next, rv);
}

Status ResourceStore::Delete(Kind kind, const std::string& name,
                             const std::string& resource_version) {
  GRID_RETURN_IF_ERROR(CheckName(name));
  const std::string key = Key(kind, name);
  if (resource_version.empty() && !options_.write_fence) {
    GRID_ASSIGN_OR_RETURN(auto resp, client_->Delete(key));
    if (resp.deleted() == 0) return NotFound(Describe(kind, name) + " not found");
    return Status::Ok();
  }
  if (resource_version.empty()) {
    auto txn = client::TxnBuilder().Then(client::OpDelete(key));
    GRID_ASSIGN_OR_RETURN(auto resp, client_->Txn(Fenced(txn.request())));
    if (!resp.succeeded()) return FenceError(Describe(kind, name));
    if (resp.responses(0).response_delete_range().deleted() == 0) {
      return NotFound(Describe(kind, name) + " not found");
    }
    return Status::Ok();
  }
  GRID_ASSIGN_OR_RETURN(const int64_t rv, ParseResourceVersion(resource_version));
  auto txn = client::TxnBuilder()
                 .If(client::CompareModRevision(key, etcdserverpb::Compare::EQUAL, rv))
                 .Then(client::OpDelete(key))
                 .Else(client::OpGet(key, KeysOnly()));
  GRID_ASSIGN_OR_RETURN(auto resp, client_->Txn(Fenced(txn.request())));
  if (resp.succeeded()) return Status::Ok();
  const auto& range = resp.responses(0).response_range();
  if (range.kvs_size() == 0) return NotFound(Describe(kind, name) + " not found");
  if (range.kvs(0).mod_revision() == rv) return FenceError(Describe(kind, name));
  return ConflictError(Describe(kind, name), resource_version,
                       std::to_string(range.kvs(0).mod_revision()));
}

Result<std::unique_ptr<client::Watcher>> ResourceStore::Watch(Kind kind, int64_t start_revision,
                                                              ResourceWatchCallback callback) {
  const std::string prefix = KindPrefix(kind);
  client::WatchOptions options;
  options.prefix = true;
  options.start_revision = start_revision;
  options.prev_kv = true;
  auto on_update = [kind, prefix, callback = std::move(callback)](const client::WatchUpdate& u) {
    ResourceWatchUpdate out;
    out.status = u.status;
    for (const auto& e : u.events) {
      ResourceEvent event;
      event.revision = e.kv().mod_revision();
      if (e.type() == mvccpb::Event::DELETE) {
        event.type = EventType::kDeleted;
        if (e.has_prev_kv()) {
          auto r = DecodeStored(e.prev_kv().value(), e.prev_kv().mod_revision());
          if (r.ok()) event.resource = std::move(r).value();
        }
        if (event.resource.metadata.name.empty()) {
          event.resource.spec = kind == Kind::kKVCluster ? Spec(KVClusterSpec{})
                                                         : Spec(RouterFleetSpec{});
          event.resource.metadata.name = e.kv().key().substr(prefix.size());
        }
      } else {
        event.type = e.kv().create_revision() == e.kv().mod_revision() ? EventType::kAdded
                                                                        : EventType::kModified;
        auto r = DecodeStored(e.kv().value(), e.kv().mod_revision());
        if (!r.ok()) {
          if (out.status.ok()) out.status = r.status().WithContext(e.kv().key());
          continue;
        }
        event.resource = std::move(r).value();
      }
      out.events.push_back(std::move(event));
    }
    callback(out);
  };
  return client_->Watch(prefix, options, std::move(on_update));
}

}  // namespace grid::mas
