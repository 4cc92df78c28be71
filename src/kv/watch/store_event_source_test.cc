#include "kv/watch/store_event_source.h"

#include <gtest/gtest.h>

namespace grid::kv::watch {
namespace {

// Returns a fixed page from EventsInRange; everything else is unused.
class PageStore final : public mvcc::Store {
 public:
  std::vector<mvccpb::Event> page;

  Result<std::vector<mvccpb::Event>> EventsInRange(std::string_view, std::string_view, int64_t,
                                                   int64_t, bool) const override {
    return page;
  }
  int64_t CurrentRevision() const override { return 9; }
  int64_t CompactedRevision() const override { return 2; }
  Result<mvcc::RangeResult> Range(std::string_view, std::string_view,
                                  const mvcc::RangeOptions&) const override {
    return Unimplemented("unused");
  }
  uint64_t ConsistentIndex() const override { return 0; }
  std::unique_ptr<mvcc::Batch> BeginBatch() override { return nullptr; }
  Status Compact(int64_t) override { return Unimplemented("unused"); }
  Result<std::vector<std::pair<std::string, std::string>>> ReadMeta(
      std::string_view) const override {
    return Unimplemented("unused");
  }
  Result<uint32_t> HashBackend() const override { return Unimplemented("unused"); }
  Result<mvcc::HashResult> HashKV(int64_t) const override { return Unimplemented("unused"); }
  Status Defragment() override { return Unimplemented("unused"); }
  int64_t DbSizeBytes() const override { return 0; }
  int64_t DbSizeInUseBytes() const override { return 0; }
  Status Checkpoint(const std::string&) const override { return Unimplemented("unused"); }
};

std::vector<mvccpb::Event> Revisions(std::vector<int64_t> revs) {
  std::vector<mvccpb::Event> out;
  for (int64_t r : revs) {
    mvccpb::Event ev;
    ev.mutable_kv()->set_mod_revision(r);
    out.push_back(ev);
  }
  return out;
}

std::vector<int64_t> RevisionsOf(const std::vector<mvccpb::Event>& events) {
  std::vector<int64_t> out;
  for (const auto& ev : events) out.push_back(ev.kv().mod_revision());
  return out;
}

TEST(StoreEventSourceTest, FullPageDropsItsPossiblyPartialLastRevision) {
  PageStore store;
  StoreEventSource source(&store, 4);
  store.page = Revisions({3, 4, 5, 5});  // full: revision 5 may continue
  EXPECT_EQ(RevisionsOf(source.EventsInRange("a", "", 3, 9, false).value()),
            (std::vector<int64_t>{3, 4}));
  store.page = Revisions({3, 4, 5});  // short page: complete
  EXPECT_EQ(RevisionsOf(source.EventsInRange("a", "", 3, 9, false).value()),
            (std::vector<int64_t>{3, 4, 5}));
  store.page = Revisions({6, 6, 6, 6});  // one revision filling the page: kept whole
  EXPECT_EQ(RevisionsOf(source.EventsInRange("a", "", 6, 9, false).value()),
            (std::vector<int64_t>{6, 6, 6, 6}));
  EXPECT_EQ(source.CurrentRevision(), 9);
  EXPECT_EQ(source.CompactedRevision(), 2);
}

}  // namespace
}  // namespace grid::kv::watch
