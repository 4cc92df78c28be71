// Txn: compares, branches, nested txns, reads of own writes, checks before writes.
#include "kv/apply/apply_test_util.h"
#include "kv/apply/errors.h"

namespace grid::kv {
namespace {

using testing::ApplyTest;

class TxnApplyTest : public ApplyTest {
 protected:
  void SetUp() override {
    ApplyTest::SetUp();
    leases_.ids = {5};
    MustPut("k", "v");        // rev 2
    MustPut("k", "v", 5);     // rev 3: k value v, version 2, create 2, mod 3, lease 5
  }
  bool Succeeded(const std::string& compare) {
    auto r = Txn("compare { " + compare + " }");
    GRID_CHECK(r.ok()) << r.status().ToString();
    return r->succeeded();
  }
};

TEST_F(TxnApplyTest, EveryCompareTargetAndResult) {
  struct Case {
    std::string compare;
    bool succeeded;
  };
  const Case cases[] = {
      {"key: 'k' target: VALUE result: EQUAL value: 'v'", true},
      {"key: 'k' target: VALUE result: EQUAL value: 'w'", false},
      {"key: 'k' target: VALUE result: NOT_EQUAL value: 'w'", true},
      {"key: 'k' target: VALUE result: GREATER value: 'u'", true},
      {"key: 'k' target: VALUE result: GREATER value: 'v'", false},
      {"key: 'k' target: VALUE result: LESS value: 'w'", true},
      {"key: 'k' target: VALUE result: LESS value: 'v'", false},
      {"key: 'k' target: VERSION result: EQUAL version: 2", true},
      {"key: 'k' target: VERSION result: NOT_EQUAL version: 2", false},
      {"key: 'k' target: VERSION result: GREATER version: 1", true},
      {"key: 'k' target: VERSION result: LESS version: 2", false},
      {"key: 'k' target: CREATE result: EQUAL create_revision: 2", true},
      {"key: 'k' target: CREATE result: GREATER create_revision: 2", false},
      {"key: 'k' target: CREATE result: LESS create_revision: 3", true},
      {"key: 'k' target: CREATE result: NOT_EQUAL create_revision: 0", true},
      {"key: 'k' target: MOD result: EQUAL mod_revision: 3", true},
      {"key: 'k' target: MOD result: LESS mod_revision: 3", false},
      {"key: 'k' target: MOD result: GREATER mod_revision: 2", true},
      {"key: 'k' target: MOD result: NOT_EQUAL mod_revision: 3", false},
      {"key: 'k' target: LEASE result: EQUAL lease: 5", true},
      {"key: 'k' target: LEASE result: NOT_EQUAL lease: 5", false},
      {"key: 'k' target: LEASE result: GREATER lease: 4", true},
      {"key: 'k' target: LEASE result: LESS lease: 5", false},
      // A missing key: VALUE always fails, the others compare against zero.
      {"key: 'missing' target: VALUE result: EQUAL value: ''", false},
      {"key: 'missing' target: VALUE result: NOT_EQUAL value: 'x'", false},
      {"key: 'missing' target: CREATE result: EQUAL create_revision: 0", true},
      {"key: 'missing' target: VERSION result: EQUAL version: 0", true},
      {"key: 'missing' target: MOD result: LESS mod_revision: 1", true},
      {"key: 'missing' target: LEASE result: EQUAL lease: 0", true},
  };
  for (const Case& c : cases) EXPECT_EQ(Succeeded(c.compare), c.succeeded) << c.compare;
  // No write in any of them: the store revision did not move.
  EXPECT_EQ(store_->CurrentRevision(), 3);
}

TEST_F(TxnApplyTest, CompareOverRangeAppliesToEveryKey) {
  MustPut("r1", "x");
  MustPut("r2", "x");
  EXPECT_TRUE(Succeeded("key: 'r' range_end: 's' target: VALUE result: EQUAL value: 'x'"));
  EXPECT_TRUE(Succeeded("key: 'r' range_end: 's' target: VERSION result: EQUAL version: 1"));
  MustPut("r2", "y");
  EXPECT_FALSE(Succeeded("key: 'r' range_end: 's' target: VALUE result: EQUAL value: 'x'"));
  EXPECT_FALSE(Succeeded("key: 'r' range_end: 's' target: VERSION result: EQUAL version: 1"));
  EXPECT_TRUE(Succeeded("key: 'r' range_end: 's' target: VERSION result: LESS version: 3"));
  EXPECT_TRUE(Succeeded("key: 'r' range_end: '\\000' target: CREATE result: GREATER "
                        "create_revision: 3"));
  // An empty range compares against a zero KeyValue.
  EXPECT_TRUE(Succeeded("key: 'x' range_end: 'y' target: MOD result: EQUAL mod_revision: 0"));
}

TEST_F(TxnApplyTest, BranchesResponsesAndHeaders) {
  auto r = Txn(R"pb(
    compare { key: 'k' target: VALUE result: EQUAL value: 'v' }
    success { request_range { key: 'k' } }
    success { request_delete_range { key: 'nothing' } }
    success { request_put { key: 'a' value: '1' } }
    success { request_range { key: 'a' } }
    success { request_delete_range { key: 'nothing' } }
    failure { request_put { key: 'b' value: '1' } }
  )pb");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->succeeded());
  ASSERT_EQ(r->responses_size(), 5);
  EXPECT_EQ(r->responses(0).response_range().header().revision(), 3);
  EXPECT_EQ(r->responses(1).response_delete_range().header().revision(), 3);
  EXPECT_EQ(r->responses(2).response_put().header().revision(), 4);
  // A range after a put reads the txn's own write at the txn's revision.
  const auto& own = r->responses(3).response_range();
  ASSERT_EQ(own.kvs_size(), 1);
  EXPECT_EQ(own.kvs(0).value(), "1");
  EXPECT_EQ(own.header().revision(), 4);
  EXPECT_EQ(r->responses(4).response_delete_range().header().revision(), 4);
  EXPECT_EQ(r->header().revision(), 4);
  EXPECT_EQ(Range("key: 'b'")->count(), 0);

  auto failed = Txn(R"pb(
    compare { key: 'k' target: VALUE result: EQUAL value: 'nope' }
    success { request_put { key: 'a' value: '2' } }
    failure { request_put { key: 'b' value: '1' prev_kv: true } }
  )pb");
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(failed->succeeded());
  ASSERT_EQ(failed->responses_size(), 1);
  EXPECT_TRUE(failed->responses(0).has_response_put());
  EXPECT_EQ(failed->header().revision(), 5);
  EXPECT_EQ(Range("key: 'a'")->kvs(0).value(), "1");

  auto read_only = Txn("success { request_range { key: 'a' } }");
  EXPECT_EQ(read_only->header().revision(), 5);
  EXPECT_EQ(store_->CurrentRevision(), 5);
}

TEST_F(TxnApplyTest, NestedTxnsFollowTheirOwnCompares) {
  auto r = Txn(R"pb(
    compare { key: 'k' target: VERSION result: EQUAL version: 2 }
    success {
      request_txn {
        compare { key: 'k' target: VALUE result: EQUAL value: 'other' }
        success { request_put { key: 'inner_then' value: '1' } }
        failure {
          request_txn {
            compare { key: 'k' target: LEASE result: EQUAL lease: 5 }
            success { request_put { key: 'deep' value: '1' } }
          }
        }
        failure { request_range { key: 'deep' } }
      }
    }
    success { request_put { key: 'outer' value: '1' } }
    failure { request_put { key: 'outer_else' value: '1' } }
  )pb");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->succeeded());
  ASSERT_EQ(r->responses_size(), 2);
  const auto& inner = r->responses(0).response_txn();
  EXPECT_FALSE(inner.succeeded());
  EXPECT_TRUE(inner.has_header());
  EXPECT_EQ(inner.header().revision(), 0);  // etcd leaves nested headers empty
  ASSERT_EQ(inner.responses_size(), 2);
  EXPECT_TRUE(inner.responses(0).response_txn().succeeded());
  EXPECT_EQ(inner.responses(1).response_range().kvs(0).key(), "deep");
  EXPECT_EQ(Range("key: 'a' range_end: 'z'")->count(), 3);  // deep, k, outer
  EXPECT_EQ(store_->CurrentRevision(), 4);
}

TEST_F(TxnApplyTest, ComparesSeeTheStateBeforeTheTxn) {
  // The nested compare is evaluated before the outer put of the same key is applied.
  auto r = Txn(R"pb(
    success { request_put { key: 'n' value: '1' } }
    success {
      request_txn {
        compare { key: 'n' target: VERSION result: EQUAL version: 0 }
        success { request_put { key: 'saw_missing' value: '1' } }
      }
    }
  )pb");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->responses(1).response_txn().succeeded());
}

TEST_F(TxnApplyTest, ChecksRunBeforeAnyWrite) {
  struct Case {
    std::string txn;
    Code code;
    std::string message;
  };
  const Case cases[] = {
      {"success { request_put { key: 'a' value: '1' } } "
       "success { request_put { key: 'b' value: '1' lease: 99 } }",
       Code::kNotFound, kErrLeaseNotFound},
      {"success { request_put { key: 'a' value: '1' } } "
       "success { request_put { key: 'missing' ignore_value: true } }",
       Code::kInvalidArgument, kErrKeyNotFound},
      {"success { request_put { key: 'a' value: '1' } } "
       "success { request_range { key: 'k' revision: 9 } }",
       Code::kOutOfRange, kErrFutureRev},
      {"success { request_txn { success { request_put { key: 'x' lease: 42 } } } } "
       "success { request_put { key: 'a' value: '1' } }",
       Code::kNotFound, kErrLeaseNotFound},
  };
  for (const Case& c : cases) {
    auto r = Txn(c.txn);
    EXPECT_EQ(r.status().code(), c.code) << c.txn;
    EXPECT_EQ(r.status().message(), c.message) << c.txn;
  }
  EXPECT_EQ(store_->CurrentRevision(), 3);
  EXPECT_EQ(Range("key: 'a'")->count(), 0);
  // A check in the branch that does not run does not matter.
  auto other_branch = Txn(
      "compare { key: 'k' target: VERSION result: EQUAL version: 2 } "
      "failure { request_put { key: 'b' lease: 99 } }");
  EXPECT_TRUE(other_branch.ok());
}

TEST_F(TxnApplyTest, TxnRangeBelowCompactionFails) {
  MustPut("k", "v3");  // 4
  ASSERT_TRUE(store_->Compact(4).ok());
  auto r = Txn("success { request_range { key: 'k' revision: 3 } }");
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_EQ(r.status().message(), kErrCompacted);
  EXPECT_TRUE(Txn("success { request_range { key: 'k' revision: 4 } }").ok());
}

TEST_F(TxnApplyTest, DeleteInTxnDetachesLeasesAndPutAttaches) {
  leases_.log.clear();
  auto r = Txn(R"pb(
    success { request_delete_range { key: 'k' prev_kv: true } }
    success { request_put { key: 'z' value: '1' lease: 5 } }
  )pb");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->responses(0).response_delete_range().prev_kvs(0).lease(), 5);
  EXPECT_EQ(leases_.log, (std::vector<std::string>{"detach 5 k", "attach 5 z"}));
}

}  // namespace
}  // namespace grid::kv
