// On-disk format of the write-ahead log: record types, segment header and record framing.
// See README.md for the byte layout. All integers are little-endian.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/little_endian.h"  // PutU32/PutU64/GetU32/GetU64 of the record format
#include "common/status.h"

namespace grid::wal {

// A Raft log entry.
struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  uint32_t type = 0;  // kEntryNormal or kEntryConfChange
  std::string data;

  bool operator==(const Entry&) const = default;
};
inline constexpr uint32_t kEntryNormal = 0;
inline constexpr uint32_t kEntryConfChange = 1;

struct HardState {
  uint64_t term = 0;
  uint64_t vote = 0;
  uint64_t commit = 0;

  bool operator==(const HardState&) const = default;
};

// Marks that the state machine holds everything up to and including `index`; replay returns
// only entries after it.
struct SnapshotMarker {
  uint64_t index = 0;
  uint64_t term = 0;

  bool operator==(const SnapshotMarker&) const = default;
};

// Identity written when the log is created and repeated at the start of every segment.
struct Metadata {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;

  bool operator==(const Metadata&) const = default;
};

enum class RecordType : uint8_t {
  kEntry = 1,
  kHardState = 2,
  kSnapshotMarker = 3,
  kMetadata = 4,
};

// Segment header: [u64 magic][u32 format_version][u32 reserved = 0][u64 sequence]
// [u64 first_index][u64 capacity_bytes][u32 crc of the preceding 40 bytes], zero-padded.
inline constexpr uint64_t kSegmentMagic = 0x4c41572d44495247ULL;  // "GRID-WAL" little-endian
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderBytes = 64;

// Record header: [u32 payload_length][u32 crc32(type byte + payload)][u8 record_type].
inline constexpr size_t kRecordHeaderBytes = 9;
inline constexpr size_t kRecordAlignBytes = 8;
// Fixed part of an entry payload: term, index, type; the entry's data follows.
inline constexpr size_t kEntryFixedBytes = 20;
// Hard ceiling on a record payload, independent of Options; a larger length field is
// corruption.
inline constexpr uint32_t kFormatMaxRecordBytes = 256u << 20;

struct SegmentHeader {
  uint64_t sequence = 0;
  uint64_t first_index = 0;
  uint64_t capacity_bytes = 0;  // the preallocated size of the segment file
};

// Bytes a record with `payload_bytes` of payload occupies on disk, padding included.
constexpr uint64_t RecordBytes(uint64_t payload_bytes) {
  uint64_t n = kRecordHeaderBytes + payload_bytes;
  return (n + kRecordAlignBytes - 1) / kRecordAlignBytes * kRecordAlignBytes;
}
constexpr uint64_t EntryPayloadBytes(const Entry& e) { return kEntryFixedBytes + e.data.size(); }

// zlib's crc32 over the record type byte followed by the payload.
uint32_t RecordCrc(RecordType type, std::string_view payload);

std::string EncodeSegmentHeader(const SegmentHeader& h);
// REQUIRES: data.size() >= kSegmentHeaderBytes. Returns false on a bad magic, version or crc.
bool DecodeSegmentHeader(std::string_view data, SegmentHeader* h);

// "%016llx-%016llx.wal" of (sequence, first_index).
std::string SegmentName(uint64_t sequence, uint64_t first_index);
// Parses a segment name; false if `name` is not one.
bool ParseSegmentName(std::string_view name, uint64_t* sequence, uint64_t* first_index);

// Appends one framed, padded record to *out.
void AppendRecord(RecordType type, std::string_view payload, std::string* out);
// Appends a framed entry record without building the payload separately.
void AppendEntryRecord(const Entry& e, std::string* out);

std::string EncodeHardState(const HardState& hs);
std::string EncodeSnapshotMarker(const SnapshotMarker& m);
std::string EncodeMetadata(const Metadata& m);

// Decoders return false when the payload has the wrong size.
bool DecodeEntry(std::string_view payload, Entry* e);
bool DecodeHardState(std::string_view payload, HardState* hs);
bool DecodeSnapshotMarker(std::string_view payload, SnapshotMarker* m);
bool DecodeMetadata(std::string_view payload, Metadata* m);

}  // namespace grid::wal
