// gridctl's backup verbs, clients of GET/POST /apis/grid.dev/v1/kvclusters/NAME/backups:
//   backup create kvcluster NAME   takes a backup now; prints its record (name, revision,
//                                  size, sha256; -o json|yaml: the record as served)
//   backup list kvcluster NAME     the cluster's verified backups, newest first, as a table
//                                  (-o json|yaml: the answer as served, {"items": [...]})
//   backup verify kvcluster NAME BACKUP|latest
//                                  POST .../backups/BACKUP/verify: the server downloads the
//                                  snapshot and checks it; prints "backup B OK: ..." or fails
//                                  with "backup B failed verification: <what, file, offset>"
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
// Exits 1 (Fail) when the check fails; -o json|yaml prints the answer as served first.
void BackupVerify(Api& api, const std::string& kind_text, const std::string& name,
                  const std::string& backup, const std::string& timeout_text,
                  const std::string& output);
void BackupList(Api& api, const std::string& kind_text, const std::string& name,
                const std::string& output);

// The text forms (pure): one record as "field value" lines, and the list as a table
// NAME REVISION SIZE CREATED SHA256 (the first 12 hex digits).
std::string RenderBackupRecord(const nlohmann::json& record);
// "backup B OK: N bytes, revision R, sha256 S" for an answer of the verify route with ok true.
std::string RenderBackupVerified(const nlohmann::json& answer);
std::string RenderBackupTable(const std::vector<nlohmann::json>& records);

}  // namespace grid::gridctl
