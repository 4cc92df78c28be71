// The API-layer checks of etcd's KV service.
#include "kv/apply/validate.h"

#include <gtest/gtest.h>

#include "kv/apply/apply_test_util.h"
#include "kv/apply/errors.h"

namespace grid::kv {
namespace {

using etcdserverpb::TxnRequest;
using testing::Parse;

TEST(ValidateTest, SingleRequests) {
  EXPECT_EQ(ValidateRange(Parse<etcdserverpb::RangeRequest>("")).message(), kErrEmptyKey);
  EXPECT_EQ(ValidateRange(Parse<etcdserverpb::RangeRequest>("")).code(), Code::kInvalidArgument);
  EXPECT_TRUE(ValidateRange(Parse<etcdserverpb::RangeRequest>("key: 'a' revision: -1")).ok());
  etcdserverpb::RangeRequest bad_sort;
  bad_sort.set_key("a");
  bad_sort.set_sort_target(static_cast<etcdserverpb::RangeRequest::SortTarget>(9));
  EXPECT_EQ(ValidateRange(bad_sort).message(), kErrInvalidSortTarget);
  bad_sort.set_sort_target(etcdserverpb::RangeRequest::VALUE);
  bad_sort.set_sort_order(static_cast<etcdserverpb::RangeRequest::SortOrder>(7));
  EXPECT_EQ(ValidateRange(bad_sort).message(), kErrInvalidSortOrder);

  EXPECT_EQ(ValidatePut(Parse<etcdserverpb::PutRequest>("value: 'v'")).message(), kErrEmptyKey);
  EXPECT_EQ(ValidatePut(Parse<etcdserverpb::PutRequest>("key: 'k' value: 'v' ignore_value: true"))
                .message(),
            "etcdserver: value is provided");
  EXPECT_EQ(ValidatePut(Parse<etcdserverpb::PutRequest>("key: 'k' lease: 1 ignore_lease: true"))
                .message(),
            "etcdserver: lease is provided");
  EXPECT_TRUE(ValidatePut(Parse<etcdserverpb::PutRequest>("key: 'k' ignore_value: true")).ok());
  EXPECT_EQ(ValidateDeleteRange(Parse<etcdserverpb::DeleteRangeRequest>("")).message(),
            kErrEmptyKey);
}

TxnRequest WithOps(int compares, int puts, int ranges) {
  TxnRequest req;
  for (int i = 0; i < compares; ++i) req.add_compare()->set_key("c" + std::to_string(i));
  for (int i = 0; i < puts; ++i) req.add_success()->mutable_request_put()->set_key("p" + std::to_string(i));
  for (int i = 0; i < ranges; ++i) req.add_failure()->mutable_request_range()->set_key("r");
  return req;
}

TEST(ValidateTest, MaxTxnOpsAtTheLimit) {
  EXPECT_TRUE(ValidateTxn(WithOps(128, 128, 128)).ok());
  for (auto req : {WithOps(129, 0, 0), WithOps(0, 129, 0), WithOps(0, 0, 129)}) {
    Status s = ValidateTxn(req);
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_EQ(s.message(), "etcdserver: too many operations in txn request");
  }
  EXPECT_TRUE(ValidateTxn(WithOps(3, 3, 0), 3).ok());
  EXPECT_EQ(ValidateTxn(WithOps(0, 4, 0), 3).message(), kErrTooManyOps);
  // A nested txn gets what its parent leaves: 3 - 2 = 1 op.
  TxnRequest nested = WithOps(0, 2, 0);
  *nested.add_failure()->mutable_request_txn() = WithOps(0, 1, 0);
  EXPECT_TRUE(ValidateTxn(nested, 3).ok());
  nested = WithOps(0, 2, 0);
  *nested.add_failure()->mutable_request_txn() = WithOps(0, 2, 0);
  EXPECT_EQ(ValidateTxn(nested, 3).message(), kErrTooManyOps);
}

TEST(ValidateTest, EmptyKeysAndOps) {
  EXPECT_EQ(ValidateTxn(Parse<TxnRequest>("compare { target: VALUE }")).message(), kErrEmptyKey);
  EXPECT_EQ(ValidateTxn(Parse<TxnRequest>("success { request_put { value: 'v' } }")).message(),
            kErrEmptyKey);
  EXPECT_EQ(ValidateTxn(Parse<TxnRequest>(
                "failure { request_txn { success { request_range { } } } }")).message(),
            kErrEmptyKey);
  EXPECT_EQ(ValidateTxn(Parse<TxnRequest>("success { }")).message(), kErrKeyNotFound);
}

TEST(ValidateTest, DuplicateKeys) {
  struct Case {
    std::string txn;
    bool ok;
  };
  const Case cases[] = {
      {"success { request_put { key: 'a' } } success { request_put { key: 'b' } }", true},
      {"success { request_put { key: 'a' } } success { request_put { key: 'a' } }", false},
      {"success { request_put { key: 'a' } } failure { request_put { key: 'a' } }", true},
      {"success { request_put { key: 'a' } } success { request_delete_range { key: 'a' } }",
       false},
      {"success { request_put { key: 'b' } } "
       "success { request_delete_range { key: 'a' range_end: 'c' } }",
       false},
      {"success { request_put { key: 'c' } } "
       "success { request_delete_range { key: 'a' range_end: 'c' } }",
       true},
      {"success { request_delete_range { key: 'a' } } "
       "success { request_delete_range { key: 'a' } }",
       true},
      {"success { request_range { key: 'a' } } success { request_put { key: 'a' } }", true},
      // Nested: a child's put against the parent's put or delete.
      {"success { request_put { key: 'a' } } "
       "success { request_txn { success { request_put { key: 'a' } } } }",
       false},
      {"success { request_delete_range { key: 'a' range_end: 'b' } } "
       "success { request_txn { failure { request_put { key: 'a1' } } } }",
       false},
      // Then and else of one child may put the same key.
      {"success { request_txn { success { request_put { key: 'a' } } "
       "failure { request_put { key: 'a' } } } }",
       true},
      // A child's delete against the parent's put.
      {"success { request_put { key: 'a' } } "
       "success { request_txn { success { request_delete_range { key: 'a' } } } }",
       false},
      // Two children putting the same key.
      {"success { request_txn { success { request_put { key: 'a' } } } } "
       "success { request_txn { failure { request_put { key: 'a' } } } }",
       false},
  };
  for (const Case& c : cases) {
    Status s = ValidateTxn(Parse<TxnRequest>(c.txn));
    EXPECT_EQ(s.ok(), c.ok) << c.txn;
    if (!c.ok) {
      EXPECT_EQ(s.message(), "etcdserver: duplicate key given in txn request") << c.txn;
      EXPECT_EQ(s.code(), Code::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace grid::kv
