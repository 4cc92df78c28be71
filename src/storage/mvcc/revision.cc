#include "storage/mvcc/revision.h"

namespace grid::mvcc {

void AppendBigEndian64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t ReadBigEndian64(std::string_view bytes) {
  GRID_CHECK(bytes.size() >= 8) << "short big-endian field";
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

void AppendRevisionKey(Revision rev, bool tombstone, std::string* out) {
  AppendBigEndian64(static_cast<uint64_t>(rev.main), out);
  out->push_back('_');
  AppendBigEndian64(static_cast<uint64_t>(rev.sub), out);
  if (tombstone) out->push_back(kTombstoneMark);
}

std::string RevisionKey(Revision rev, bool tombstone) {
  std::string out;
  out.reserve(kRevisionKeyBytes + 1);
  AppendRevisionKey(rev, tombstone, &out);
  return out;
}

bool ParseRevisionKey(std::string_view key, Revision* rev, bool* tombstone) {
  if (key.size() != kRevisionKeyBytes && key.size() != kRevisionKeyBytes + 1) return false;
  if (key[8] != '_') return false;
  if (key.size() == kRevisionKeyBytes + 1 && key[kRevisionKeyBytes] != kTombstoneMark) {
    return false;
  }
  rev->main = static_cast<int64_t>(ReadBigEndian64(key.substr(0, 8)));
  rev->sub = static_cast<int64_t>(ReadBigEndian64(key.substr(9, 8)));
  *tombstone = key.size() == kRevisionKeyBytes + 1;
  return true;
}

}  // namespace grid::mvcc
