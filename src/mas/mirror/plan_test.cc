#include "mas/mirror/plan.h"

#include <gtest/gtest.h>

namespace grid::mas::mirror {
namespace {

mvccpb::Event Put(const std::string& key, const std::string& value, int64_t revision) {
  mvccpb::Event e;
  e.set_type(mvccpb::Event::PUT);
  e.mutable_kv()->set_key(key);
  e.mutable_kv()->set_value(value);
  e.mutable_kv()->set_mod_revision(revision);
  e.mutable_kv()->set_lease(7);
  return e;
}

mvccpb::Event Del(const std::string& key, int64_t revision) {
  mvccpb::Event e;
  e.set_type(mvccpb::Event::DELETE);
  e.mutable_kv()->set_key(key);
  e.mutable_kv()->set_mod_revision(revision);
  return e;
}

mvccpb::KeyValue Kv(const std::string& key, const std::string& value) {
  mvccpb::KeyValue kv;
  kv.set_key(key);
  kv.set_value(value);
  return kv;
}

KeyFilter Filter(std::vector<std::string> prefixes = {"/a/", "/b/"}) {
  auto f = KeyFilter::Make(std::move(prefixes), "/m/");
  GRID_CHECK(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

TEST(KeyFilterTest, PrefixesOwnKeysAndCoveringRange) {
  KeyFilter f = Filter();
  EXPECT_TRUE(f.Mirrored("/a/x"));
  EXPECT_TRUE(f.Mirrored("/b/"));
  EXPECT_FALSE(f.Mirrored("/a"));
  EXPECT_FALSE(f.Mirrored("/ab"));
  EXPECT_FALSE(f.Mirrored("/c/x"));
  EXPECT_EQ(f.CoveringRange(false), (std::pair<std::string, std::string>{"/a/", "/b0"}));
  EXPECT_EQ(f.CoveringRange(true), (std::pair<std::string, std::string>{"/a/", "/m0"}));

  KeyFilter all = Filter({""});
  EXPECT_TRUE(all.Mirrored("anything"));
  EXPECT_FALSE(all.Mirrored("/m/progress")) << "the mirror's own keys are never mirrored";
  EXPECT_EQ(all.CoveringRange(true), (std::pair<std::string, std::string>{"", std::string(1, '\0')}));

  EXPECT_EQ(KeyFilter::Make({"/a/", "/a/b/"}, "/m/").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFilter::Make({"", "/a/"}, "/m/").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFilter::Make({}, "/m/").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KeyFilter::Make({"/a/"}, "").status().code(), Code::kInvalidArgument);
}

TEST(PlanBatchesTest, WholeRevisionsPerBatchUpToTheOpLimit) {
  // Revisions 5 (2 ops), 6 (2 ops, one outside the prefixes), 7 (2 ops), 8 (1 op).
  std::vector<mvccpb::Event> events = {Put("/a/1", "x", 5), Put("/b/1", "y", 5),
                                       Put("/a/2", "z", 6), Put("/c/1", "no", 6),
                                       Del("/a/1", 7),      Put("/b/2", "w", 7),
                                       Del("/b/1", 8)};
  BatchLimits limits;
  limits.max_ops = 3;
  auto batches = PlanBatches(events, Filter(), limits);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].first_revision, 5);
  EXPECT_EQ(batches[0].last_revision, 6);
  EXPECT_EQ(batches[0].ops, (std::vector<KeyOp>{{"/a/1", "x"}, {"/b/1", "y"}, {"/a/2", "z"}}));
  EXPECT_EQ(batches[1].first_revision, 7);
  EXPECT_EQ(batches[1].last_revision, 8);
  EXPECT_EQ(batches[1].ops,
            (std::vector<KeyOp>{{"/a/1", std::nullopt}, {"/b/2", "w"}, {"/b/1", std::nullopt}}));
  EXPECT_FALSE(batches[1].partial);
}

std::vector<mvccpb::Event> OneRevision(int n, int64_t revision, const std::string& value = "v") {
  std::vector<mvccpb::Event> events;
  for (int i = 0; i < n; ++i) events.push_back(Put("/a/" + std::to_string(100 + i), value, revision));
  return events;
}

TEST(PlanBatchesTest, ARevisionOfExactlyMaxOpsIsOneBatch) {
  BatchLimits limits;  // the default: kStoreMaxTxnOps - 1 data ops + the progress put
  ASSERT_EQ(limits.max_ops, kStoreMaxTxnOps - 1);
  auto batches = PlanBatches(OneRevision(limits.max_ops, 9), Filter(), limits);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].ops.size(), static_cast<size_t>(limits.max_ops));
  EXPECT_FALSE(batches[0].partial);
}

TEST(PlanBatchesTest, ARevisionBeyondMaxOpsIsSplitAlone) {
  BatchLimits limits;
  limits.max_ops = 4;
  std::vector<mvccpb::Event> events = {Put("/a/0", "v", 8)};
  for (auto& e : OneRevision(9, 9)) events.push_back(e);
  events.push_back(Put("/b/0", "v", 10));
  auto batches = PlanBatches(events, Filter(), limits);
  ASSERT_EQ(batches.size(), 5u);
  EXPECT_EQ(batches[0].last_revision, 8);
  EXPECT_FALSE(batches[0].partial);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(batches[i].first_revision, 9);
    EXPECT_EQ(batches[i].last_revision, 9);
    EXPECT_EQ(batches[i].partial, i < 3) << i;
  }
  EXPECT_EQ(batches[1].ops.size(), 4u);
  EXPECT_EQ(batches[2].ops.size(), 4u);
  EXPECT_EQ(batches[3].ops.size(), 1u);
  EXPECT_EQ(batches[4].first_revision, 10);
}

TEST(PlanBatchesTest, ByteLimitAtAndBeyond) {
  BatchLimits limits;
  limits.max_bytes = 2 * (5 + 10);  // two puts of a 5-byte key and a 10-byte value
  std::vector<mvccpb::Event> events = {Put("/a/1", std::string(10, 'x'), 5),
                                       Put("/a/2", std::string(10, 'x'), 6),
                                       Put("/a/3", std::string(10, 'x'), 7)};
  auto batches = PlanBatches(events, Filter(), limits);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].ops.size(), 2u);
  EXPECT_EQ(batches[0].last_revision, 6);
  EXPECT_EQ(batches[1].ops.size(), 1u);
  // One value larger than the limit still goes, alone.
  auto big = PlanBatches({Put("/a/1", std::string(100, 'x'), 5)}, Filter(), limits);
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].ops.size(), 1u);
  EXPECT_FALSE(big[0].partial);
}

TEST(PlanBatchesTest, AKeyAppearsOnceWithItsLastChange) {
  auto batches = PlanBatches({Put("/a/1", "x", 5), Put("/a/2", "y", 5), Del("/a/1", 6),
                              Put("/a/2", "z", 7)},
                             Filter(), {});
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].last_revision, 7);
  EXPECT_EQ(batches[0].ops, (std::vector<KeyOp>{{"/a/1", std::nullopt}, {"/a/2", "z"}}));
}

TEST(PlanBatchesTest, FilteredRevisionsStillAdvanceTheProgress) {
  auto batches = PlanBatches({Put("/c/1", "v", 5), Put("/m/progress", "v", 6)}, Filter(), {});
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_TRUE(batches[0].ops.empty());
  EXPECT_EQ(batches[0].last_revision, 6);
  EXPECT_TRUE(PlanBatches({}, Filter(), {}).empty());
}

TEST(DiffPageTest, PutsChangedAndNewKeysDeletesStandbyOnlyKeys) {
  std::vector<mvccpb::KeyValue> primary = {Kv("/a/1", "same"), Kv("/a/2", "new"), Kv("/a/4", "x"),
                                           Kv("/c/1", "outside")};
  std::vector<mvccpb::KeyValue> standby = {Kv("/a/0", "stale"), Kv("/a/1", "same"),
                                           Kv("/a/2", "old"), Kv("/a/3", "stale"),
                                           Kv("/m/progress", "own")};
  PageDiff d = DiffPage(primary, standby, Filter());
  EXPECT_EQ(d.unchanged, 1);
  EXPECT_EQ(d.ops, (std::vector<KeyOp>{{"/a/0", std::nullopt},
                                       {"/a/2", "new"},
                                       {"/a/3", std::nullopt},
                                       {"/a/4", "x"}}));
  EXPECT_TRUE(DiffPage({}, {}, Filter()).ops.empty());
}

TEST(ProgressTest, RoundTripAndCorruptRecords) {
  Progress p{42, false, 0};
  EXPECT_EQ(DecodeProgress(EncodeProgress(p)).value(), p);
  Progress c{0, true, 17};
  EXPECT_EQ(DecodeProgress(EncodeProgress(c)).value(), c);
  EXPECT_EQ(DecodeProgress("42").status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeProgress("{}").status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeProgress(R"({"revision":-1})").status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeProgress(R"({"copying":true})").status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace grid::mas::mirror
