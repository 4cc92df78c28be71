#include "kv/server/member_snapshots.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "kv/server/store_dir.h"
#include "kv/snapshot/member_snapshot.h"

namespace grid::kv {
namespace fs = std::filesystem;
namespace {

// A snapshot file being sent; removed when the transport is done with it.
class SendFileReader final : public transport::SnapshotReader {
 public:
  SendFileReader(std::string path, std::unique_ptr<transport::SnapshotReader> file)
      : path_(std::move(path)), file_(std::move(file)) {}
  ~SendFileReader() override {
    file_.reset();
    std::error_code ec;
    fs::remove(path_, ec);
  }
  uint64_t size_bytes() const override { return file_->size_bytes(); }
  Result<size_t> Read(char* buf, size_t n) override { return file_->Read(buf, n); }

 private:
  const std::string path_;
  std::unique_ptr<transport::SnapshotReader> file_;
};

void RemoveQuietly(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

}  // namespace

MemberSnapshots::MemberSnapshots(std::string member_dir, std::string snap_dir, std::string active,
                                 mvcc::Options store_options, mvcc::StoreHandle* store)
    : member_dir_(std::move(member_dir)),
      snap_dir_(std::move(snap_dir)),
      store_options_(std::move(store_options)),
      store_(store),
      active_(std::move(active)) {}

std::string MemberSnapshots::NextName(uint64_t index) {
  std::lock_guard lock(mu_);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return "kv-" + std::to_string(index) + "-" + std::to_string(now_ms) +
         std::to_string(++next_serial_);
}

Result<std::unique_ptr<transport::SnapshotReader>> MemberSnapshots::OpenForSend(
    const raft::Message& snap) {
  GRID_CHECK(snap.snapshot.has_value());
  std::error_code ec;
  fs::create_directories(snap_dir_, ec);
  if (ec) return IOError("create " + snap_dir_ + ": " + ec.message());
  const std::string path = (fs::path(snap_dir_) / ("send-" + NextName(snap.snapshot->meta.index.value()) +
                                                   "-to-" + std::to_string(snap.to.value())))
                               .string();
  Result<snapshot::MemberSnapshotInfo> info = snapshot::WriteMemberSnapshot(*store_, path);
  if (!info.ok()) {
    RemoveQuietly(path);
    return info.status();
  }
  spdlog::info("snapshot for member {:x} at index {}: {} bytes, {} records, store index {}",
               snap.to.value(), snap.snapshot->meta.index.value(), info->bytes, info->records,
               info->consistent_index);
  Result<std::unique_ptr<transport::SnapshotReader>> file = transport::OpenFileSnapshotReader(path);
  if (!file.ok()) {
    RemoveQuietly(path);
    return file.status();
  }
  return std::unique_ptr<transport::SnapshotReader>(
      std::make_unique<SendFileReader>(path, std::move(*file)));
}

Status MemberSnapshots::Prepare(const raft::Message& snap, const std::string& path) {
  GRID_CHECK(snap.snapshot.has_value());
  const uint64_t index = snap.snapshot->meta.index.value();
  const std::string dir =
      (fs::path(member_dir_) / (NextName(index) + kIncomingSuffix)).string();
  Result<snapshot::MemberSnapshotInfo> info = snapshot::ImportMemberSnapshot(path, dir);
  RemoveQuietly(path);
  if (!info.ok()) return info.status();
  if (info->consistent_index < index) {
    RemoveQuietly(dir);
    return Corruption(path + ": the store in it holds index " +
                      std::to_string(info->consistent_index) + ", below the snapshot's " +
                      std::to_string(index));
  }
  spdlog::info("received a snapshot at index {} from member {:x}: {} bytes, store index {}",
               index, snap.from.value(), info->bytes, info->consistent_index);
  std::lock_guard lock(mu_);
  auto& slot = prepared_[index];
  if (!slot.dir.empty()) RemoveQuietly(slot.dir);  // a retransmission replaces the older copy
  slot = Prepared{dir, info->consistent_index};
  return Status::Ok();
}

Result<uint64_t> MemberSnapshots::Install(uint64_t index) {
  Prepared prepared;
  std::string old_name;
  {
    std::lock_guard lock(mu_);
    auto it = prepared_.find(index);
    if (it == prepared_.end()) {
      return FailedPrecondition("no snapshot was received for index " + std::to_string(index));
    }
    prepared = it->second;
    prepared_.erase(it);
    // Snapshots at other indexes will not be installed: Raft moved past them.
    for (auto& [i, p] : prepared_) RemoveQuietly(p.dir);
    prepared_.clear();
    old_name = active_;
  }
  std::string name = fs::path(prepared.dir).filename().string();
  name.resize(name.size() - std::string_view(kIncomingSuffix).size());
  const std::string final_dir = (fs::path(member_dir_) / name).string();
  std::error_code ec;
  fs::rename(prepared.dir, final_dir, ec);
  if (ec) return IOError("rename " + prepared.dir + " to " + final_dir + ": " + ec.message());
  mvcc::Options options = store_options_;
  options.dir = final_dir;
  GRID_ASSIGN_OR_RETURN(std::unique_ptr<mvcc::Store> next, mvcc::Store::Open(options));
  const uint64_t consistent_index = next->ConsistentIndex();
  GRID_RETURN_IF_ERROR(SetActiveStoreDir(member_dir_, name));
  const std::string old_dir = (fs::path(member_dir_) / old_name).string();
  store_->Replace(std::move(next), [old_dir] {
    std::error_code rm;
    fs::remove_all(old_dir, rm);
    if (rm) spdlog::warn("cannot remove the replaced store {}: {}", old_dir, rm.message());
  });
  {
    std::lock_guard lock(mu_);
    active_ = name;
  }
  spdlog::info("installed the leader's snapshot at index {}: store {} (index {})", index, name,
               consistent_index);
  return consistent_index;
}

}  // namespace grid::kv
