#include "storage/wal/wal.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace grid::wal {
namespace {

constexpr std::string_view kTempSuffix = ".tmp";
// Zeroing of a torn tail is written in chunks of this size.
constexpr uint64_t kZeroChunkBytes = 1 << 20;

bool IsTempSegment(const std::string& name) {
  if (name.size() <= kTempSuffix.size()) return false;
  uint64_t seq, first;
  std::string_view base(name.data(), name.size() - kTempSuffix.size());
  return name.ends_with(kTempSuffix) && ParseSegmentName(base, &seq, &first);
}

Status AlreadyExists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }

}  // namespace

Wal::Wal(const Options& options)
    : options_(options),
      env_(options.env != nullptr ? options.env : Env::Default()),
      logger_(options.logger != nullptr ? options.logger : spdlog::default_logger()) {}

Wal::~Wal() = default;

Status Wal::ValidateOptions(const Options& options) {
  if (options.dir.empty()) return InvalidArgument("wal: empty dir");
  if (options.segment_bytes < kMinSegmentBytes) {
    return InvalidArgument(fmt::format("wal: segment_bytes {} is below the minimum {}",
                                       options.segment_bytes, kMinSegmentBytes));
  }
  if (options.zero_ahead_bytes > kMaxZeroAheadBytes) {
    return InvalidArgument(fmt::format("wal: zero_ahead_bytes {} is above the maximum {}",
                                       options.zero_ahead_bytes, kMaxZeroAheadBytes));
  }
  if (options.max_record_bytes < kEntryFixedBytes ||
      options.max_record_bytes > kFormatMaxRecordBytes) {
    return InvalidArgument(fmt::format("wal: max_record_bytes {} is outside [{}, {}]",
                                       options.max_record_bytes, kEntryFixedBytes,
                                       kFormatMaxRecordBytes));
  }
  return Status::Ok();
}

std::string Wal::PathOf(const std::string& name) const { return options_.dir + "/" + name; }

std::vector<std::string> Wal::SegmentNames() const {
  std::vector<std::string> names;
  for (const Segment& s : segments_) names.push_back(s.name);
  return names;
}

std::string Wal::Preamble() const {
  std::string out;
  AppendRecord(RecordType::kMetadata, EncodeMetadata(metadata_), &out);
  AppendRecord(RecordType::kSnapshotMarker, EncodeSnapshotMarker(snapshot_), &out);
  AppendRecord(RecordType::kHardState, EncodeHardState(hard_state_), &out);
  return out;
}

Status Wal::CreateSegment(uint64_t sequence, uint64_t first_index, uint64_t capacity_bytes,
                          const std::string& preamble) {
  const std::string name = SegmentName(sequence, first_index);
  const std::string tmp = PathOf(name + std::string(kTempSuffix));
  GRID_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env_->CreateFile(tmp));
  std::string head = EncodeSegmentHeader({sequence, first_index, capacity_bytes});
  head += preamble;
  GRID_CHECK_LE(head.size(), capacity_bytes);
  GRID_RETURN_IF_ERROR(file->Allocate(capacity_bytes));
  const uint64_t head_bytes = head.size();
  capacity_bytes_ = capacity_bytes;
  written_until_ = 0;
  AppendZeroAhead(head_bytes, &head);
  GRID_RETURN_IF_ERROR(file->WriteAt(0, head));
  GRID_RETURN_IF_ERROR(file->Sync());
  GRID_RETURN_IF_ERROR(env_->Rename(tmp, PathOf(name)));
  dir_dirty_ = true;
  segments_.push_back({sequence, first_index, name});
  file_ = std::move(file);
  offset_ = head_bytes;
  unsynced_ = false;
  return Status::Ok();
}

Result<bool> Wal::Exists(const Options& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  auto names = env->ListDir(options.dir);
  if (!names.ok()) return false;  // a missing or unreadable dir holds no log
  uint64_t seq, first;
  for (const std::string& n : names.value()) {
    if (ParseSegmentName(n, &seq, &first)) return true;
  }
  return false;
}

Result<std::unique_ptr<Wal>> Wal::Create(const Options& options, const Metadata& metadata) {
  GRID_RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<Wal> wal(new Wal(options));
  Env* env = wal->env_;
  GRID_RETURN_IF_ERROR(env->CreateDirIfMissing(options.dir));
  GRID_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(options.dir));
  uint64_t seq, first;
  for (const std::string& n : names) {
    if (ParseSegmentName(n, &seq, &first)) {
      return AlreadyExists(fmt::format("wal: {} already holds segment {}", options.dir, n));
    }
  }
  for (const std::string& n : names) {
    if (IsTempSegment(n)) GRID_RETURN_IF_ERROR(env->RemoveFile(wal->PathOf(n)));
  }
  wal->metadata_ = metadata;
  GRID_RETURN_IF_ERROR(wal->CreateSegment(1, 1, options.segment_bytes, wal->Preamble()));
  GRID_RETURN_IF_ERROR(env->SyncDir(options.dir));
  wal->dir_dirty_ = false;
  return wal;
}

Result<std::unique_ptr<Wal>> Wal::Open(const Options& options, ReplayResult* out) {
  GRID_RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<Wal> wal(new Wal(options));
  Env* env = wal->env_;
  GRID_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(options.dir));
  for (const std::string& n : names) {
    // A leftover from a crash while creating a segment: it was never part of the log.
    if (IsTempSegment(n)) GRID_RETURN_IF_ERROR(env->RemoveFile(wal->PathOf(n)));
  }
  std::vector<Segment>& segs = wal->segments_;
  for (const std::string& n : names) {
    uint64_t seq, first;
    if (ParseSegmentName(n, &seq, &first)) segs.push_back({seq, first, n});
  }
  if (segs.empty()) return NotFound(fmt::format("wal: no segments in {}", options.dir));
  std::sort(segs.begin(), segs.end(),
            [](const Segment& a, const Segment& b) { return a.sequence < b.sequence; });
  for (size_t i = 1; i < segs.size(); ++i) {
    if (segs[i].sequence != segs[i - 1].sequence + 1) {
      return Corruption(
          fmt::format("wal: missing segment between {} and {}", segs[i - 1].name, segs[i].name));
    }
  }

  Replayer replay(segs.front().first_index);
  SegmentScan scan;
  std::unique_ptr<File> file;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment& seg = segs[i];
    const bool is_last = i + 1 == segs.size();
    if (i > 0) {
      Status s = replay.BeginSegment(seg.first_index);
      if (!s.ok()) {
        return Corruption(fmt::format("wal: {} in {} at offset 0", s.message(), seg.name));
      }
    }
    GRID_ASSIGN_OR_RETURN(file, env->OpenFile(wal->PathOf(seg.name)));
    scan = SegmentScan();
    GRID_RETURN_IF_ERROR(ScanSegment(file.get(), seg.name, is_last, &replay, &scan));
    if (i == 0 && !replay.has_metadata()) {
      return Corruption(
          fmt::format("wal: no metadata record in {} at offset {}", seg.name, kSegmentHeaderBytes));
    }
  }

  // Repair the last segment so appends continue on a clean, fully allocated file.
  const std::string& last_name = segs.back().name;
  bool repaired = false;
  if (scan.torn_bytes > 0) {
    wal->logger_->warn("wal: dropped torn tail of {} bytes in {} at offset {}", scan.torn_bytes,
                       last_name, scan.end_offset);
    std::string zeros(std::min(scan.torn_bytes, kZeroChunkBytes), '\0');
    for (uint64_t done = 0; done < scan.torn_bytes; done += zeros.size()) {
      uint64_t n = std::min<uint64_t>(zeros.size(), scan.torn_bytes - done);
      GRID_RETURN_IF_ERROR(
          file->WriteAt(scan.end_offset + done, std::string_view(zeros.data(), n)));
    }
    repaired = true;
  }
  if (scan.file_bytes < scan.header.capacity_bytes) {
    GRID_RETURN_IF_ERROR(file->Allocate(scan.header.capacity_bytes));
    repaired = true;
  }
  if (repaired) GRID_RETURN_IF_ERROR(file->Sync());

  ReplayResult& r = replay.result();
  r.torn_bytes_dropped = scan.torn_bytes;
  wal->metadata_ = r.metadata;
  wal->hard_state_ = r.hard_state;
  wal->snapshot_ = r.snapshot;
  wal->last_index_ = replay.last_index();
  wal->file_ = std::move(file);
  wal->capacity_bytes_ = scan.header.capacity_bytes;
  wal->offset_ = scan.end_offset;
  // What lies past the records may be unwritten preallocation; the next append zeroes ahead.
  wal->written_until_ = scan.end_offset;
  *out = std::move(r);
  return wal;
}

Status Wal::Fail(Status s) {
  if (!s.ok() && failed_.ok()) failed_ = s;
  return s;
}

void Wal::AppendZeroAhead(uint64_t end, std::string* out) {
  // Zeros go out only when the records reach what is written, then zero_ahead_bytes at once:
  // one extra flush of zeros per zero_ahead_bytes of log.
  if (end < written_until_) return;
  const uint64_t target = std::min(capacity_bytes_, end + options_.zero_ahead_bytes);
  if (target > end) out->append(target - end, '\0');
  written_until_ = std::max(end, target);
}

Status Wal::Flush() {
  if (batch_.empty()) return Status::Ok();
  const uint64_t records = batch_.size();
  AppendZeroAhead(offset_ + records, &batch_);
  GRID_RETURN_IF_ERROR(file_->WriteAt(offset_, batch_));
  offset_ += records;
  batch_.clear();
  if (batch_.capacity() > kRetainedBatchBytes) batch_.shrink_to_fit();
  unsynced_ = true;
  return Status::Ok();
}

Status Wal::Roll(uint64_t record_bytes) {
  // The current segment must be complete on disk before a later one can exist: only the
  // last segment may end in a torn record.
  GRID_RETURN_IF_ERROR(file_->DataSync());
  unsynced_ = false;
  std::string preamble = Preamble();
  uint64_t capacity = std::max<uint64_t>(options_.segment_bytes,
                                         kSegmentHeaderBytes + preamble.size() + record_bytes);
  return CreateSegment(segments_.back().sequence + 1, last_index_ + 1, capacity, preamble);
}

Status Wal::Reserve(uint64_t record_bytes) {
  if (offset_ + batch_.size() + record_bytes <= capacity_bytes_) return Status::Ok();
  GRID_RETURN_IF_ERROR(Flush());
  return Roll(record_bytes);
}

Status Wal::WriteRecords(const std::vector<Entry>& entries, const HardState* hs,
                         const SnapshotMarker* marker) {
  batch_.clear();
  for (const Entry& e : entries) {
    GRID_RETURN_IF_ERROR(Reserve(RecordBytes(EntryPayloadBytes(e))));
    AppendEntryRecord(e, &batch_);
    last_index_ = e.index;
  }
  if (hs != nullptr) {
    std::string payload = EncodeHardState(*hs);
    GRID_RETURN_IF_ERROR(Reserve(RecordBytes(payload.size())));
    AppendRecord(RecordType::kHardState, payload, &batch_);
    hard_state_ = *hs;
  }
  if (marker != nullptr) {
    std::string payload = EncodeSnapshotMarker(*marker);
    GRID_RETURN_IF_ERROR(Reserve(RecordBytes(payload.size())));
    AppendRecord(RecordType::kSnapshotMarker, payload, &batch_);
    snapshot_ = *marker;
    last_index_ = std::max(last_index_, marker->index);
  }
  return Flush();
}

Status Wal::Append(const std::vector<Entry>& entries, const HardState* hs) {
  GRID_RETURN_IF_ERROR(failed_);
  if (!entries.empty()) {
    const uint64_t first = entries.front().index;
    if (first > last_index_ + 1) {
      return InvalidArgument(
          fmt::format("wal: entry index {} leaves a gap after last index {}", first, last_index_));
    }
    if (first <= snapshot_.index) {
      return InvalidArgument(fmt::format("wal: entry index {} is at or below the snapshot index {}",
                                         first, snapshot_.index));
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      if (e.index != first + i) {
        return InvalidArgument(
            fmt::format("wal: entry index {} does not follow {}", e.index, first + i - 1));
      }
      if (EntryPayloadBytes(e) > options_.max_record_bytes) {
        return InvalidArgument(
            fmt::format("wal: entry {} is {} bytes, more than max_record_bytes {}", e.index,
                        EntryPayloadBytes(e), options_.max_record_bytes));
      }
    }
  }
  if (entries.empty() && hs == nullptr) return Status::Ok();
  return Fail(WriteRecords(entries, hs, nullptr));
}

Status Wal::Sync() {
  GRID_RETURN_IF_ERROR(failed_);
  if (unsynced_) {
    GRID_RETURN_IF_ERROR(Fail(file_->DataSync()));
    unsynced_ = false;
  }
  if (dir_dirty_) {
    GRID_RETURN_IF_ERROR(Fail(env_->SyncDir(options_.dir)));
    dir_dirty_ = false;
  }
  return Status::Ok();
}

Status Wal::SaveSnapshotMarker(const SnapshotMarker& marker) {
  GRID_RETURN_IF_ERROR(failed_);
  if (marker.index < snapshot_.index) {
    return InvalidArgument(fmt::format("wal: snapshot index {} is below the previous one {}",
                                       marker.index, snapshot_.index));
  }
  GRID_RETURN_IF_ERROR(Fail(WriteRecords({}, nullptr, &marker)));
  return Sync();
}

Status Wal::ReleaseBefore(uint64_t index) {
  GRID_RETURN_IF_ERROR(failed_);
  size_t released = 0;
  Status s;
  // Oldest first, so a failure leaves a contiguous suffix of segments.
  while (released + 1 < segments_.size() && segments_[released + 1].first_index <= index) {
    s = env_->RemoveFile(PathOf(segments_[released].name));
    if (!s.ok()) break;
    ++released;
  }
  if (released > 0) {
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(released));
    dir_dirty_ = true;
  }
  return s;
}

}  // namespace grid::wal
