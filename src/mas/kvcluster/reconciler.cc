#include "mas/kvcluster/reconciler.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "mas/kvcluster/restore_step.h"

namespace grid::mas::kvcluster {
namespace {

constexpr char kKeyPrefix[] = "KVCluster/";

class ResourceStoreAccess final : public KVClusterStore {
 public:
  explicit ResourceStoreAccess(ResourceStore* store) : store_(store) {}
  Result<Resource> Get(const std::string& name) override {
    return store_->Get(Kind::kKVCluster, name);
  }
  Result<Resource> UpdateStatus(const std::string& name, const ResourceStatus& status,
                                const std::string& resource_version) override {
    return store_->UpdateStatus(Kind::kKVCluster, name, status, resource_version);
  }

 private:
  ResourceStore* const store_;
};

bool MemberDataLost(const std::string& dir) {
  std::error_code ec;
  return !std::filesystem::exists(std::filesystem::path(dir) / kMemberMarkerFile, ec) || ec;
}

// Before a start: an empty (or missing) data dir gets the marker; a dir with data keeps what
// it has (a dir with data but no marker is a lost member's, which the plan replaces).
Status MarkFreshDataDir(const std::string& dir, const std::string& member) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IOError(dir + ": " + ec.message());
  if (!fs::is_empty(dir, ec) || ec) return Status::Ok();
  const fs::path marker = fs::path(dir) / kMemberMarkerFile;
  std::ofstream out(marker, std::ios::trunc);
  out << member << "\n";
  out.close();
  if (!out) return IOError(marker.string() + ": cannot write");
  return Status::Ok();
}

InstanceState FromRuntime(runtime::InstanceState s) {
  switch (s) {
    case runtime::InstanceState::kRunning: return InstanceState::kRunning;
    case runtime::InstanceState::kBackoff: return InstanceState::kBackoff;
    case runtime::InstanceState::kStopped: return InstanceState::kStopped;
    case runtime::InstanceState::kFailed: return InstanceState::kFailed;
  }
  return InstanceState::kMissing;
}

std::string Url(const std::string& host, int port) { return fmt::format("http://{}:{}", host, port); }

const char* PhaseLabel(Phase phase) { return phase == Phase::kNone ? "None" : PhaseName(phase); }

bool Executes(const Step& step) {
  return step.kind != StepKind::kNothing && step.kind != StepKind::kWaitCatchUp;
}

}  // namespace

std::unique_ptr<KVClusterStore> StoreAccess(ResourceStore* store) {
  return std::make_unique<ResourceStoreAccess>(store);
}

std::string InstanceName(const std::string& cluster, const std::string& member) {
  return "kv/" + cluster + "/" + member;
}

KVClusterReconciler::KVClusterReconciler(ResourceStore* store, runtime::Runtime* runtime,
                                         ClusterApiFactory apis, KVClusterOptions options)
    : KVClusterReconciler(StoreAccess(store), runtime, std::move(apis), std::move(options)) {}

KVClusterReconciler::KVClusterReconciler(std::unique_ptr<KVClusterStore> store,
                                         runtime::Runtime* runtime, ClusterApiFactory apis,
                                         KVClusterOptions options)
    : store_(std::move(store)),
      runtime_(runtime),
      apis_(std::move(apis)),
      options_([&] {
        if (!options.now) options.now = [] { return std::chrono::system_clock::now(); };
        if (!options.data_dir_empty) options.data_dir_empty = MemberDataLost;
        if (!options.restore_io) options.restore_io = LocalRestoreIo();
        if (!options.restore_binaries) {
          options.restore_binaries = [](const std::string&, const std::string&) {
            return backup::RestoreBinaries{};
          };
        }
        return std::move(options);
      }()) {}

runtime::InstanceSpec KVClusterReconciler::MemberInstance(const Resource& resource,
                                                          const MemberStatus& member,
                                                          const std::string& version,
                                                          const std::string& initial_cluster,
                                                          const std::string& cluster_state,
                                                          const std::string& restore_token) const {
  const auto& spec = std::get<KVClusterSpec>(resource.spec);
  runtime::InstanceSpec is;
  is.name = InstanceName(resource.metadata.name, member.name);
  is.engine = spec.engine.empty() ? kEngineGridkv : spec.engine;
  is.version = version;
  is.restart = runtime::RestartPolicy::kInPlace;
  const std::string token = !restore_token.empty()      ? restore_token
                            : resource.metadata.uid.empty() ? resource.metadata.name
                                : resource.metadata.name + "-" + resource.metadata.uid.substr(0, 8);
  is.args = {"--name", member.name,
             "--data-dir", "{data_dir}",
             "--listen-client-urls", member.client_url,
             "--advertise-client-urls", member.client_url,
             "--listen-peer-urls", member.peer_url,
             "--initial-advertise-peer-urls", member.peer_url,
             "--initial-cluster", initial_cluster,
             "--initial-cluster-state", cluster_state,
             "--initial-cluster-token", token,
             "--quota-backend-bytes",
             std::to_string(spec.quota_backend_bytes.value_or(kDefaultQuotaBackendBytes))};
  if (!member.zone.empty()) is.labels[kZoneLabel] = member.zone;
  return is;
}

std::string KVClusterReconciler::InitialCluster(const ResourceStatus& status,
                                                const Observed& observed,
                                                const std::string& joining) {
  std::string out;
  auto add = [&](const std::string& name, const std::string& url) {
    if (!out.empty()) out += ",";
    out += name + "=" + url;
  };
  if (!observed.member_list_ok || joining.empty()) {
    for (const MemberStatus& m : status.members) add(m.name, m.peer_url);
    return out;
  }
  for (const StoreMember& sm : observed.store_members) {
    if (sm.peer_urls.empty()) continue;
    std::string name = sm.name;
    for (const MemberStatus& m : status.members) {
      if (m.peer_url == sm.peer_urls.front()) name = m.name;
    }
    if (name.empty()) name = MemberIdHex(sm.id);
    add(name, sm.peer_urls.front());
  }
  return out;
}

Observed KVClusterReconciler::Observe(const Resource& resource, ClusterApi* api,
                                      TimePoint now) const {
  Observed o;
  o.cluster = resource.metadata.name;
  o.generation = resource.metadata.generation;
  const ResourceStatus& status = resource.status;
  std::vector<uint64_t> reported_leaders;
  std::map<uint64_t, uint64_t> applied_by_id;
  for (const MemberStatus& m : status.members) {
    MemberObservation mo;
    mo.name = m.name;
    const std::string iname = InstanceName(o.cluster, m.name);
    if (auto inst = runtime_->Get(iname); inst.ok()) {
      mo.instance = FromRuntime(inst->state);
      mo.instance_version = inst->spec.version;
      mo.restarts = inst->restarts;
    }
    mo.data_empty = options_.data_dir_empty(runtime_->DataDir(iname));
    mo.log_path = runtime_->LogPath(iname);
    if (api != nullptr && !m.client_url.empty()) {
      if (auto st = api->GetStatus(m.client_url); st.ok()) {
        mo.reachable = true;
        mo.applied_index = st->applied_index;
        applied_by_id[st->member_id] = st->applied_index;
        if (st->leader_id != 0) reported_leaders.push_back(st->leader_id);
      }
    }
    o.members.push_back(std::move(mo));
  }
  if (api != nullptr) {
    if (auto list = api->MemberList(); list.ok()) {
      o.member_list_ok = true;
      for (const MemberInfo& mi : *list) {
        o.store_members.push_back({mi.id, mi.name, mi.learner, mi.peer_urls});
      }
    }
  }
  // The leader most members report, and its applied index as it reported it.
  std::map<uint64_t, int> votes;
  for (uint64_t id : reported_leaders) ++votes[id];
  int best = 0;
  for (const auto& [id, n] : votes) {
    if (n > best) o.leader_id = id, best = n;
  }
  if (auto it = applied_by_id.find(o.leader_id); it != applied_by_id.end()) {
    o.leader_applied_index = it->second;
  } else {
    o.leader_id = 0;  // a leader we cannot read cannot gate anything
  }

  // Down and quorum-lost clocks, from the status so that they survive a restart: a member's
  // downSince is set once and cleared when it runs and answers; quorum has been lost since
  // the Available condition turned False.
  for (size_t i = 0; i < o.members.size(); ++i) {
    MemberObservation& mo = o.members[i];
    if (mo.instance == InstanceState::kRunning && mo.reachable) continue;
    mo.down_since = ParseTimestamp(status.members[i].down_since).value_or(now);
  }
  if (!CountQuorum(status, o).ok()) {
    const Condition* available = FindCondition(status, kCondAvailable);
    std::optional<TimePoint> since;
    if (available != nullptr && available->status == ConditionStatus::kFalse) {
      since = ParseTimestamp(available->last_transition_time);
    }
    o.quorum_lost_since = since.value_or(now);
  }
  return o;
}

Status KVClusterReconciler::Execute(const Resource& resource, const Step& step,
                                    const Observed& observed, ClusterApi* api,
                                    ResourceStatus* next) {
  const std::string& cluster = resource.metadata.name;
  auto member = [&](const std::string& name) -> MemberStatus* {
    for (MemberStatus& m : next->members) {
      if (m.name == name) return &m;
    }
    return nullptr;
  };
  auto need_api = [&]() -> Status {
    return api == nullptr ? Unavailable("no client URL of " + resource.Describe() + " answers")
                          : Status::Ok();
  };
  const auto& spec = std::get<KVClusterSpec>(resource.spec);
  switch (step.kind) {
    case StepKind::kNothing:
    case StepKind::kWaitCatchUp:
      return Status::Ok();
    case StepKind::kPlanMembers: {
      std::vector<MemberStatus> planned;
      for (size_t k = 0; k < step.members.size(); ++k) {
        GRID_ASSIGN_OR_RETURN(int client_port, runtime_->AllocatePort());
        GRID_ASSIGN_OR_RETURN(int peer_port, runtime_->AllocatePort());
        MemberStatus m;
        m.name = step.members[k];
        m.zone = k < step.zones.size() ? step.zones[k] : "";
        m.client_url = Url(runtime_->Host(), client_port);
        m.peer_url = Url(runtime_->Host(), peer_port);
        m.version = spec.version;
        planned.push_back(std::move(m));
      }
      for (MemberStatus& m : planned) next->members.push_back(std::move(m));
      return Status::Ok();
    }
    case StepKind::kProvisionMembers: {
      const std::string initial = InitialCluster(*next, observed, "");
      Status first;
      for (const MemberStatus& m : next->members) {
        Status s = MarkFreshDataDir(runtime_->DataDir(InstanceName(cluster, m.name)), m.name);
        if (s.ok()) s = runtime_->Start(MemberInstance(resource, m, step.version, initial, "new"));
        if (!s.ok() && first.ok()) first = s.WithContext(m.name);
      }
      return first;
    }
    case StepKind::kAddLearner: {
      GRID_RETURN_IF_ERROR(need_api());
      MemberStatus* m = member(step.member);
      if (m == nullptr) return Internal("no planned member " + step.member);
      GRID_ASSIGN_OR_RETURN(uint64_t id, api->MemberAdd(m->peer_url, /*is_learner=*/true));
      m->id = MemberIdHex(id);
      return Status::Ok();
    }
    case StepKind::kStartMember: {
      MemberStatus* m = member(step.member);
      if (m == nullptr) return Internal("no planned member " + step.member);
      m->version = step.version;
      GRID_RETURN_IF_ERROR(
          MarkFreshDataDir(runtime_->DataDir(InstanceName(cluster, m->name)), m->name));
      return runtime_->Start(MemberInstance(resource, *m, step.version,
                                            InitialCluster(*next, observed, m->name),
                                            step.cluster_state));
    }
    case StepKind::kPromoteLearner:
      GRID_RETURN_IF_ERROR(need_api());
      return api->MemberPromote(step.member_id);
    case StepKind::kMoveLeader:
      GRID_RETURN_IF_ERROR(need_api());
      return api->MoveLeader(step.member_id);
    case StepKind::kRemoveMember: {
      GRID_RETURN_IF_ERROR(need_api());
      GRID_RETURN_IF_ERROR(api->MemberRemove(step.member_id));
      if (MemberStatus* m = member(step.member); m != nullptr && m->id == MemberIdHex(step.member_id)) {
        m->id.clear();
      }
      return Status::Ok();
    }
    case StepKind::kStopMember:
      return runtime_->Stop(InstanceName(cluster, step.member), options_.stop_grace);
    case StepKind::kRestore:
      return Internal("a restore stage runs through RunRestore");
    case StepKind::kDeleteInstance: {
      GRID_RETURN_IF_ERROR(runtime_->Remove(InstanceName(cluster, step.member), step.wipe));
      if (step.forget) {
        std::erase_if(next->members, [&](const MemberStatus& m) { return m.name == step.member; });
      }
      return Status::Ok();
    }
  }
  return Internal("unknown step");
}

Status KVClusterReconciler::RunRestore(const Resource& resource, const KVClusterSpec& spec,
                                       Step* step, ResourceStatus* next) {
  auto parsed = OperationFromJson(resource.status.operation);
  const Operation current = parsed.ok() && *parsed ? **parsed : Operation{};
  RestoreRunContext ctx;
  ctx.resource = &resource;
  ctx.spec = &spec;
  ctx.runtime = runtime_;
  ctx.io = options_.restore_io.get();
  ctx.stop_grace = options_.stop_grace;
  ctx.scratch_dir = options_.restore_scratch_dir;
  ctx.binaries = options_.restore_binaries(spec.engine.empty() ? kEngineGridkv : spec.engine,
                                           spec.version);
  ctx.member_instance = [&](const MemberStatus& m, const std::string& initial,
                            const std::string& token) {
    return MemberInstance(resource, m, spec.version, initial, "new", token);
  };
  const Status result = RunRestoreStage(ctx, current, step, next);
  if (!result.ok()) FailRestore(step, step->operation ? *step->operation : current, result);
  return result;
}

void KVClusterReconciler::ObserveDeleted(const Resource& last) { RememberWipe(last, true); }

void KVClusterReconciler::RememberWipe(const Resource& r, bool deleted) {
  auto it = r.metadata.labels.find(kWipeOnDeleteLabel);
  const bool wipe = it != r.metadata.labels.end() && it->second == "true";
  int64_t version = 0;
  const std::string& rv = r.metadata.resource_version;
  std::from_chars(rv.data(), rv.data() + rv.size(), version);  // "" or bad: 0, the oldest
  std::lock_guard<std::mutex> lock(mu_);
  Memory& m = memory_[r.metadata.name];
  if (version < m.wipe_read_at_version) return;
  m.wipe_on_delete = wipe;
  m.wipe_read_at_version = version;
  m.deleted_observed = deleted;  // a newer live version: a new resource of that name
  m.gone_since.reset();
}

Result<controller::ReconcileResult> KVClusterReconciler::Destroy(const std::string& name) {
  const std::vector<runtime::InstanceStatus> instances = runtime_->List("kv/" + name + "/");
  bool wipe = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Memory& m = memory_[name];
    if (!m.deleted_observed && !instances.empty()) {
      // The delete was read before its watch event: only the event says whether the deleted
      // version asked for the wipe.
      const TimePoint now = options_.now();
      if (!m.gone_since) m.gone_since = now;
      if (now - *m.gone_since < kDeletedEventWait) {
        return controller::ReconcileResult{.requeue_after = kDeletedEventPoll};
      }
      spdlog::warn("KVCluster {}: no DELETED event within {} s of finding it gone; removing its "
                   "instances with the last read version's wipe-on-delete ({})",
                   name, std::chrono::duration_cast<std::chrono::seconds>(kDeletedEventWait).count(),
                   m.wipe_on_delete ? "wipe" : "keep data");
    }
    wipe = m.wipe_on_delete;
  }
  Status first;
  for (const runtime::InstanceStatus& inst : instances) {
    Status s = runtime_->Remove(inst.spec.name, wipe);
    if (!s.ok() && first.ok()) first = s.WithContext(inst.spec.name);
  }
  GRID_RETURN_IF_ERROR(first);
  std::lock_guard<std::mutex> lock(mu_);
  memory_.erase(name);
  return controller::ReconcileResult{};
}

Result<controller::ReconcileResult> KVClusterReconciler::Reconcile(const std::string& key) {
  const std::string name =
      key.rfind(kKeyPrefix, 0) == 0 ? key.substr(sizeof(kKeyPrefix) - 1) : key;
  auto got = store_->Get(name);
  if (!got.ok() && got.status().code() == Code::kNotFound) return Destroy(name);
  GRID_RETURN_IF_ERROR(got.status());
  const Resource& resource = *got;
  if (resource.kind() != Kind::kKVCluster) {
    return InvalidArgument(resource.Describe() + " is not a KVCluster");
  }
  KVClusterSpec spec = std::get<KVClusterSpec>(resource.spec);
  Defaults(&spec);
  RememberWipe(resource, false);

  const TimePoint now = options_.now();
  const std::string now_text = FormatTimestamp(now);
  std::unique_ptr<ClusterApi> api;
  std::vector<std::string> endpoints;
  for (const MemberStatus& m : resource.status.members) endpoints.push_back(m.client_url);
  if (!endpoints.empty()) {
    if (auto made = apis_(endpoints); made.ok()) api = std::move(*made);
  }

  const Observed observed = Observe(resource, api.get(), now);
  std::optional<Step> restore = DecideRestore(spec, resource.status, observed, now, options_.plan);
  Step step = restore ? std::move(*restore) : Decide(spec, resource.status, observed, now, options_.plan);

  ResourceStatus next = resource.status;
  Status result;
  if (step.kind == StepKind::kRestore) {
    result = RunRestore(resource, spec, &step, &next);
  } else {
    result = Execute(resource, step, observed, api.get(), &next);
  }
  if (Executes(step)) {
    spdlog::info("KVCluster {}: {} -> {}", name, step.Describe(),
                 result.ok() ? std::string("ok") : "error " + result.ToString());
  }

  // Members as observed (before the step).
  for (size_t i = 0; i < resource.status.members.size(); ++i) {
    MemberStatus* m = nullptr;
    for (MemberStatus& n : next.members) {
      if (n.name == resource.status.members[i].name) m = &n;
    }
    if (m == nullptr) continue;
    const MemberObservation& mo = observed.members[i];
    if (const StoreMember* sm = FindStoreMember(observed, *m)) m->id = MemberIdHex(sm->id);
    if (!mo.instance_version.empty()) m->version = mo.instance_version;
    m->healthy = MemberHealthy(*m, mo, observed, options_.plan.catch_up_lag_entries);
    // A deleted incarnation's down time does not count against the next one.
    const bool deleted = step.kind == StepKind::kDeleteInstance && step.member == m->name;
    m->down_since = mo.down_since && !deleted ? FormatTimestamp(*mo.down_since) : "";
  }
  next.phase = step.phase;
  if (!step.defer_generation) next.observed_generation = resource.metadata.generation;
  for (const ConditionUpdate& c : step.conditions) {
    SetCondition(&next, {c.type, c.status, c.reason, c.message.substr(0, kMaxConditionMessageBytes), ""},
                 now_text);
  }
  std::optional<Operation> op = step.operation;
  if (op && Executes(step)) {
    std::string outcome = result.ok() ? "ok" : result.ToString();
    if (outcome.size() > kMaxStepResultBytes) outcome.resize(kMaxStepResultBytes);
    // A failure that repeats the last recorded one is not recorded again: the status stays as
    // it was, so its write is skipped, no watch event queues the object again at once, and the
    // runner's back-off paces the retries (otherwise a step failing at once, e.g. a missing
    // binary, rewrites the status hundreds of times a second).
    const bool repeated_failure = !result.ok() && !op->steps.empty() &&
                                  op->steps.back().step == step.Describe() &&
                                  op->steps.back().result == outcome;
    if (!repeated_failure) RecordStep(&*op, step.Describe(), now_text, std::move(outcome));
  }
  next.operation = op ? OperationToJson(*op) : nlohmann::json(nullptr);
  // The operation that ran before this pass moves to the history when it ended.
  auto prev = OperationFromJson(resource.status.operation);
  std::optional<OperationResult> ended;
  if (prev.ok() && *prev) {
    ended = EndedAs(*prev, op, next.phase);
    if (ended) {
      Operation done = **prev;
      // A step taken as the operation ended belongs to it (none follows to record it).
      if (!op && Executes(step)) {
        RecordStep(&done, step.Describe(), now_text, result.ok() ? "ok" : result.ToString());
      }
      AppendHistory(&next, ToHistory(done, *ended, now_text));
    }
  }

  auto written = store_->UpdateStatus(name, next, resource.metadata.resource_version);
  if (!written.ok()) {
    if (IsConflict(written.status())) return controller::ReconcileResult{.requeue = true};
    return written.status();
  }
  if (ended) {
    spdlog::info("KVCluster {}: operation {} {}", name, (*prev)->name, OperationResultName(*ended));
  }
  if (next.phase != resource.status.phase) {
    spdlog::info("KVCluster {}: phase {} -> {} ({})", name, PhaseLabel(resource.status.phase),
                 PhaseLabel(next.phase), step.why);
  }
  if (!result.ok()) return result.WithContext(resource.Describe() + ": " + step.Describe());
  return controller::ReconcileResult{.requeue_after = step.requeue_after};
}

}  // namespace grid::mas::kvcluster
