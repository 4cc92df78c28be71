#include "storage/wal/format.h"

#include <zlib.h>

#include <cstdio>
#include <cstring>

namespace grid::wal {

namespace {

uint32_t Crc(std::string_view data, uLong crc = 0) {
  // zlib's crc32 takes a uInt length; payloads are below kFormatMaxRecordBytes.
  return static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

void PutPadding(std::string* out, size_t record_start) {
  size_t len = out->size() - record_start;
  size_t padded = RecordBytes(len - kRecordHeaderBytes);
  out->append(padded - len, '\0');
}

}  // namespace

uint32_t RecordCrc(RecordType type, std::string_view payload) {
  char t = static_cast<char>(type);
  return Crc(payload, Crc(std::string_view(&t, 1)));
}

std::string EncodeSegmentHeader(const SegmentHeader& h) {
  std::string out;
  PutU64(&out, kSegmentMagic);
  PutU32(&out, kFormatVersion);
  PutU32(&out, 0);
  PutU64(&out, h.sequence);
  PutU64(&out, h.first_index);
  PutU64(&out, h.capacity_bytes);
  PutU32(&out, Crc(out));
  out.resize(kSegmentHeaderBytes, '\0');
  return out;
}

bool DecodeSegmentHeader(std::string_view data, SegmentHeader* h) {
  GRID_CHECK(data.size() >= kSegmentHeaderBytes);
  const char* p = data.data();
  if (GetU64(p) != kSegmentMagic || GetU32(p + 8) != kFormatVersion) return false;
  if (GetU32(p + 40) != Crc(data.substr(0, 40))) return false;
  h->sequence = GetU64(p + 16);
  h->first_index = GetU64(p + 24);
  h->capacity_bytes = GetU64(p + 32);
  return true;
}

std::string SegmentName(uint64_t sequence, uint64_t first_index) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%016llx-%016llx.wal", static_cast<unsigned long long>(sequence),
                static_cast<unsigned long long>(first_index));
  return buf;
}

bool ParseSegmentName(std::string_view name, uint64_t* sequence, uint64_t* first_index) {
  // 16 hex + '-' + 16 hex + ".wal"
  if (name.size() != 37 || name[16] != '-' || name.substr(33) != ".wal") return false;
  auto parse_hex = [](std::string_view s, uint64_t* v) {
    *v = 0;
    for (char c : s) {
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        return false;
      }
      *v = (*v << 4) | static_cast<uint64_t>(d);
    }
    return true;
  };
  return parse_hex(name.substr(0, 16), sequence) && parse_hex(name.substr(17, 16), first_index);
}

void AppendRecord(RecordType type, std::string_view payload, std::string* out) {
  size_t start = out->size();
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU32(out, RecordCrc(type, payload));
  out->push_back(static_cast<char>(type));
  out->append(payload);
  PutPadding(out, start);
}

void AppendEntryRecord(const Entry& e, std::string* out) {
  size_t start = out->size();
  PutU32(out, static_cast<uint32_t>(EntryPayloadBytes(e)));
  PutU32(out, 0);  // crc, filled below
  out->push_back(static_cast<char>(RecordType::kEntry));
  size_t payload_start = out->size();
  PutU64(out, e.term);
  PutU64(out, e.index);
  PutU32(out, e.type);
  out->append(e.data);
  uint32_t crc = RecordCrc(RecordType::kEntry, std::string_view(out->data() + payload_start,
                                                                out->size() - payload_start));
  for (int i = 0; i < 4; ++i) (*out)[start + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  PutPadding(out, start);
}

std::string EncodeHardState(const HardState& hs) {
  std::string out;
  PutU64(&out, hs.term);
  PutU64(&out, hs.vote);
  PutU64(&out, hs.commit);
  return out;
}

std::string EncodeSnapshotMarker(const SnapshotMarker& m) {
  std::string out;
  PutU64(&out, m.index);
  PutU64(&out, m.term);
  return out;
}

std::string EncodeMetadata(const Metadata& m) {
  std::string out;
  PutU64(&out, m.cluster_id);
  PutU64(&out, m.member_id);
  return out;
}

bool DecodeEntry(std::string_view payload, Entry* e) {
  if (payload.size() < kEntryFixedBytes) return false;
  e->term = GetU64(payload.data());
  e->index = GetU64(payload.data() + 8);
  e->type = GetU32(payload.data() + 16);
  e->data.assign(payload.substr(kEntryFixedBytes));
  return true;
}

bool DecodeHardState(std::string_view payload, HardState* hs) {
  if (payload.size() != 24) return false;
  hs->term = GetU64(payload.data());
  hs->vote = GetU64(payload.data() + 8);
  hs->commit = GetU64(payload.data() + 16);
  return true;
}

bool DecodeSnapshotMarker(std::string_view payload, SnapshotMarker* m) {
  if (payload.size() != 16) return false;
  m->index = GetU64(payload.data());
  m->term = GetU64(payload.data() + 8);
  return true;
}

bool DecodeMetadata(std::string_view payload, Metadata* m) {
  if (payload.size() != 16) return false;
  m->cluster_id = GetU64(payload.data());
  m->member_id = GetU64(payload.data() + 8);
  return true;
}

}  // namespace grid::wal
