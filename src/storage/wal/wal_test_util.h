// Shared by the WAL tests: a fault-injecting Env, entry helpers and the WalTest fixture.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "storage/wal/wal.h"

namespace grid::wal::wal_testing {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Byte offset of the first record after the segment header and the per-segment preamble
// (metadata, snapshot marker, hard state).
inline constexpr uint64_t kPreambleBytes = 2 * 32 + 40;
inline constexpr uint64_t kFirstRecordOffset = kSegmentHeaderBytes + kPreambleBytes;
static_assert(kPreambleBytes == 2 * RecordBytes(16) + RecordBytes(24));

// --- fault-injecting Env -------------------------------------------------------------------

struct Faults {
  int write_calls = 0;
  uint64_t last_write_offset = 0;
  uint64_t last_write_bytes = 0;
  int sync_dir_calls = 0;
  int fail_writes_errno = 0;    // WriteAt fails with this errno when non-zero
  int fail_sync_errno = 0;      // DataSync/Sync fail with this errno when non-zero
  int fail_allocate_errno = 0;  // Allocate fails with this errno when non-zero
  std::function<void()> before_data_sync;  // runs first in every DataSync when set
};

class FaultFile final : public File {
 public:
  FaultFile(std::unique_ptr<File> base, Faults* faults) : base_(std::move(base)), f_(faults) {}
  Status ReadAt(uint64_t offset, size_t n, std::string* out) override {
    return base_->ReadAt(offset, n, out);
  }
  Status WriteAt(uint64_t offset, std::string_view data) override {
    ++f_->write_calls;
    f_->last_write_offset = offset;
    f_->last_write_bytes = data.size();
    if (f_->fail_writes_errno != 0) return ErrnoStatus("wal: write", f_->fail_writes_errno);
    return base_->WriteAt(offset, data);
  }
  Status Allocate(uint64_t size_bytes) override {
    if (f_->fail_allocate_errno != 0) return ErrnoStatus("wal: fallocate", f_->fail_allocate_errno);
    return base_->Allocate(size_bytes);
  }
  Status DataSync() override {
    if (f_->before_data_sync) f_->before_data_sync();
    if (f_->fail_sync_errno != 0) return ErrnoStatus("wal: fdatasync", f_->fail_sync_errno);
    return base_->DataSync();
  }
  Status Sync() override {
    if (f_->fail_sync_errno != 0) return ErrnoStatus("wal: fsync", f_->fail_sync_errno);
    return base_->Sync();
  }
  Result<uint64_t> Size() override { return base_->Size(); }

 private:
  std::unique_ptr<File> base_;
  Faults* f_;
};

class FaultEnv final : public Env {
 public:
  Faults faults;

  Result<std::unique_ptr<File>> OpenFile(const std::string& path) override {
    GRID_ASSIGN_OR_RETURN(auto f, base_->OpenFile(path));
    return std::unique_ptr<File>(new FaultFile(std::move(f), &faults));
  }
  Result<std::unique_ptr<File>> CreateFile(const std::string& path) override {
    GRID_ASSIGN_OR_RETURN(auto f, base_->CreateFile(path));
    return std::unique_ptr<File>(new FaultFile(std::move(f), &faults));
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Status CreateDirIfMissing(const std::string& dir) override {
    return base_->CreateDirIfMissing(dir);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status RemoveFile(const std::string& path) override { return base_->RemoveFile(path); }
  Status SyncDir(const std::string& dir) override {
    ++faults.sync_dir_calls;
    if (faults.fail_sync_errno != 0) return ErrnoStatus("wal: fsync dir", faults.fail_sync_errno);
    return base_->SyncDir(dir);
  }

 private:
  Env* base_ = Env::Default();
};

// --- helpers -------------------------------------------------------------------------------

inline std::string MakeData(uint64_t index, uint64_t term, size_t bytes) {
  std::string d = "i" + std::to_string(index) + "t" + std::to_string(term) + ":";
  d.resize(bytes, static_cast<char>('a' + index % 26));
  return d.substr(0, bytes);
}

inline std::vector<Entry> MakeEntries(uint64_t first, size_t n, uint64_t term, size_t data_bytes = 100) {
  std::vector<Entry> out;
  for (uint64_t i = first; i < first + n; ++i) {
    out.push_back({term, i, kEntryNormal, MakeData(i, term, data_bytes)});
  }
  return out;
}

// Offset of the k-th (0-based) entry record in the first segment when all entries carry
// `data_bytes` of data.
inline uint64_t EntryOffset(size_t k, size_t data_bytes = 100) {
  return kFirstRecordOffset + k * RecordBytes(kEntryFixedBytes + data_bytes);
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void Patch(const std::string& path, uint64_t offset, std::string_view bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good());
}

inline void FlipByte(const std::string& path, uint64_t offset) {
  std::string all = ReadAll(path);
  ASSERT_LT(offset, all.size());
  char c = static_cast<char>(all[offset] ^ 0x40);
  Patch(path, offset, std::string_view(&c, 1));
}

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/wal_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    opts_.dir = root_ + "/wal";
    opts_.segment_bytes = 64 << 10;
    opts_.logger = std::make_shared<spdlog::logger>(
        "wal_test", std::make_shared<spdlog::sinks::ostream_sink_st>(log_));
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Wal> CreateWal() {
    auto w = Wal::Create(opts_, md_);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  std::unique_ptr<Wal> OpenWal(ReplayResult* r) {
    auto w = Wal::Open(opts_, r);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  Status OpenError() {
    ReplayResult r;
    auto w = Wal::Open(opts_, &r);
    EXPECT_FALSE(w.ok());
    return w.status();
  }
  std::string Seg(uint64_t seq, uint64_t first) const {
    return opts_.dir + "/" + SegmentName(seq, first);
  }
  // Creates a log holding entries 1..n (100-byte data, term 1), synced and closed.
  void WriteLog(size_t n) {
    auto w = CreateWal();
    ASSERT_NE(w, nullptr);
    ASSERT_TRUE(w->Append(MakeEntries(1, n, 1), nullptr).ok());
    ASSERT_TRUE(w->Sync().ok());
  }

  std::string root_;
  Options opts_;
  Metadata md_{0xc1, 0x3e};
  std::ostringstream log_;
};

}  // namespace grid::wal::wal_testing
