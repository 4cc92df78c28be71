// Pure pieces of mirroring: which keys are mirrored, the watch range covering them, how
// watched events become bounded standby transactions, how one page of the initial copy is
// compared with the standby, and the progress record. No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "etcd/kv.pb.h"

namespace grid::mas::mirror {

// etcd's default --max-txn-ops: the most operations in one branch of a transaction.
inline constexpr int kStoreMaxTxnOps = 128;

// The mirrored key space: every key starting with one of `prefixes`, except the mirror's
// own keys (those starting with `own_prefix`), which are never mirrored in either direction.
class KeyFilter {
 public:
  // Prefixes must not nest (one a prefix of another); "" alone means every key.
  static Result<KeyFilter> Make(std::vector<std::string> prefixes, std::string own_prefix);

  bool Mirrored(std::string_view key) const;
  const std::vector<std::string>& prefixes() const { return prefixes_; }
  // [key, range_end) of the smallest single range holding every mirrored key and, when
  // `with_own` is set, the own prefix too. range_end "\0" means the end of the key space.
  std::pair<std::string, std::string> CoveringRange(bool with_own) const;

 private:
  std::vector<std::string> prefixes_;  // sorted
  std::string own_prefix_;
};

// One standby operation: a put (value set) or a delete of one key.
struct KeyOp {
  std::string key;
  std::optional<std::string> value;  // nullopt = delete
  friend bool operator==(const KeyOp&, const KeyOp&) = default;
};

// Consecutive primary revisions applied by one standby transaction.
struct Batch {
  int64_t first_revision = 0;
  int64_t last_revision = 0;  // the progress recorded with this batch
  std::vector<KeyOp> ops;
  // True when the batch holds only part of `last_revision`'s events (one primary revision
  // with more events than fit in one transaction); the progress then stays before it.
  bool partial = false;
};

struct BatchLimits {
  int max_ops = kStoreMaxTxnOps - 1;  // data ops per transaction; the progress put is one more
  int64_t max_bytes = 1 << 20;        // keys + values per transaction
};

// Splits `events` (in revision order, whole revisions only, as a watch response delivers
// them) into batches: every batch holds whole revisions, as many as fit in `limits`; a
// revision that alone exceeds them is split into partial batches (all but the last
// partial). A key changed by several revisions of one batch appears once, with its last
// change (a transaction may name a key only once). Events on keys `filter` does not mirror are dropped; a revision with none left
// still advances the progress (a batch without ops is returned only when nothing else
// carries that progress). Puts drop their lease: leases are not mirrored.
std::vector<Batch> PlanBatches(const std::vector<mvccpb::Event>& events, const KeyFilter& filter,
                               const BatchLimits& limits);

// The operations that make the standby's keys of one page range equal to the primary's:
// `primary` and `standby` are the keys of the same range, both sorted by key. Keys with
// equal values are left alone; keys only on the standby are deleted.
struct PageDiff {
  std::vector<KeyOp> ops;
  int64_t unchanged = 0;
};
PageDiff DiffPage(const std::vector<mvccpb::KeyValue>& primary,
                  const std::vector<mvccpb::KeyValue>& standby, const KeyFilter& filter);

// The progress record stored on the standby at <own prefix>/progress. `revision` is the last
// primary revision fully applied; while a full copy at `copy_revision` is under way the
// record carries copying = true and no usable revision.
struct Progress {
  int64_t revision = 0;
  bool copying = false;
  int64_t copy_revision = 0;
  friend bool operator==(const Progress&, const Progress&) = default;
};
std::string EncodeProgress(const Progress& p);
Result<Progress> DecodeProgress(std::string_view value);

}  // namespace grid::mas::mirror
