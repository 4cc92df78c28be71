// Evaluate: the pure verdict of one inspection of a KVCluster. Input: the spec, the status
// (its members), and Probes (what each member answered, gathered by probe.h). Output: the
// inspection conditions and the findings (events) of this run. No I/O, no clock.
//
// Every inspection condition is True when its check passes:
//   Healthy          every member's endpoint answered Status
//   LeaderPresent    the answering members agree on one leader that is a member
//   AppliedIndexLag  max raft index - min applied index <= kMaxAppliedIndexLag
//   HashAgreement    every member's HashKV at one common revision is equal
//   Alarms           the alarm list is empty (NOSPACE / CORRUPT named with their member)
//   DbSize           the largest db size < kDbSizeWarnFraction of the quota
// Unknown when the check could not be made (e.g. no member answered).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mas/kvcluster/cluster_api.h"
#include "mas/resource/resource.h"
#include "mas/resource/spec.h"

namespace grid::mas::inspect {

// The bound of AppliedIndexLag (raft entries).
inline constexpr uint64_t kMaxAppliedIndexLag = 1000;
// DbSize turns False at this fraction of the quota (percent).
inline constexpr int64_t kDbSizeWarnPercent = 80;
// Events kept in one report (the oldest are dropped first).
inline constexpr size_t kMaxInspectionEvents = 32;
inline constexpr size_t kMaxEventMessageBytes = 512;

inline constexpr char kCondHealthy[] = "Healthy";
inline constexpr char kCondLeaderPresent[] = "LeaderPresent";
inline constexpr char kCondAppliedIndexLag[] = "AppliedIndexLag";
inline constexpr char kCondHashAgreement[] = "HashAgreement";
inline constexpr char kCondAlarms[] = "Alarms";
inline constexpr char kCondDbSize[] = "DbSize";
inline constexpr char kCondNoSpaceRemedied[] = "NoSpaceRemedied";

// What one member answered. `name` and `endpoint` come from status.members.
struct MemberProbe {
  std::string name;
  std::string endpoint;
  bool reachable = false;     // Status answered
  std::string error;          // why not, when !reachable
  kvcluster::EndpointStatus status;  // valid when reachable
  int64_t current_revision = 0;      // the member's revision (HashKV(0) header); 0 unknown
  std::optional<uint32_t> hash;      // HashKV at Probes::hash_revision
  std::string hash_error;            // why no hash, when reachable and !hash
};

struct Probes {
  std::string time;  // RFC 3339, stamped on the findings
  std::vector<MemberProbe> members;
  bool alarms_known = false;  // AlarmList answered
  std::string alarms_error;
  std::vector<kvcluster::AlarmInfo> alarms;
  int64_t hash_revision = 0;  // the common revision of the hashes; 0 when none
};

struct InspectionEvent {
  std::string time;
  std::string type;  // "Normal" | "Warning"
  std::string reason;
  std::string message;
  bool operator==(const InspectionEvent&) const = default;
};

struct InspectionReport {
  std::vector<Condition> conditions;   // last_transition_time empty
  std::vector<InspectionEvent> events;  // this run's findings, at most kMaxInspectionEvents
  // Copied from the probes for the stored report.
  Probes probes;
};

InspectionReport Evaluate(const KVClusterSpec& spec, const ResourceStatus& status,
                          const Probes& probes);

// The condition of `type` in `report`, or nullptr.
const Condition* FindReportCondition(const InspectionReport& report, std::string_view type);

// Appends `event` (message cut to kMaxEventMessageBytes), dropping the oldest beyond
// kMaxInspectionEvents.
void AppendEvent(std::vector<InspectionEvent>* events, InspectionEvent event);

// "NOSPACE", "CORRUPT", "NONE".
const char* AlarmName(kvcluster::AlarmType type);

// The stored form of a report: {"cluster","time","hashRevision","members":[...],
// "alarms":[...],"conditions":[...],"events":[...]}.
nlohmann::json ReportToJson(const std::string& cluster, const InspectionReport& report);
// The events of a stored report (empty when absent or malformed).
std::vector<InspectionEvent> EventsFromJson(const nlohmann::json& report);

}  // namespace grid::mas::inspect
