// gridctl's promotion verbs: switchover and failover of a KVCluster to its standby. Each
// sets spec.standby.promote {mode, requested: now} with a compare-and-swap (a conflict reads
// again, at most kMaxConflictRetries times); --wait polls until status.mirror.promotion
// answers that request and prints it, failing with its message when it failed.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "api_client.h"
#include "verbs.h"

namespace grid::gridctl {

inline constexpr char kDefaultPromoteTimeout[] = "180s";

// The parsed command line of the promotion verbs.
struct StandbyVerbs {
  CLI::App* switchover = nullptr;
  CLI::App* failover = nullptr;
  std::string kind;
  std::string name;
  WaitFlags wait{false, kDefaultPromoteTimeout};
};

// Adds `switchover` and `failover` to `app`.
void AddStandbyVerbs(CLI::App* app, StandbyVerbs* verbs);
// Runs the one that was parsed, if any.
void RunStandbyVerbs(Api& api, const StandbyVerbs& verbs, const std::string& output);

// The lines --wait prints for a finished promotion (status.mirror.promotion); pure.
std::string PromotionSummary(const std::string& cluster, const nlohmann::json& promotion);

}  // namespace grid::gridctl
