#include "storage/wal/reader.h"

#include <fmt/format.h>

#include <algorithm>

namespace grid::wal {

Status Replayer::BeginSegment(uint64_t first_index) const {
  if (first_index != last_index_ + 1) {
    return Corruption(
        fmt::format("index gap: segment starts at index {} but the log before it "
                    "ends at index {}",
                    first_index, last_index_));
  }
  return Status::Ok();
}

Status Replayer::ApplyEntry(Entry e) {
  if (e.index > last_index_ + 1) {
    return Corruption(fmt::format("index gap: entry {} follows index {}", e.index, last_index_));
  }
  if (e.index <= result_.snapshot.index) {
    return Corruption(fmt::format("entry {} is at or below the snapshot index {}", e.index,
                                  result_.snapshot.index));
  }
  auto& ents = result_.entries;
  while (!ents.empty() && ents.back().index >= e.index) ents.pop_back();
  last_index_ = e.index;
  ents.push_back(std::move(e));
  return Status::Ok();
}

void Replayer::ApplySnapshotMarker(const SnapshotMarker& m) {
  result_.snapshot = m;
  auto& ents = result_.entries;
  auto keep =
      std::find_if(ents.begin(), ents.end(), [&](const Entry& e) { return e.index > m.index; });
  ents.erase(ents.begin(), keep);
  last_index_ = std::max(last_index_, m.index);
}

Status Replayer::ApplyMetadata(const Metadata& m) {
  if (!has_metadata_) {
    result_.metadata = m;
    has_metadata_ = true;
    return Status::Ok();
  }
  if (!(m == result_.metadata)) {
    return Corruption(fmt::format(
        "metadata mismatch: cluster {:x} member {:x} after cluster {:x} "
        "member {:x}",
        m.cluster_id, m.member_id, result_.metadata.cluster_id, result_.metadata.member_id));
  }
  return Status::Ok();
}

namespace {

// Offset of the first non-zero byte in data[from, to), or `to`.
uint64_t FirstNonZero(const std::string& data, uint64_t from, uint64_t to) {
  for (uint64_t i = from; i < to; ++i) {
    if (data[i] != 0) return i;
  }
  return to;
}

// True if a complete record with a valid checksum starts at an aligned offset in
// (from, to). Only called on the rare torn-tail path.
bool HasValidRecordWithin(const std::string& data, uint64_t from, uint64_t to) {
  for (uint64_t q = from + kRecordAlignBytes; q + kRecordHeaderBytes <= to;
       q += kRecordAlignBytes) {
    const char* p = data.data() + q;
    uint8_t type = static_cast<uint8_t>(p[8]);
    if (type < static_cast<uint8_t>(RecordType::kEntry) ||
        type > static_cast<uint8_t>(RecordType::kMetadata)) {
      continue;
    }
    uint32_t len = GetU32(p);
    if (len > kFormatMaxRecordBytes || q + RecordBytes(len) > to) continue;
    std::string_view payload(p + kRecordHeaderBytes, len);
    if (RecordCrc(static_cast<RecordType>(type), payload) == GetU32(p + 4)) return true;
  }
  return false;
}

Status Bad(const std::string& what, const std::string& name, uint64_t offset) {
  return Corruption(fmt::format("wal: {} in {} at offset {}", what, name, offset));
}

Status ApplyRecord(RecordType type, std::string_view payload, Replayer* replay) {
  switch (type) {
    case RecordType::kEntry: {
      Entry e;
      if (!DecodeEntry(payload, &e)) return Corruption("bad entry record");
      return replay->ApplyEntry(std::move(e));
    }
    case RecordType::kHardState: {
      HardState hs;
      if (!DecodeHardState(payload, &hs)) return Corruption("bad hard state record");
      replay->ApplyHardState(hs);
      return Status::Ok();
    }
    case RecordType::kSnapshotMarker: {
      SnapshotMarker m;
      if (!DecodeSnapshotMarker(payload, &m)) return Corruption("bad snapshot marker record");
      replay->ApplySnapshotMarker(m);
      return Status::Ok();
    }
    case RecordType::kMetadata: {
      Metadata m;
      if (!DecodeMetadata(payload, &m)) return Corruption("bad metadata record");
      return replay->ApplyMetadata(m);
    }
  }
  return Corruption(fmt::format("unknown record type {}", static_cast<int>(type)));
}

}  // namespace

Status ScanSegment(File* file, const std::string& name, bool is_last, Replayer* replay,
                   SegmentScan* out) {
  GRID_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  out->file_bytes = size;
  std::string data;
  GRID_RETURN_IF_ERROR(file->ReadAt(0, size, &data));
  if (data.size() != size) return Bad("file shrank while reading", name, data.size());

  uint64_t seq = 0, first = 0;
  GRID_CHECK(ParseSegmentName(name, &seq, &first)) << name;
  if (size < kSegmentHeaderBytes || !DecodeSegmentHeader(data, &out->header)) {
    return Bad("bad segment header", name, 0);
  }
  const SegmentHeader& h = out->header;
  if (h.sequence != seq || h.first_index != first || h.capacity_bytes < kSegmentHeaderBytes) {
    return Bad("segment header does not match its name", name, 0);
  }
  if (size > h.capacity_bytes) {
    return Bad(fmt::format("file is longer than its capacity {}", h.capacity_bytes), name,
               h.capacity_bytes);
  }

  uint64_t o = kSegmentHeaderBytes;
  // Declares the record at `o` (extending to `extent`) torn if allowed, else corruption.
  // Torn means: in the last segment, only zeros after the record's extent, and no valid
  // record inside that extent (which a damaged length field would otherwise swallow).
  auto torn_or_bad = [&](const std::string& what, uint64_t extent) -> Status {
    extent = std::min(extent, size);
    if (is_last && FirstNonZero(data, extent, size) == size &&
        !HasValidRecordWithin(data, o, extent)) {
      out->end_offset = o;
      out->torn_bytes = extent - o;
      return Status::Ok();
    }
    return Bad(what, name, o);
  };

  while (true) {
    if (o >= size) break;
    uint64_t rem = size - o;
    if (rem < kRecordHeaderBytes) {
      if (FirstNonZero(data, o, size) == size) break;
      return torn_or_bad("truncated record header", size);
    }
    const char* p = data.data() + o;
    uint32_t len = GetU32(p);
    uint32_t crc = GetU32(p + 4);
    uint8_t type = static_cast<uint8_t>(p[8]);
    if (len == 0 && crc == 0 && type == 0) {
      // The end of the written part: everything after must be zero.
      if (FirstNonZero(data, o, size) == size) break;
      return Bad("zeroed record followed by data", name, o);
    }
    if (len > kFormatMaxRecordBytes || o + RecordBytes(len) > h.capacity_bytes) {
      return Bad(fmt::format("impossible record length {}", len), name, o);
    }
    uint64_t extent = o + RecordBytes(len);
    if (extent > size) return torn_or_bad("truncated record", extent);
    std::string_view payload(p + kRecordHeaderBytes, len);
    if (RecordCrc(static_cast<RecordType>(type), payload) != crc) {
      return torn_or_bad("checksum mismatch", extent);
    }
    if (FirstNonZero(data, o + kRecordHeaderBytes + len, extent) != extent) {
      return Bad("non-zero record padding", name, o);
    }
    Status s = ApplyRecord(static_cast<RecordType>(type), payload, replay);
    if (!s.ok()) return Bad(s.message(), name, o);
    o = extent;
  }
  out->end_offset = o;
  out->torn_bytes = 0;
  return Status::Ok();
}

}  // namespace grid::wal
