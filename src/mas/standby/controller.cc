#include "mas/standby/controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/check.h"
#include "mas/standby/cluster_ops.h"

namespace grid::mas::standby {
namespace {

class RealMirror final : public MirrorHandle {
 public:
  explicit RealMirror(std::unique_ptr<mirror::Mirror> m) : m_(std::move(m)) {}
  mirror::MirrorStats Stats() const override { return m_->Stats(); }
  void Stop() override { m_->Stop(); }

 private:
  std::unique_ptr<mirror::Mirror> m_;
};

class StoreFleets final : public FleetStore {
 public:
  explicit StoreFleets(ResourceStore* store) : store_(store) {}
  Result<std::vector<Resource>> ListFleets() override {
    GRID_ASSIGN_OR_RETURN(ResourceList list, store_->List(Kind::kRouterFleet));
    return std::move(list.items);
  }
  Result<Resource> UpdateFleet(const Resource& fleet) override { return store_->Update(fleet); }
  Result<Resource> GetFleet(const std::string& name) override {
    return store_->Get(Kind::kRouterFleet, name);
  }

 private:
  ResourceStore* const store_;
};

std::vector<std::string> Endpoints(const ResourceStatus& status) {
  std::vector<std::string> out;
  for (const MemberStatus& m : status.members) {
    if (!m.client_url.empty()) out.push_back(m.client_url);
  }
  return out;
}

nlohmann::json Member(const nlohmann::json& j, const char* name) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(name);
  return it == j.end() ? nlohmann::json() : *it;
}

bool SamePromotion(const nlohmann::json& promotion, const PromoteRequest& request) {
  return promotion.is_object() && promotion.value("mode", "") == request.mode &&
         promotion.value("requested", "") == request.requested;
}

const std::vector<std::string> kLabels = {"cluster", "standby"};

}  // namespace

MirrorFactory RealMirrorFactory() {
  return [](const mirror::MirrorOptions& options) -> Result<std::unique_ptr<MirrorHandle>> {
    GRID_ASSIGN_OR_RETURN(auto m, mirror::Mirror::Create(options));
    m->Start();
    return std::unique_ptr<MirrorHandle>(std::make_unique<RealMirror>(std::move(m)));
  };
}

StandbyController::StandbyController(ResourceStore* store, StandbyControllerOptions options)
    : store_(store), options_(std::move(options)) {
  if (!options_.new_mirror) options_.new_mirror = RealMirrorFactory();
  if (options_.ops == nullptr) {
    owned_ops_ = std::make_unique<GrpcClusterOps>();
    options_.ops = owned_ops_.get();
  }
  if (!options_.now) options_.now = [] { return std::chrono::system_clock::now(); };
  GRID_CHECK(options_.max_mirrors >= 1 && options_.max_mirrors <= kMaxMirrors)
      << "max_mirrors must be 1.." << kMaxMirrors;
  fleets_ = std::make_unique<StoreFleets>(store_);
  if (metrics::Registry* m = options_.metrics; m != nullptr) {
    lag_revisions_ = &m->Gauge("grid_mas_mirror_lag_revisions",
                               "Primary revisions not yet on the standby.", kLabels);
    lag_seconds_ = &m->Gauge("grid_mas_mirror_lag_seconds",
                             "Age of the oldest primary revision not yet on the standby.",
                             kLabels);
    foreign_writes_ = &m->Gauge(
        "grid_mas_mirror_foreign_writes",
        "Standby key changes in the mirrored prefixes not made by the mirror (this mirror's life).",
        kLabels);
    full_copies_ = &m->Gauge("grid_mas_mirror_full_copies",
                             "Full copies made by the mirror (this mirror's life).", kLabels);
  }
}

StandbyController::~StandbyController() { Stop(); }

void StandbyController::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  auto w = store_->Watch(Kind::kKVCluster, 0, [this](const ResourceWatchUpdate&) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
    cv_.notify_all();
  });
  if (w.ok()) {
    watch_ = std::move(*w);
  } else {
    spdlog::warn("standby controller: KVCluster watch: {} (polling every {} ms)",
                 w.status().ToString(), options_.loop_interval.count());
  }
  thread_ = std::thread([this] { Loop(); });
}

void StandbyController::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  watch_.reset();
  if (thread_.joinable()) thread_.join();
  for (auto& [name, entry] : entries_) {
    StopMirror(name, &entry);
    RemoveMetrics(name, &entry);
  }
  entries_.clear();
}

void StandbyController::Loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stop_) return;
    }
    RunOnce();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.loop_interval, [this] { return stop_ || wake_; });
    wake_ = false;
    if (stop_) return;
  }
}

void StandbyController::RunOnce() {
  auto list = store_->List(Kind::kKVCluster);
  if (!list.ok()) {
    spdlog::warn("standby controller: list KVClusters: {}", list.status().ToString());
    return;
  }
  std::map<std::string, Resource> all;
  for (Resource& r : list->items) all.emplace(r.metadata.name, std::move(r));
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto found = all.find(it->first);
    if (found == all.end() || !std::get<KVClusterSpec>(found->second.spec).standby) {
      StopMirror(it->first, &it->second);
      RemoveMetrics(it->first, &it->second);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [name, cluster] : all) {
    // A status.mirror of an unexpected shape must not end the control plane.
    try {
      if (std::get<KVClusterSpec>(cluster.spec).standby) {
        Reconcile(cluster, all);
      } else if (!cluster.status.mirror.is_null()) {
        ClearStatus(cluster);
      }
    } catch (const nlohmann::json::exception& e) {
      spdlog::error("standby controller: KVCluster \"{}\": status.mirror: {}", name, e.what());
    }
  }
}

void StandbyController::StopMirror(const std::string& name, Entry* entry) {
  if (!entry->mirror) return;
  entry->mirror->Stop();
  entry->mirror.reset();
  spdlog::info("standby controller: mirror KVCluster \"{}\" -> \"{}\" stopped", name,
               entry->standby);
}

void StandbyController::Reconcile(const Resource& primary,
                                  const std::map<std::string, Resource>& all) {
  const std::string& name = primary.metadata.name;
  const StandbySpec& sb = *std::get<KVClusterSpec>(primary.spec).standby;
  const TimePoint now = options_.now();
  const std::string now_text = FormatTimestamp(now);
  Entry& e = entries_[name];
  const nlohmann::json& current = primary.status.mirror;
  if (e.published.is_null()) e.published = current;

  auto standby_it = all.find(sb.cluster);
  const Resource* standby = standby_it == all.end() ? nullptr : &standby_it->second;
  const std::vector<std::string> primary_eps = Endpoints(primary.status);
  const std::vector<std::string> standby_eps =
      standby == nullptr ? std::vector<std::string>{} : Endpoints(standby->status);
  const std::vector<std::string> prefixes = MirrorPrefixes(sb.prefixes);

  nlohmann::json promotion = Member(current, "promotion");
  std::string promoted_to = Member(current, "promotedTo").is_string()
                                ? Member(current, "promotedTo").get<std::string>()
                                : "";
  if (promoted_to != sb.cluster) promoted_to.clear();
  std::optional<bool> set_fence;
  std::optional<OperationRecord> history;
  std::optional<PromotionOp> op;
  if (nlohmann::json j = Member(current, "operation"); !j.is_null()) {
    auto parsed = PromotionOpFromJson(j);
    if (parsed.ok()) {
      op = std::move(*parsed);
    } else {
      spdlog::error("standby controller: KVCluster \"{}\": {} (the operation is dropped)", name,
                    parsed.status().ToString());
    }
  }
  if (!op && sb.promote && !SamePromotion(promotion, *sb.promote)) {
    if (!promoted_to.empty()) {
      promotion = {{"mode", sb.promote->mode},
                   {"requested", sb.promote->requested},
                   {"result", "Failed"},
                   {"finished", now_text},
                   {"message", "KVCluster \"" + name + "\" was already promoted to KVCluster \"" +
                                   sb.cluster + "\"; remove spec.standby, or mirror back from \"" +
                                   sb.cluster + "\", first"}};
    } else {
      op = NewPromotion(*sb.promote, now_text);
      spdlog::info("standby controller: KVCluster \"{}\": {} to \"{}\" requested ({})", name,
                   op->name, sb.cluster, op->requested);
    }
  }

  // Whether the mirror runs.
  const bool past_catch_up =
      op && (op->step == kStepPromote || op->step == kStepRepoint || op->step == kStepDone);
  std::string waiting;
  if (standby == nullptr) {
    waiting = "standby KVCluster \"" + sb.cluster + "\" not found";
  } else if (primary_eps.empty()) {
    waiting = "KVCluster \"" + name + "\" has no members in its status yet";
  } else if (standby_eps.empty()) {
    waiting = "standby KVCluster \"" + sb.cluster + "\" has no members in its status yet";
  }
  const bool run = waiting.empty() && promoted_to.empty() && !past_catch_up;
  if (e.mirror && (!run || e.standby != sb.cluster || e.prefixes != prefixes ||
                   e.primary_endpoints != primary_eps || e.standby_endpoints != standby_eps)) {
    StopMirror(name, &e);
    RemoveMetrics(name, &e);
  }
  if (run && !e.mirror) {
    size_t running = 0;
    for (const auto& [n, other] : entries_) running += other.mirror ? 1 : 0;
    bool ready = true;
    if (running >= options_.max_mirrors) {
      waiting = std::to_string(options_.max_mirrors) + " mirrors run already (the limit); this one waits";
      ready = false;
    }
    if (ready && Member(standby->status.mirror, "writeFenced") == true) {
      // A fenced former primary becomes a standby: it must take the mirror's writes.
      Status s = options_.ops->DisarmNoSpace(standby_eps);
      if (s.ok()) s = SetWriteFenced(sb.cluster, false);
      if (!s.ok()) {
        waiting = "disarming the NOSPACE alarm of KVCluster \"" + sb.cluster + "\": " + s.message();
        ready = false;
      }
    }
    if (ready) {
      mirror::MirrorOptions mo;
      mo.primary_endpoints = primary_eps;
      mo.standby_endpoints = standby_eps;
      mo.prefixes = prefixes;
      mo.own_prefix = OwnPrefix(name);
      auto m = options_.new_mirror(mo);
      if (m.ok()) {
        e.mirror = std::move(*m);
        e.standby = sb.cluster;
        e.prefixes = prefixes;
        e.primary_endpoints = primary_eps;
        e.standby_endpoints = standby_eps;
        spdlog::info("standby controller: mirror KVCluster \"{}\" -> \"{}\" started", name,
                     sb.cluster);
      } else {
        waiting = "mirror KVCluster \"" + name + "\" -> \"" + sb.cluster +
                  "\": " + m.status().message();
      }
    }
  }

  // The promotion's step.
  int64_t last_primary_revision = Member(current, "primaryRevision").is_number_integer()
                                      ? Member(current, "primaryRevision").get<int64_t>()
                                      : 0;
  bool advanced = false;
  if (op) {
    PromotionContext ctx;
    ctx.primary = name;
    ctx.standby = sb.cluster;
    ctx.primary_endpoints = primary_eps;
    ctx.standby_endpoints = standby_eps;
    ctx.progress_key = OwnPrefix(name) + "/progress";
    ctx.now = now;
    if (e.mirror) {
      const mirror::MirrorStats s = e.mirror->Stats();
      ctx.mirror_applied = s.lag.applied_revision;
      last_primary_revision = std::max(last_primary_revision, s.lag.primary_revision);
    }
    ctx.last_primary_revision = last_primary_revision;
    PromotionEffects fx;
    fx.ops = options_.ops;
    fx.fleets = fleets_.get();
    fx.stop_mirror = [this, &name, &e] {
      StopMirror(name, &e);
      RemoveMetrics(name, &e);
    };
    StepResult r = RunPromotionStep(ctx, fx, &*op);
    if (r.write_fenced) set_fence = r.write_fenced;
    advanced = r.outcome != StepResult::Outcome::kWaiting;
    if (r.outcome == StepResult::Outcome::kFinished) {
      promotion = r.promotion;
      const bool ok = promotion.value("result", "") == "Succeeded";
      if (ok) promoted_to = sb.cluster;
      history = PromotionHistory(*op, ok, now_text);
      spdlog::info("standby controller: KVCluster \"{}\": {} {}: {}", name, op->name,
                   promotion.value("result", ""), promotion.dump());
      op.reset();
    }
  }

  MirrorView view;
  view.standby = sb.cluster;
  view.prefixes = sb.prefixes;
  if (e.mirror) view.stats = e.mirror->Stats();
  view.waiting_reason = waiting;
  view.promoted = !promoted_to.empty();
  view.promoted_to = promoted_to;
  view.write_fenced = set_fence.value_or(Member(current, "writeFenced") == true);
  view.operation = op ? ToJson(*op) : nlohmann::json();
  view.promotion = promotion;
  view.last_primary_revision = last_primary_revision;
  const auto steady_now = std::chrono::steady_clock::now();
  if (view.stats && view.stats->foreign_writes != e.foreign_writes) {
    e.foreign_writes = view.stats->foreign_writes;
    e.foreign_changed_at = steady_now;
  }
  const bool foreign_recent = e.foreign_writes > 0 &&
                              steady_now - e.foreign_changed_at < kForeignWriteWindow;
  nlohmann::json next = MirrorStatusJson(view);
  Condition cond = InSyncCondition(view, foreign_recent);
  const Condition* old = FindCondition(primary.status, kCondMirrorInSync);
  const bool cond_changed = old == nullptr || old->status != cond.status || old->reason != cond.reason;
  const bool urgent = advanced || history || cond_changed || UrgentChange(e.published, next);
  const bool due = AnyChange(e.published, next) &&
                   steady_now - e.published_at >= options_.status_interval;
  if (urgent || due) {
    Status s = WriteMirrorStatus(name, next, set_fence,
                                 cond_changed ? std::optional<Condition>(cond) : std::nullopt,
                                 history);
    if (s.ok()) {
      e.published = next;
      e.published_at = steady_now;
    } else {
      spdlog::warn("standby controller: status.mirror of KVCluster \"{}\": {}", name,
                   s.ToString());
    }
  }
  SetMetrics(name, &e);
}

void StandbyController::ClearStatus(const Resource& cluster) {
  const nlohmann::json& cur = cluster.status.mirror;
  nlohmann::json want;  // null
  if (Member(cur, "writeFenced") == true) {
    want = {{"state", kStatePromoted}, {"writeFenced", true}};
    if (nlohmann::json p = Member(cur, "promotion"); !p.is_null()) want["promotion"] = p;
    if (nlohmann::json u = Member(cur, "updated"); !u.is_null()) want["updated"] = u;
  }
  if (want == cur) return;
  const std::string name = cluster.metadata.name;
  for (int attempt = 0; attempt < kMaxStatusTries; ++attempt) {
    auto res = store_->Get(Kind::kKVCluster, name);
    if (!res.ok()) return;
    ResourceStatus st = res->status;
    if (std::get<KVClusterSpec>(res->spec).standby) return;  // a new spec: the next pass
    // Fenced (or not) meanwhile: the next pass decides again.
    if ((Member(st.mirror, "writeFenced") == true) != (Member(want, "writeFenced") == true)) return;
    st.mirror = want;
    if (want.is_null()) {
      st.conditions.erase(std::remove_if(st.conditions.begin(), st.conditions.end(),
                                         [](const Condition& c) {
                                           return c.type == kCondMirrorInSync;
                                         }),
                          st.conditions.end());
    }
    auto u = store_->UpdateStatus(Kind::kKVCluster, name, st, res->metadata.resource_version);
    if (u.ok() || !IsConflict(u.status())) return;
  }
}

Status StandbyController::WriteMirrorStatus(const std::string& cluster, nlohmann::json mirror,
                                            std::optional<bool> set_fence,
                                            const std::optional<Condition>& condition,
                                            const std::optional<OperationRecord>& history) {
  const std::string now = FormatTimestamp(options_.now());
  mirror["updated"] = now;
  Status last;
  for (int attempt = 0; attempt < kMaxStatusTries; ++attempt) {
    GRID_ASSIGN_OR_RETURN(Resource res, store_->Get(Kind::kKVCluster, cluster));
    ResourceStatus st = res.status;
    nlohmann::json next = mirror;
    next["writeFenced"] = set_fence.value_or(Member(st.mirror, "writeFenced") == true);
    st.mirror = std::move(next);
    if (condition) SetCondition(&st, *condition, now);
    if (history) AppendHistory(&st, *history);
    auto u = store_->UpdateStatus(Kind::kKVCluster, cluster, st, res.metadata.resource_version);
    if (u.ok()) return Status::Ok();
    last = u.status();
    if (!IsConflict(last)) return last;
  }
  return Status(last.code(), "status.mirror of KVCluster \"" + cluster + "\" not written after " +
                                 std::to_string(kMaxStatusTries) + " conflicts: " +
                                 last.message());
}

Status StandbyController::SetWriteFenced(const std::string& cluster, bool fenced) {
  Status last;
  for (int attempt = 0; attempt < kMaxStatusTries; ++attempt) {
    GRID_ASSIGN_OR_RETURN(Resource res, store_->Get(Kind::kKVCluster, cluster));
    ResourceStatus st = res.status;
    if (!st.mirror.is_object()) st.mirror = nlohmann::json::object();
    if (Member(st.mirror, "writeFenced") == fenced) return Status::Ok();
    st.mirror["writeFenced"] = fenced;
    st.mirror["updated"] = FormatTimestamp(options_.now());
    auto u = store_->UpdateStatus(Kind::kKVCluster, cluster, st, res.metadata.resource_version);
    if (u.ok()) return Status::Ok();
    last = u.status();
    if (!IsConflict(last)) return last;
  }
  return last;
}

void StandbyController::SetMetrics(const std::string& name, Entry* entry) {
  if (lag_revisions_ == nullptr || !entry->mirror) return;
  const mirror::MirrorStats s = entry->mirror->Stats();
  const metrics::LabelValues labels = {name, entry->standby};
  lag_revisions_->Set(labels, static_cast<double>(s.lag.revisions));
  lag_seconds_->Set(labels, s.lag.seconds);
  foreign_writes_->Set(labels, static_cast<double>(s.foreign_writes));
  full_copies_->Set(labels, static_cast<double>(s.full_copies));
  entry->metrics_set = true;
}

void StandbyController::RemoveMetrics(const std::string& name, Entry* entry) {
  if (lag_revisions_ == nullptr || !entry->metrics_set) return;
  const metrics::LabelValues labels = {name, entry->standby};
  for (metrics::Family* f : {lag_revisions_, lag_seconds_, foreign_writes_, full_copies_}) {
    f->Remove(labels);
  }
  entry->metrics_set = false;
}

}  // namespace grid::mas::standby
