#include "mas/backup/testing/fake_bucket.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mas/backup/snapshot.h"

namespace grid::mas::backup::testing {
namespace fs = std::filesystem;

namespace {

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": no such object");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

Status FakeDirBucket::CheckKey(const std::string& key) const {
  if (key.empty() || key.size() > bucket::kMaxObjectKeyBytes || key.front() == '/' ||
      key.find("//") != std::string::npos || key.back() == '/' ||
      key.find("..") != std::string::npos) {
    return InvalidArgument("bad object key \"" + key + "\"");
  }
  return Status::Ok();
}

Status FakeDirBucket::Store(const std::string& key, const std::string& bytes) {
  GRID_RETURN_IF_ERROR(CheckKey(key));
  if (fail_puts_of.count(key)) return IOError("injected: put " + key + " fails");
  const fs::path path = PathOf(key);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) return IOError("write " + tmp.string());
  }
  fs::rename(tmp, path, ec);
  if (ec) return IOError("rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

Status FakeDirBucket::PutFile(const std::string& key, const std::string& local_path) {
  GRID_ASSIGN_OR_RETURN(std::string bytes, ReadAll(local_path));
  std::lock_guard lock(mu_);
  if (corrupt_next_put_file && !bytes.empty()) {
    corrupt_next_put_file = false;
    bytes[0] = static_cast<char>(bytes[0] ^ 0x01);
  }
  return Store(key, bytes);
}

Status FakeDirBucket::GetFile(const std::string& key, const std::string& local_path) {
  GRID_RETURN_IF_ERROR(CheckKey(key));
  ++get_file_calls;
  GRID_ASSIGN_OR_RETURN(std::string bytes, ReadAll(PathOf(key)));
  std::ofstream out(local_path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) return IOError("write " + local_path);
  return Status::Ok();
}

Status FakeDirBucket::PutBytes(const std::string& key, std::string_view bytes) {
  std::lock_guard lock(mu_);
  return Store(key, std::string(bytes));
}

Result<std::string> FakeDirBucket::GetBytes(const std::string& key) {
  GRID_RETURN_IF_ERROR(CheckKey(key));
  return ReadAll(PathOf(key));
}

Result<std::vector<bucket::ObjectInfo>> FakeDirBucket::List(const std::string& prefix) {
  std::vector<bucket::ObjectInfo> out;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root_, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string key = fs::relative(it->path(), root_).string();
    if (key.size() > 4 && key.ends_with(".tmp")) continue;
    if (key.rfind(prefix, 0) != 0) continue;
    bucket::ObjectInfo info;
    info.key = key;
    info.size_bytes = static_cast<int64_t>(it->file_size());
    info.modified = std::chrono::file_clock::to_sys(it->last_write_time());
    if (etag_is_sha256) {
      GRID_ASSIGN_OR_RETURN(auto digest, DigestFile(it->path().string()));
      info.etag = digest.sha256;
    } else {
      info.etag = "not-a-digest";
    }
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

Status FakeDirBucket::Delete(const std::string& key) {
  GRID_RETURN_IF_ERROR(CheckKey(key));
  if (fail_deletes_of.count(key)) return IOError("injected: delete " + key + " fails");
  std::error_code ec;
  if (!fs::remove(PathOf(key), ec)) return NotFound(key + ": no such object");
  return Status::Ok();
}

}  // namespace grid::mas::backup::testing
