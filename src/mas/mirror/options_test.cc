#include <gtest/gtest.h>

#include "mas/mirror/mirror.h"

namespace grid::mas::mirror {
namespace {

MirrorOptions Valid() {
  MirrorOptions o;
  o.primary_endpoints = {"127.0.0.1:1"};
  o.standby_endpoints = {"127.0.0.1:2"};
  return o;
}

// Each named limit is accepted at its bound and refused one beyond it.
TEST(MirrorOptionsTest, LimitsAtAndBeyondTheirBounds) {
  EXPECT_TRUE(Validate(Valid()).ok());
  auto check = [](auto set, auto at, auto beyond) {
    MirrorOptions o = Valid();
    set(o, at);
    EXPECT_TRUE(Validate(o).ok()) << at;
    set(o, beyond);
    EXPECT_EQ(Validate(o).code(), Code::kInvalidArgument) << beyond;
  };
  check([](MirrorOptions& o, int64_t v) { o.page_size = v; }, kMaxPageSize, kMaxPageSize + 1);
  check([](MirrorOptions& o, int64_t v) { o.page_size = v; }, int64_t{1}, int64_t{0});
  check([](MirrorOptions& o, int v) { o.limits.max_ops = v; }, kStoreMaxTxnOps - 1,
        kStoreMaxTxnOps);
  check([](MirrorOptions& o, int v) { o.limits.max_ops = v; }, 1, 0);
  check([](MirrorOptions& o, int64_t v) { o.limits.max_bytes = v; }, kMaxTxnBytes,
        kMaxTxnBytes + 1);
  check([](MirrorOptions& o, size_t v) { o.max_queued_updates = v; }, kMaxQueuedUpdatesLimit,
        kMaxQueuedUpdatesLimit + 1);
  check([](MirrorOptions& o, size_t v) { o.max_queued_updates = v; }, size_t{1}, size_t{0});

  MirrorOptions o = Valid();
  o.standby_endpoints.clear();
  EXPECT_EQ(Validate(o).code(), Code::kInvalidArgument);
  o = Valid();
  o.max_backoff = o.min_backoff / 2;
  EXPECT_EQ(Validate(o).code(), Code::kInvalidArgument);
}

TEST(MirrorOptionsTest, CreateRefusesNestedPrefixes) {
  MirrorOptions o = Valid();
  o.prefixes = {"/a/", "/a/b/"};
  EXPECT_EQ(Mirror::Create(o).status().code(), Code::kInvalidArgument);
  o.prefixes = {"/a/"};
  auto m = Mirror::Create(o);  // connects lazily: nothing needs to be up
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->progress_key(), "/grid-mirror/default/progress");
  EXPECT_EQ((*m)->Stats().applied_txns, 0);
}

}  // namespace
}  // namespace grid::mas::mirror
