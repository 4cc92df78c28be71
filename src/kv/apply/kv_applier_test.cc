// Range, Put and DeleteRange as etcd 3.4's applier executes them.
#include "kv/apply/apply_test_util.h"
#include "kv/apply/errors.h"

namespace grid::kv {
namespace {

using testing::ApplyTest;

class RangeApplyTest : public ApplyTest {
 protected:
  void SetUp() override {
    ApplyTest::SetUp();
    MustPut("c", "3");  // rev 2: c v1 create 2 mod 2
    MustPut("a", "5");  // rev 3
    MustPut("b", "1");  // rev 4: b v1 create 4 mod 4
    MustPut("a", "4");  // rev 5: a v2 create 3 mod 5
  }
};

TEST_F(RangeApplyTest, SortTargetsAndOrders) {
  struct Case {
    std::string options;
    std::vector<std::string> keys;
  };
  const Case cases[] = {
      {"", {"a", "b", "c"}},
      {"sort_order: ASCEND", {"a", "b", "c"}},
      {"sort_order: DESCEND", {"c", "b", "a"}},
      {"sort_target: VERSION", {"b", "c", "a"}},  // not KEY: ascending by default
      {"sort_target: VERSION sort_order: DESCEND", {"a", "b", "c"}},
      {"sort_target: CREATE", {"c", "a", "b"}},
      {"sort_target: CREATE sort_order: DESCEND", {"b", "a", "c"}},
      {"sort_target: MOD sort_order: ASCEND", {"c", "b", "a"}},
      {"sort_target: MOD sort_order: DESCEND", {"a", "b", "c"}},
      {"sort_target: VALUE", {"b", "c", "a"}},
      {"sort_target: VALUE sort_order: DESCEND", {"a", "c", "b"}},
      {"sort_target: VALUE keys_only: true", {"b", "c", "a"}},
  };
  for (const Case& c : cases) {
    auto r = Range("key: 'a' range_end: '\\000' " + c.options);
    ASSERT_TRUE(r.ok()) << c.options;
    EXPECT_EQ(Keys(r.value()), c.keys) << c.options;
    EXPECT_EQ(r->count(), 3) << c.options;
    EXPECT_FALSE(r->more()) << c.options;
    EXPECT_EQ(r->header().revision(), 5);
  }
  auto keys_only = Range("key: 'a' range_end: 'z' sort_target: VALUE keys_only: true");
  EXPECT_EQ(keys_only->kvs(0).value(), "");
}

TEST_F(RangeApplyTest, LimitAndMore) {
  struct Case {
    std::string options;
    std::vector<std::string> keys;
    bool more;
  };
  const Case cases[] = {
      {"limit: 1", {"a"}, true},
      {"limit: 2", {"a", "b"}, true},
      {"limit: 3", {"a", "b", "c"}, false},  // at the number of keys
      {"limit: 4", {"a", "b", "c"}, false},
      {"limit: 0", {"a", "b", "c"}, false},
      {"limit: -1", {"a", "b", "c"}, false},
      {"limit: 2 sort_target: MOD sort_order: DESCEND", {"a", "b"}, true},
      {"limit: 1 sort_order: DESCEND", {"c"}, true},
      {"limit: 1 min_mod_revision: 4", {"a"}, true},
      {"limit: 2 min_mod_revision: 4", {"a", "b"}, false},
      {"limit: 1 count_only: true", {}, false},
  };
  for (const Case& c : cases) {
    auto r = Range("key: 'a' range_end: '\\000' " + c.options);
    ASSERT_TRUE(r.ok()) << c.options;
    EXPECT_EQ(Keys(r.value()), c.keys) << c.options;
    EXPECT_EQ(r->more(), c.more) << c.options;
    EXPECT_EQ(r->count(), 3) << c.options;  // count ignores limit and filters
  }
}

TEST_F(RangeApplyTest, RevisionFilters) {
  struct Case {
    std::string options;
    std::vector<std::string> keys;
  };
  const Case cases[] = {
      {"min_mod_revision: 4", {"a", "b"}},
      {"max_mod_revision: 4", {"b", "c"}},
      {"min_create_revision: 3", {"a", "b"}},
      {"max_create_revision: 3", {"a", "c"}},
      {"min_mod_revision: 3 max_mod_revision: 4", {"b"}},
      {"min_create_revision: 9", {}},
  };
  for (const Case& c : cases) {
    auto r = Range("key: 'a' range_end: 'd' " + c.options);
    ASSERT_TRUE(r.ok()) << c.options;
    EXPECT_EQ(Keys(r.value()), c.keys) << c.options;
    EXPECT_EQ(r->count(), 3) << c.options;
  }
}

TEST_F(RangeApplyTest, KeysOnlyCountOnlyAndRevisions) {
  auto keys_only = Range("key: 'a' keys_only: true");
  ASSERT_EQ(keys_only->kvs_size(), 1);
  EXPECT_EQ(keys_only->kvs(0).value(), "");
  EXPECT_EQ(keys_only->kvs(0).version(), 2);
  auto count_only = Range("key: 'a' range_end: '\\000' count_only: true");
  EXPECT_EQ(count_only->kvs_size(), 0);
  EXPECT_EQ(count_only->count(), 3);
  auto old = Range("key: 'a' revision: 3");
  EXPECT_EQ(old->kvs(0).value(), "5");
  EXPECT_EQ(old->header().revision(), 5);
  auto future = Range("key: 'a' revision: 6");
  EXPECT_EQ(future.status().code(), Code::kOutOfRange);
  EXPECT_EQ(future.status().message(), "etcdserver: mvcc: required revision is a future revision");
  ASSERT_TRUE(store_->Compact(4).ok());
  auto compacted = Range("key: 'a' revision: 3");
  EXPECT_EQ(compacted.status().code(), Code::kOutOfRange);
  EXPECT_EQ(compacted.status().message(),
            "etcdserver: mvcc: required revision has been compacted");
}

TEST_F(ApplyTest, PutPrevKvLeasesAndHeader) {
  leases_.ids = {7, 8};
  auto first = Put("key: 'k' value: 'v1' lease: 7 prev_kv: true");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_prev_kv());
  EXPECT_EQ(first->header().revision(), 2);
  auto second = Put("key: 'k' value: 'v2' lease: 8 prev_kv: true");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->prev_kv().value(), "v1");
  EXPECT_EQ(second->prev_kv().lease(), 7);
  EXPECT_EQ(second->header().revision(), 3);
  auto third = Put("key: 'k' value: 'v3'");
  EXPECT_FALSE(third->has_prev_kv());  // not asked
  EXPECT_EQ(leases_.log, (std::vector<std::string>{"attach 7 k", "detach 7 k", "attach 8 k",
                                                   "detach 8 k"}));
}

TEST_F(ApplyTest, PutErrors) {
  auto no_lease = Put("key: 'k' value: 'v' lease: 99");
  EXPECT_EQ(no_lease.status().code(), Code::kNotFound);
  EXPECT_EQ(no_lease.status().message(), "etcdserver: requested lease not found");
  auto ignore_value = Put("key: 'k' ignore_value: true");
  EXPECT_EQ(ignore_value.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ignore_value.status().message(), "etcdserver: key not found");
  auto ignore_lease = Put("key: 'k' value: 'v' ignore_lease: true");
  EXPECT_EQ(ignore_lease.status().message(), "etcdserver: key not found");
  // A missing lease is reported before a missing key, as etcd's single Put does.
  EXPECT_EQ(Put("key: 'k' ignore_value: true lease: 99").status().message(), kErrLeaseNotFound);
  EXPECT_EQ(store_->CurrentRevision(), 1);  // nothing written: still the empty store's
  EXPECT_TRUE(leases_.log.empty());
}

TEST_F(ApplyTest, IgnoreValueAndIgnoreLease) {
  leases_.ids = {7, 8};
  MustPut("k", "orig", 7);
  ASSERT_TRUE(Put("key: 'k' ignore_value: true lease: 8").ok());
  auto r = Range("key: 'k'");
  EXPECT_EQ(r->kvs(0).value(), "orig");
  EXPECT_EQ(r->kvs(0).lease(), 8);
  ASSERT_TRUE(Put("key: 'k' value: 'new' ignore_lease: true").ok());
  r = Range("key: 'k'");
  EXPECT_EQ(r->kvs(0).value(), "new");
  EXPECT_EQ(r->kvs(0).lease(), 8);
  EXPECT_EQ(r->kvs(0).version(), 3);
}

TEST_F(ApplyTest, DeleteRangePrevKvsLeasesAndHeader) {
  leases_.ids = {7};
  MustPut("a", "1", 7);
  MustPut("b", "2");
  MustPut("c", "3");
  auto none = Delete("key: 'x'");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->deleted(), 0);
  EXPECT_EQ(none->header().revision(), 4);  // nothing deleted: no new revision
  auto del = Delete("key: 'a' range_end: 'c' prev_kv: true");
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->deleted(), 2);
  ASSERT_EQ(del->prev_kvs_size(), 2);
  EXPECT_EQ(del->prev_kvs(0).key(), "a");
  EXPECT_EQ(del->prev_kvs(1).value(), "2");
  EXPECT_EQ(del->header().revision(), 5);
  EXPECT_EQ(leases_.log.back(), "detach 7 a");
  auto all = Delete("key: 'a' range_end: '\\000'");
  EXPECT_EQ(all->deleted(), 1);
  EXPECT_EQ(all->prev_kvs_size(), 0);
  EXPECT_EQ(Range("key: 'a' range_end: '\\000'")->count(), 0);
}

}  // namespace
}  // namespace grid::kv
