// On-disk encoding of revisions: the key family is keyed by revision so that a scan in key order
// is a scan in revision order.
//
//   8 bytes main (big-endian) | '_' | 8 bytes sub (big-endian) [| 't' for a deletion]
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/mvcc/store.h"

namespace grid::mvcc {

inline constexpr size_t kRevisionKeyBytes = 17;   // without the tombstone mark
inline constexpr char kTombstoneMark = 't';

void AppendRevisionKey(Revision rev, bool tombstone, std::string* out);
std::string RevisionKey(Revision rev, bool tombstone = false);
// Returns false when `key` is not a revision key.
bool ParseRevisionKey(std::string_view key, Revision* rev, bool* tombstone);

void AppendBigEndian64(uint64_t v, std::string* out);
// REQUIRES: bytes.size() >= 8.
uint64_t ReadBigEndian64(std::string_view bytes);

}  // namespace grid::mvcc
