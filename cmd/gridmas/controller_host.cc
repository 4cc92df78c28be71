#include "controller_host.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <utility>

namespace grid::mas {

backup::RestoreBinaries RestoreTools(const runtime::VersionCatalog& catalog,
                                     const std::string& engine, const std::string& version) {
  backup::RestoreBinaries tools;
  Result<std::string> binary = catalog.Lookup(engine, version);
  if (!binary.ok()) return tools;
  if (engine == kEngineGridkv) tools.gridkv = *binary;
  if (engine == kEngineEtcd) {
    const std::filesystem::path etcdctl = std::filesystem::path(*binary).parent_path() / "etcdctl";
    std::error_code ec;
    if (std::filesystem::exists(etcdctl, ec)) tools.etcdctl = etcdctl.string();
  }
  return tools;
}

DefaultControllerHost::DefaultControllerHost(client::Client* client, ResourceStore* store,
                                             const GridmasConfig* config,
                                             runtime::Runtime* runtime)
    : client_(client),
      store_(store),
      config_(config),
      runtime_(runtime),
      operation_metrics_(config->metrics != nullptr
                             ? std::make_unique<metrics::OperationMetrics>(config->metrics)
                             : nullptr) {}

Status DefaultControllerHost::StartKind(Kind kind,
                                        std::unique_ptr<controller::Reconciler> reconciler,
                                        std::function<void(const Resource&)> on_deleted,
                                        KindController* out) {
  ResourceStore* store = store_;
  controller::ControllerRunnerOptions options;
  options.workers = kControllerWorkersPerKind;
  options.resync_period = kControllerResyncPeriod;
  if (metrics::Registry* registry = config_->metrics) {
    metrics::Family* reconciles = &registry->Counter(
        "grid_mas_reconciles_total", "Reconcile passes of the controllers, by kind and result.",
        {"kind", "result"});
    metrics::Family* seconds = &registry->Histogram(
        "grid_mas_reconcile_duration_seconds", "Duration of one reconcile pass, by kind.",
        {"kind"}, {0.001, 0.01, 0.1, 0.5, 1, 5, 30});
    options.on_reconciled = [reconciles, seconds, kind](const std::string&, const Status& outcome,
                                                        controller::Duration took) {
      reconciles->Add({KindName(kind), outcome.ok() ? "ok" : "error"});
      seconds->Observe({KindName(kind)}, std::chrono::duration<double>(took).count());
    };
  }
  options.list_keys = [store, kind] {
    std::vector<std::string> keys;
    auto list = store->List(kind);
    if (!list.ok()) return keys;
    for (const Resource& r : list->items) keys.push_back(r.metadata.name);
    return keys;
  };
  out->reconciler = std::move(reconciler);
  out->runner = std::make_unique<controller::ControllerRunner>(out->reconciler.get(), options);
  GRID_ASSIGN_OR_RETURN(ResourceList list, store_->List(kind));
  controller::ControllerRunner* runner = out->runner.get();
  GRID_ASSIGN_OR_RETURN(
      out->watch, store_->Watch(kind, list.revision + 1,
                                [runner, kind, on_deleted = std::move(on_deleted),
                                 ops = operation_metrics_.get()](
                                    const ResourceWatchUpdate& update) {
                                  if (!update.status.ok()) {
                                    spdlog::warn("{} watch: {} (the resync repairs it)",
                                                 KindName(kind), update.status.ToString());
                                  }
                                  // Every deletion is recorded before any key is queued:
                                  // a pass queued by an earlier event may already find the
                                  // object gone.
                                  for (const ResourceEvent& e : update.events) {
                                    if (e.type == EventType::kDeleted && on_deleted) {
                                      on_deleted(e.resource);
                                    }
                                  }
                                  for (const ResourceEvent& e : update.events) {
                                    if (ops != nullptr && e.type == EventType::kDeleted) {
                                      ops->Forget(kind, e.resource.metadata.name);
                                    } else if (ops != nullptr) {
                                      ops->Observe(e.resource);
                                    }
                                    (void)runner->Enqueue(e.resource.metadata.name);
                                  }
                                }));
  runner->Start();
  for (const Resource& r : list.items) {
    if (operation_metrics_) operation_metrics_->Observe(r);
    (void)runner->Enqueue(r.metadata.name);
  }
  return Status::Ok();
}

void DefaultControllerHost::Start(const controller::Fence& fence) {
  if (running_) Stop();
  runtime_->SetActive(true);
  ResourceStoreOptions fenced_options = store_->options();
  fenced_options.write_fence = fence.Compare();
  fenced_store_ = std::make_unique<ResourceStore>(client_, fenced_options);
  kvcluster::KVClusterOptions kv_options;
  kv_options.restore_io = kvcluster::LocalRestoreIo(config_->s3);
  kv_options.restore_scratch_dir = (std::filesystem::path(config_->root) / "restore").string();
  kv_options.restore_binaries = [catalog = &config_->catalog](const std::string& engine,
                                                              const std::string& version) {
    return RestoreTools(*catalog, engine, version);
  };
  auto kv = std::make_unique<kvcluster::KVClusterReconciler>(
      fenced_store_.get(), runtime_, kvcluster::GrpcClusterApiFactory(), std::move(kv_options));
  fleet::RouterFleetOptions fleet_options;
  fleet_options.default_store = config_->store_endpoints;
  auto rf = std::make_unique<fleet::RouterFleetReconciler>(fenced_store_.get(), runtime_, &probe_,
                                                           fleet_options);
  kvcluster::KVClusterReconciler* kv_raw = kv.get();
  auto kv_deleted = [kv_raw](const Resource& last) { kv_raw->ObserveDeleted(last); };
  if (Status s = StartKind(Kind::kKVCluster, std::move(kv), kv_deleted, &kv_); !s.ok()) {
    spdlog::error("KVCluster controller: {} (the next term retries)", s.ToString());
  }
  if (Status s = StartKind(Kind::kRouterFleet, std::move(rf), nullptr, &fleet_); !s.ok()) {
    spdlog::error("RouterFleet controller: {} (the next term retries)", s.ToString());
  }
  standby::StandbyControllerOptions standby_options;
  standby_options.metrics = config_->metrics;
  standby_ = std::make_unique<standby::StandbyController>(fenced_store_.get(),
                                                          std::move(standby_options));
  standby_->Start();
  running_ = true;
  spdlog::info("controllers started (term token {}, fence {}, root {})", fence.token, fence.key,
               config_->root);
}

void DefaultControllerHost::Stop() {
  if (!running_) return;
  // First the mirrors: none may write after the term (its store is fenced anyway).
  if (standby_) standby_->Stop();
  standby_.reset();
  for (KindController* k : {&kv_, &fleet_}) {
    k->watch.reset();
    if (k->runner) k->runner->Stop();
    k->runner.reset();
    k->reconciler.reset();
  }
  fenced_store_.reset();
  runtime_->SetActive(false);
  running_ = false;
  spdlog::info("controllers stopped");
}

}  // namespace grid::mas
