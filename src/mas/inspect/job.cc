#include "mas/inspect/job.h"

#include "common/check.h"
#include "mas/inspect/probe.h"
#include "mas/inspect/remedy.h"

namespace grid::mas::inspect {

InspectionJob::InspectionJob(client::Client* client, ResourceStore* store,
                             InspectionJobOptions options)
    : client_(client), store_(store), options_(std::move(options)) {
  GRID_CHECK(options_.max_status_tries >= 1) << "max_status_tries must be >= 1";
}

std::string InspectionJob::ReportKey(const std::string& cluster) const {
  return options_.prefix + "/inspections/" + cluster;
}

Result<std::optional<nlohmann::json>> InspectionJob::LastReport(const std::string& cluster) {
  GRID_ASSIGN_OR_RETURN(auto get, client_->Get(ReportKey(cluster)));
  if (get.kvs_size() == 0) return std::optional<nlohmann::json>();
  nlohmann::json j = nlohmann::json::parse(get.kvs(0).value(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Corruption("inspection report " + ReportKey(cluster) + " is not JSON");
  return std::optional<nlohmann::json>(std::move(j));
}

Result<nlohmann::json> InspectionJob::Run(const std::string& cluster,
                                          const std::optional<ScheduledRun>& scheduled) {
  GRID_ASSIGN_OR_RETURN(Resource res, store_->Get(Kind::kKVCluster, cluster));
  const auto& spec = std::get<KVClusterSpec>(res.spec);
  auto now = [this] {
    return FormatTimestamp(options_.now ? options_.now() : std::chrono::system_clock::now());
  };
  const int64_t quota = spec.quota_backend_bytes.value_or(kDefaultQuotaBackendBytes);

  std::unique_ptr<kvcluster::ClusterApi> api;
  std::string api_error;
  const std::vector<std::string> endpoints = MemberEndpoints(res.status);
  if (!endpoints.empty()) {
    auto factory = options_.cluster_api ? options_.cluster_api : kvcluster::GrpcClusterApiFactory();
    auto built = factory(endpoints);
    if (built.ok()) {
      api = std::move(*built);
    } else {
      api_error = built.status().ToString();
    }
  }

  InspectionReport report = Evaluate(spec, res.status, GatherProbes(api.get(), res.status, now(), api_error));
  std::vector<InspectionEvent> events;
  if (auto last = LastReport(cluster); last.ok() && last->has_value()) {
    events = EventsFromJson(**last);
  }
  for (auto& e : report.events) AppendEvent(&events, std::move(e));

  std::vector<Condition> conditions;
  if (api != nullptr && HasNoSpace(report.probes) && NoSpaceRemedyAllowed(res.status)) {
    RemedyResult remedy = RemedyNoSpace(api.get(), report.probes, quota);
    for (auto& e : remedy.events) AppendEvent(&events, std::move(e));
    conditions.push_back(remedy.condition);
    // The state after the remedy.
    report = Evaluate(spec, res.status, GatherProbes(api.get(), res.status, now(), api_error));
    for (auto& e : report.events) AppendEvent(&events, std::move(e));
  }
  conditions.insert(conditions.begin(), report.conditions.begin(), report.conditions.end());
  report.events = std::move(events);
  report.conditions = conditions;

  nlohmann::json stored = ReportToJson(cluster, report);
  if (scheduled.has_value()) {
    stored["tick"] = scheduled->tick;
    stored["replica"] = scheduled->replica;
  }
  GRID_RETURN_IF_ERROR(client_->Put(ReportKey(cluster), stored.dump()).status());
  GRID_RETURN_IF_ERROR(WriteConditions(cluster, conditions));
  return stored;
}

Status InspectionJob::WriteConditions(const std::string& cluster,
                                      const std::vector<Condition>& conditions) {
  Status last;
  for (int attempt = 0; attempt < options_.max_status_tries; ++attempt) {
    GRID_ASSIGN_OR_RETURN(Resource res, store_->Get(Kind::kKVCluster, cluster));
    ResourceStatus next = res.status;
    const std::string now =
        FormatTimestamp(options_.now ? options_.now() : std::chrono::system_clock::now());
    for (const Condition& c : conditions) SetCondition(&next, c, now);
    auto updated = store_->UpdateStatus(Kind::kKVCluster, cluster, next, res.metadata.resource_version);
    if (updated.ok()) return Status::Ok();
    last = updated.status();
    if (!IsConflict(last)) return last;
  }
  return Status(last.code(), "inspection conditions of KVCluster \"" + cluster + "\" not written after " +
                                 std::to_string(options_.max_status_tries) + " conflicts: " + last.message());
}

}  // namespace grid::mas::inspect
