#include "mas/fleet/reconciler.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <spdlog/spdlog.h>

#include "mas/resource/store.h"

namespace grid::mas::fleet {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events` or `deadline`; false on timeout or error.
bool WaitFd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return (p.revents & (events | POLLHUP)) != 0;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool ProbeOnce(const std::string& host, int port, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return false;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS || !WaitFd(fd, POLLOUT, deadline)) return false;
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return false;
  }
  const std::string request = "GET /readyz HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                              "\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFd(fd, POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  // The status line: "HTTP/1.x 200 ...".
  std::string head;
  constexpr size_t kMaxStatusLineBytes = 256;
  while (head.find("\r\n") == std::string::npos && head.size() < kMaxStatusLineBytes) {
    char buf[kMaxStatusLineBytes];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      head.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFd(fd, POLLIN, deadline)) return false;
    } else {
      break;
    }
  }
  return head.rfind("HTTP/1.", 0) == 0 && head.size() >= 12 && head.compare(8, 4, " 200") == 0;
}

std::string FleetName(const std::string& key) {
  const std::string kind = std::string(KindName(Kind::kRouterFleet)) + "/";
  return key.rfind(kind, 0) == 0 ? key.substr(kind.size()) : key;
}

// The admin port of the replica named `name`, 0 when it is not a recorded replica.
int AdminPortOf(const std::string& fleet, const FleetState& state, const std::string& name) {
  if (name == FrontName(fleet)) return state.front_admin_port;
  for (const Replica& r : state.replicas) {
    if (ReplicaName(fleet, r.color, r.index) == name) return r.admin_port;
  }
  return 0;
}

const char* PhaseLabel(Phase phase) { return phase == Phase::kNone ? "None" : PhaseName(phase); }

RouterFleetOptions WithStoreResolver(RouterFleetOptions options, ResourceStore* store) {
  if (!options.resolve_store_cluster) {
    options.resolve_store_cluster = ResourceStoreClusterResolver(store);
  }
  return options;
}

// Fills desired->spec.store for spec.storeCluster (or the default store when the spec names
// none), or desired->source_error naming the cluster.
void ResolveStore(const RouterFleetOptions& options, Desired* desired) {
  const std::string& cluster = desired->spec.store_cluster;
  if (cluster.empty()) {
    if (desired->spec.store.empty()) desired->spec.store = options.default_store;
    return;
  }
  desired->spec.store.clear();
  const std::string name = "KVCluster \"" + cluster + "\" (spec.storeCluster)";
  if (!options.resolve_store_cluster) {
    desired->source_error = name + ": the controller cannot resolve KVClusters";
    return;
  }
  Result<std::vector<std::string>> endpoints = options.resolve_store_cluster(cluster);
  if (!endpoints.ok()) {
    desired->source_error = name + ": " + endpoints.status().ToString();
  } else if (endpoints->empty()) {
    desired->source_error = name + " has no members with a client URL";
  } else {
    desired->spec.store = std::move(endpoints).value();
  }
  if (desired->source_error.size() > kMaxConditionMessageBytes) {
    desired->source_error.resize(kMaxConditionMessageBytes);
  }
}

}  // namespace

std::vector<std::string> StoreClusterEndpoints(const ResourceStatus& status) {
  std::vector<std::string> out;
  for (const MemberStatus& m : status.members) {
    std::string url = m.client_url;
    if (const size_t scheme = url.find("://"); scheme != std::string::npos) {
      url.erase(0, scheme + 3);
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (!url.empty()) out.push_back(std::move(url));
  }
  return out;
}

StoreClusterResolver ResourceStoreClusterResolver(ResourceStore* store) {
  return [store](const std::string& cluster) -> Result<std::vector<std::string>> {
    GRID_ASSIGN_OR_RETURN(Resource r, store->Get(Kind::kKVCluster, cluster));
    return StoreClusterEndpoints(r.status);
  };
}

std::optional<OperationResult> EndedAs(const std::string& prev, const std::string& next,
                                       Phase next_phase) {
  if (prev.empty() || next == prev) return std::nullopt;
  if (prev == kOpBlueGreen && next == kOpRollback) return OperationResult::kRolledBack;
  if (!next.empty()) return OperationResult::kSuperseded;
  return next_phase == Phase::kFailed ? OperationResult::kFailed : OperationResult::kSucceeded;
}

OperationRecord ToHistory(const std::string& operation, const std::vector<LogEntry>& log,
                          OperationResult result, const std::string& finished) {
  OperationRecord rec;
  rec.name = operation;
  rec.result = result;
  rec.finished = finished;
  // The operation's entries: the run of `log` up to its last one that names it, plus that
  // last entry (the step that ended it).
  size_t begin = log.empty() ? 0 : log.size() - 1;
  const std::string prefix = operation + "/";
  while (begin > 0 && log[begin - 1].step.rfind(prefix, 0) == 0) --begin;
  for (size_t i = begin; i < log.size(); ++i) {
    rec.steps.push_back({log[i].step, log[i].time, log[i].result});
  }
  rec.started = rec.steps.empty() ? finished : rec.steps.front().time;
  return rec;
}

bool HttpReadinessProbe::Ready(const std::string& host, int admin_port) {
  return admin_port > 0 && ProbeOnce(host, admin_port, timeout_);
}

Result<Resource> ResourceStoreFleetStore::Get(const std::string& name) {
  return store_->Get(Kind::kRouterFleet, name);
}

Result<Resource> ResourceStoreFleetStore::UpdateStatus(const std::string& name,
                                                       const ResourceStatus& status,
                                                       const std::string& resource_version) {
  return store_->UpdateStatus(Kind::kRouterFleet, name, status, resource_version);
}

RouterFleetReconciler::RouterFleetReconciler(ResourceStore* store, runtime::Runtime* runtime,
                                             ReadinessProbe* probe, RouterFleetOptions options)
    : owned_store_(std::make_unique<ResourceStoreFleetStore>(store)),
      store_(owned_store_.get()),
      runtime_(runtime),
      probe_(probe),
      options_(WithStoreResolver(std::move(options), store)) {}

RouterFleetReconciler::RouterFleetReconciler(FleetStore* store, runtime::Runtime* runtime,
                                             ReadinessProbe* probe, RouterFleetOptions options)
    : store_(store), runtime_(runtime), probe_(probe), options_(std::move(options)) {}

Result<controller::ReconcileResult> RouterFleetReconciler::Reconcile(const std::string& key) {
  const std::string name = FleetName(key);
  Result<Resource> got = store_->Get(name);
  if (!got.ok()) {
    if (got.status().code() == Code::kNotFound) {
      GRID_RETURN_IF_ERROR(RemoveAll(name));
      return controller::ReconcileResult{};
    }
    return got.status();
  }
  Resource resource = std::move(got).value();
  if (resource.kind() != Kind::kRouterFleet) {
    return InvalidArgument(resource.Describe() + " is not a RouterFleet");
  }
  Desired desired;
  desired.name = name;
  desired.generation = resource.metadata.generation;
  desired.spec = std::get<RouterFleetSpec>(resource.spec);
  Defaults(&desired.spec);
  desired.source = TableSource(desired.spec);  // before the default store fills spec.store
  ResolveStore(options_, &desired);
  GRID_ASSIGN_OR_RETURN(FleetState state, FleetStateFromJson(resource.status.operation));

  const WallTime now = options_.now ? options_.now() : std::chrono::system_clock::now();
  Observed observed = Observe(name, state);
  observed.observed_generation = resource.status.observed_generation;
  if (const Condition* ready = FindCondition(resource.status, kConditionReady)) {
    observed.ready_reason = ready->reason;
  }
  Step step = Decide(desired, resource.status.phase, state, observed, now, options_.plan);
  if (step.action == Action::kNone) {
    controller::ReconcileResult result;
    result.requeue_after = step.requeue_after;
    return result;
  }
  const std::string time = FormatTimestamp(now);
  Status executed = Execute(&step);
  spdlog::info("RouterFleet {}: {} -> {}", name, step.reason,
               executed.ok() ? std::string("ok") : "error " + executed.ToString());
  if (!executed.ok()) {
    // Say why in the status (written only when the message changes), then back off.
    ResourceStatus status = resource.status;
    std::string message = step.reason + ": " + executed.ToString();
    if (message.size() > kMaxConditionMessageBytes) message.resize(kMaxConditionMessageBytes);
    SetCondition(&status,
                 Condition{kConditionProgressing, ConditionStatus::kFalse, "StepFailed",
                           std::move(message), ""},
                 time);
    if (Result<Resource> w = store_->UpdateStatus(name, status, resource.metadata.resource_version);
        !w.ok() && !IsConflict(w.status())) {
      return Status(executed.code(), executed.message() + " (and the status write failed: " +
                                         w.status().ToString() + ")");
    }
    return executed;
  }

  FleetState& next = step.next;
  next.log.push_back(
      LogEntry{time, next.operation.empty() ? std::string("Run") : next.operation + "/" + next.step,
               step.reason});
  if (next.log.size() > options_.max_log_entries) {
    next.log.erase(next.log.begin(),
                   next.log.end() - static_cast<std::ptrdiff_t>(options_.max_log_entries));
  }
  ResourceStatus status = resource.status;
  status.phase = step.phase;
  status.observed_generation = resource.metadata.generation;
  if (step.condition) SetCondition(&status, *step.condition, time);
  if (const Condition* c = FindCondition(status, kConditionProgressing);
      c != nullptr && c->status != ConditionStatus::kTrue) {
    SetCondition(
        &status,
        Condition{kConditionProgressing, ConditionStatus::kTrue, "StepSucceeded", step.reason, ""},
        time);
  }
  status.operation = FleetStateToJson(next);
  // The operation that ran before this step moves to the history when it ended.
  const std::optional<OperationResult> ended = EndedAs(state.operation, next.operation, step.phase);
  if (ended) AppendHistory(&status, ToHistory(state.operation, next.log, *ended, time));
  Result<Resource> written = store_->UpdateStatus(name, status, resource.metadata.resource_version);
  if (!written.ok()) {
    if (IsConflict(written.status())) return controller::ReconcileResult{.requeue = true};
    return written.status();
  }
  if (ended) {
    spdlog::info("RouterFleet {}: operation {} {}", name, state.operation,
                 OperationResultName(*ended));
  }
  if (status.phase != resource.status.phase) {
    spdlog::info("RouterFleet {}: phase {} -> {} ({})", name, PhaseLabel(resource.status.phase),
                 PhaseLabel(status.phase), step.reason);
  }
  controller::ReconcileResult result;
  result.requeue_after = step.requeue_after > Millis(0) ? step.requeue_after : kNextStepDelay;
  return result;
}

Observed RouterFleetReconciler::Observe(const std::string& name, const FleetState& state) const {
  Observed observed;
  const std::string host = runtime_->Host();
  for (const runtime::InstanceStatus& st : runtime_->List(InstancePrefix(name))) {
    ObservedInstance o;
    o.state = st.state;
    o.spec = st.spec;
    const int admin_port = AdminPortOf(name, state, st.spec.name);
    o.ready = st.state == runtime::InstanceState::kRunning && admin_port > 0 &&
              probe_->Ready(host, admin_port);
    observed.instances.emplace(st.spec.name, std::move(o));
  }
  const fs::path config = fs::path(runtime_->DataDir(FrontName(name))) / kFrontConfigFile;
  std::ifstream in(config, std::ios::binary);
  if (in) {
    std::string text(kMaxFrontConfigBytes, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    observed.front_config = std::move(text);
  }
  return observed;
}

Status RouterFleetReconciler::Execute(Step* step) {
  switch (step->action) {
    case Action::kNone:
    case Action::kUpdateState:
      return Status();
    case Action::kAllocatePorts: {
      FleetState& next = step->next;
      for (Replica& r : next.replicas) {
        if (r.port == kPortToAllocate) {
          GRID_ASSIGN_OR_RETURN(r.port, runtime_->AllocatePort());
        }
        if (r.admin_port == kPortToAllocate) {
          GRID_ASSIGN_OR_RETURN(r.admin_port, runtime_->AllocatePort());
        }
      }
      if (next.front_admin_port == kPortToAllocate) {
        GRID_ASSIGN_OR_RETURN(next.front_admin_port, runtime_->AllocatePort());
      }
      return Status();
    }
    case Action::kStart:
      return runtime_->Start(step->instance);
    case Action::kRemove:
      return runtime_->Remove(step->instance_name, /*wipe_data=*/true);
    case Action::kWriteFrontConfig:
      return WriteFrontConfig(step->instance_name, step->front_config);
  }
  return Internal("unknown action");
}

Status RouterFleetReconciler::WriteFrontConfig(const std::string& front,
                                               const std::string& config) {
  const fs::path dir = runtime_->DataDir(front);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IOError("create " + dir.string() + ": " + ec.message());
  const fs::path tmp = dir / (std::string(kFrontConfigFile) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << config;
    out.flush();
    if (!out) return IOError("write " + tmp.string());
  }
  fs::rename(tmp, dir / kFrontConfigFile, ec);
  if (ec) return IOError("rename " + tmp.string() + ": " + ec.message());
  Result<runtime::InstanceStatus> st = runtime_->Get(front);
  if (st.ok() && st->state == runtime::InstanceState::kRunning) {
    return runtime_->Reload(front);
  }
  return Status();  // not running: the process reads the file when it starts
}

Status RouterFleetReconciler::RemoveAll(const std::string& name) {
  for (const runtime::InstanceStatus& st : runtime_->List(InstancePrefix(name))) {
    GRID_RETURN_IF_ERROR(runtime_->Remove(st.spec.name, /*wipe_data=*/true));
  }
  return Status();
}

}  // namespace grid::mas::fleet
