// gridctl's backup verbs, clients of GET/POST /apis/grid.dev/v1/kvclusters/NAME/backups:
//   backup create kvcluster NAME   takes a backup now; prints its record (name, revision,
//                                  size, sha256; -o json|yaml: the record as served)
//   backup list kvcluster NAME     the cluster's verified backups, newest first, as a table
//                                  (-o json|yaml: the answer as served, {"items": [...]})
// Errors end the command (api_client.h): no spec.backup, an unreachable bucket, ...
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_client.h"

namespace grid::gridctl {

inline constexpr char kDefaultBackupCreateTimeout[] = "10m";

// The server answers once the backup is uploaded and verified: `timeout_text` (e.g. "10m")
// bounds the wait for the answer.
void BackupCreate(Api& api, const std::string& kind_text, const std::string& name,
                  const std::string& timeout_text, const std::string& output);
void BackupList(Api& api, const std::string& kind_text, const std::string& name,
                const std::string& output);

// The text forms (pure): one record as "field value" lines, and the list as a table
// NAME REVISION SIZE CREATED SHA256 (the first 12 hex digits).
std::string RenderBackupRecord(const nlohmann::json& record);
std::string RenderBackupTable(const std::vector<nlohmann::json>& records);

}  // namespace grid::gridctl
