#include "kv/server/store_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "common/check.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace grid::kv {
namespace fs = std::filesystem;
namespace {

// kv.current holds one short line; anything longer is not ours.
constexpr size_t kMaxCurrentFileBytes = 256;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return IOError("open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return IOError("fsync " + path + ": " + std::strerror(err));
  return Status::Ok();
}

}  // namespace

bool IsStoreDirName(const std::string& name) {
  std::string_view n(name);
  // An import in progress builds under "<dir>.importing" (kv/snapshot/member_snapshot.h).
  for (std::string_view suffix : {std::string_view(".importing"), std::string_view(kIncomingSuffix)}) {
    if (n.size() > suffix.size() && n.ends_with(suffix)) n.remove_suffix(suffix.size());
  }
  if (n == kInitialStoreDir) return true;
  if (!n.starts_with("kv-")) return false;
  n.remove_prefix(3);
  const size_t dash = n.find('-');
  return dash != std::string_view::npos && AllDigits(n.substr(0, dash)) &&
         AllDigits(n.substr(dash + 1));
}

Result<std::string> ActiveStoreDirName(const std::string& member_dir) {
  const fs::path current = fs::path(member_dir) / kCurrentStoreFile;
  std::error_code ec;
  if (!fs::exists(current, ec)) return std::string(kInitialStoreDir);
  std::ifstream in(current, std::ios::binary);
  if (!in) return IOError("open " + current.string() + ": " + std::strerror(errno));
  std::string content(kMaxCurrentFileBytes + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<size_t>(in.gcount()));
  if (!content.empty() && content.back() == '\n') content.pop_back();
  if (content.size() > kMaxCurrentFileBytes || !IsStoreDirName(content) ||
      content.ends_with(kIncomingSuffix)) {
    return Corruption(current.string() + ": offset 0: does not name a store directory");
  }
  if (!fs::is_directory(fs::path(member_dir) / content, ec)) {
    return Corruption(current.string() + ": offset 0: names " + content +
                      ", which does not exist");
  }
  return content;
}

Status SetActiveStoreDir(const std::string& member_dir, const std::string& name) {
  GRID_CHECK(IsStoreDirName(name) && !name.ends_with(kIncomingSuffix)) << name;
  const fs::path current = fs::path(member_dir) / kCurrentStoreFile;
  const fs::path tmp = fs::path(member_dir) / (std::string(kCurrentStoreFile) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << name << '\n';
    out.flush();
    if (!out) return IOError("write " + tmp.string() + ": " + std::strerror(errno));
  }
  GRID_RETURN_IF_ERROR(SyncPath(tmp.string(), false));
  std::error_code ec;
  fs::rename(tmp, current, ec);
  if (ec) return IOError("rename " + tmp.string() + " to " + current.string() + ": " + ec.message());
  return SyncPath(member_dir, true);
}

void RemoveInactiveStoreDirs(const std::string& member_dir, const std::string& active) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(member_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == active || !IsStoreDirName(name) || !entry.is_directory()) continue;
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (rm) {
      spdlog::warn("cannot remove the unused store {}: {}", entry.path().string(), rm.message());
    } else {
      spdlog::info("removed the unused store {}", entry.path().string());
    }
  }
}

}  // namespace grid::kv
