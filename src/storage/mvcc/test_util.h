// Helpers shared by the mvcc tests: a temp directory per test and short write helpers.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"
#include "storage/mvcc/store.h"

namespace grid::mvcc::testing {

// A temp directory per test.
class TempDir : public ::grid::testing::TempDir {
 public:
  TempDir() : ::grid::testing::TempDir("mvcc_test") {}
};

inline Options WithLimits(size_t max_events_per_read, size_t compaction_batch_limit) {
  Options o;
  o.max_events_per_read = max_events_per_read;
  o.compaction_batch_limit = compaction_batch_limit;
  return o;
}

inline std::unique_ptr<Store> OpenStore(const std::string& dir, Options options = {}) {
  options.dir = dir;
  auto store = Store::Open(options);
  GRID_CHECK(store.ok()) << store.status().ToString();
  return std::move(store).value();
}

// One Put in its own batch and revision.
inline void Put(Store& store, const std::string& key, const std::string& value,
                int64_t lease = 0) {
  auto batch = store.BeginBatch();
  batch->BeginTxn().Put(key, value, lease);
  batch->EndTxn();
  ASSERT_TRUE(batch->Commit().ok());
}

inline void Delete(Store& store, const std::string& key, const std::string& end = "") {
  auto batch = store.BeginBatch();
  batch->BeginTxn().DeleteRange(key, end);
  batch->EndTxn();
  ASSERT_TRUE(batch->Commit().ok());
}

inline RangeResult Get(const ReadView& view, const std::string& key, const std::string& end = "",
                       RangeOptions options = {}) {
  auto r = view.Range(key, end, options);
  GRID_CHECK(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

}  // namespace grid::mvcc::testing
