#include "backup_verbs.h"

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "format.h"

namespace grid::gridctl {
namespace {

inline constexpr size_t kShortDigestChars = 12;

std::string BackupsPath(const std::string& kind_text, const std::string& name) {
  if (KindArg(kind_text) != mas::Kind::kKVCluster) Fail("backup takes a kvcluster");
  return ObjectPath(mas::Kind::kKVCluster, name) + "/backups";
}

std::string Text(const nlohmann::json& record, const char* field) {
  if (!record.contains(field)) return "-";
  const nlohmann::json& v = record[field];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

}  // namespace

std::string RenderBackupRecord(const nlohmann::json& record) {
  std::string out = fmt::format("backup {} created\n", Text(record, "name"));
  out += fmt::format("  revision  {}\n", Text(record, "revision"));
  out += fmt::format("  size      {} bytes\n", Text(record, "sizeBytes"));
  out += fmt::format("  sha256    {}\n", Text(record, "sha256"));
  out += fmt::format("  created   {}\n", Text(record, "created"));
  out += fmt::format("  member    {} ({})\n", Text(record, "member"), Text(record, "endpoint"));
  out += fmt::format("  engine    {} {}\n", Text(record, "engine"), Text(record, "version"));
  return out;
}

std::string RenderBackupTable(const std::vector<nlohmann::json>& records) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "REVISION", "SIZE", "CREATED", "SHA256"}};
  for (const nlohmann::json& r : records) {
    rows.push_back({Text(r, "name"), Text(r, "revision"), Text(r, "sizeBytes"),
                    Text(r, "created"), Text(r, "sha256").substr(0, kShortDigestChars)});
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

void BackupCreate(Api& api, const std::string& kind_text, const std::string& name,
                  const std::string& timeout_text, const std::string& output) {
  auto timeout = ParseDuration(timeout_text);
  if (!timeout.ok()) Fail(timeout.status().message());
  api.set_read_timeout(*timeout);
  nlohmann::json record = Api::Check(api.Send("POST", BackupsPath(kind_text, name), "", ""));
  if (output != "table") return Print(output, record);
  std::cout << RenderBackupRecord(record);
}

std::string RenderBackupVerified(const nlohmann::json& answer) {
  const nlohmann::json record = answer.value("backup", nlohmann::json::object());
  return fmt::format("backup {} OK: {} bytes, revision {}, sha256 {}\n", Text(record, "name"),
                     Text(record, "sizeBytes"), Text(record, "revision"),
                     Text(record, "sha256"));
}

void BackupVerify(Api& api, const std::string& kind_text, const std::string& name,
                  const std::string& backup, const std::string& timeout_text,
                  const std::string& output) {
  auto timeout = ParseDuration(timeout_text);
  if (!timeout.ok()) Fail(timeout.status().message());
  api.set_read_timeout(*timeout);
  const std::string path = BackupsPath(kind_text, name) + "/" + backup + "/verify";
  nlohmann::json answer = Api::Check(api.Send("POST", path, "", ""));
  const bool ok = answer.value("ok", false);
  if (output != "table") Print(output, answer);
  if (!ok) {
    const nlohmann::json record = answer.value("backup", nlohmann::json::object());
    Fail("backup " + Text(record, "name") + " failed verification: " + Text(answer, "error"));
  }
  if (output == "table") std::cout << RenderBackupVerified(answer);
}

void BackupList(Api& api, const std::string& kind_text, const std::string& name,
                const std::string& output) {
  nlohmann::json list = Api::Check(api.Send("GET", BackupsPath(kind_text, name)));
  if (output != "table") return Print(output, list);
  std::vector<nlohmann::json> records;
  if (list.contains("items") && list["items"].is_array()) {
    for (const auto& r : list["items"]) records.push_back(r);
  }
  if (records.empty()) {
    std::cout << "no backups of kvcluster/" << name << "\n";
    return;
  }
  std::cout << RenderBackupTable(records);
}

}  // namespace grid::gridctl
