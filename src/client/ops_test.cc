#include "client/ops.h"

#include <gtest/gtest.h>

#include "client/mutex.h"
#include "client/status_util.h"

namespace grid::client {
namespace {

TEST(OpsTest, PrefixRangeEnd) {
  EXPECT_EQ(PrefixRangeEnd("abc"), "abd");
  EXPECT_EQ(PrefixRangeEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixRangeEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
  EXPECT_EQ(PrefixRangeEnd(""), std::string(1, '\0'));
}

TEST(OpsTest, RangeRequestOptions) {
  GetOptions o;
  o.prefix = true;
  auto r = MakeRangeRequest("foo/", o);
  EXPECT_EQ(r.key(), "foo/");
  EXPECT_EQ(r.range_end(), "foo0");

  auto all = MakeRangeRequest("", o);
  EXPECT_EQ(all.key(), std::string(1, '\0'));
  EXPECT_EQ(all.range_end(), std::string(1, '\0'));

  auto first = MakeRangeRequest("p/", GetOptions::FirstCreate());
  EXPECT_EQ(first.sort_target(), etcdserverpb::RangeRequest::CREATE);
  EXPECT_EQ(first.sort_order(), etcdserverpb::RangeRequest::ASCEND);
  EXPECT_EQ(first.limit(), 1);
  EXPECT_EQ(MakeRangeRequest("p/", GetOptions::LastCreate()).sort_order(),
            etcdserverpb::RangeRequest::DESCEND);
}

TEST(OpsTest, TxnBuilder) {
  auto txn = TxnBuilder()
                 .If(CompareCreateRevision("k", etcdserverpb::Compare::EQUAL, 0),
                     CompareValue("v", etcdserverpb::Compare::NOT_EQUAL, "x"))
                 .Then(OpPut("k", "1"), OpGet("k"))
                 .Else(OpDelete("k"));
  const auto& req = txn.request();
  ASSERT_EQ(req.compare_size(), 2);
  EXPECT_EQ(req.compare(0).target(), etcdserverpb::Compare::CREATE);
  EXPECT_EQ(req.compare(1).value(), "x");
  ASSERT_EQ(req.success_size(), 2);
  EXPECT_TRUE(req.success(0).has_request_put());
  EXPECT_TRUE(req.success(1).has_request_range());
  ASSERT_EQ(req.failure_size(), 1);
  EXPECT_TRUE(req.failure(0).has_request_delete_range());
}

TEST(OpsTest, LeaseKeyIsGoHexFormat) {
  EXPECT_EQ(LeaseKey("lock/", 0x694d7a1b2c3d4e5f), "lock/694d7a1b2c3d4e5f");
  EXPECT_EQ(LeaseKey("p/", 10), "p/a");
  EXPECT_EQ(LeaseKey("p/", -1), "p/-1");
}

TEST(StatusUtilTest, MapsGrpcCodes) {
  struct Case {
    grpc::StatusCode grpc;
    Code grid;
  } cases[] = {
      {grpc::StatusCode::NOT_FOUND, Code::kNotFound},
      {grpc::StatusCode::OUT_OF_RANGE, Code::kOutOfRange},
      {grpc::StatusCode::INVALID_ARGUMENT, Code::kInvalidArgument},
      {grpc::StatusCode::FAILED_PRECONDITION, Code::kFailedPrecondition},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, Code::kResourceExhausted},
      {grpc::StatusCode::UNAVAILABLE, Code::kUnavailable},
      {grpc::StatusCode::DEADLINE_EXCEEDED, Code::kDeadlineExceeded},
      {grpc::StatusCode::DATA_LOSS, Code::kCorruption},
      {grpc::StatusCode::UNKNOWN, Code::kInternal},
      {grpc::StatusCode::INTERNAL, Code::kInternal},
  };
  for (const auto& c : cases) {
    Status s = FromGrpc(grpc::Status(c.grpc, "msg"));
    EXPECT_EQ(s.code(), c.grid) << c.grpc;
    EXPECT_EQ(s.message(), "msg");
  }
  EXPECT_TRUE(FromGrpc(grpc::Status::OK).ok());
  EXPECT_EQ(ToGrpc(NotFound("x")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpc(Internal("x")).error_code(), grpc::StatusCode::UNKNOWN);
}

TEST(ContextTest, CancelAndDeadline) {
  EXPECT_FALSE(Context().Done());
  std::stop_source stop;
  Context c = Context().WithStop(stop.get_token());
  EXPECT_TRUE(c.Err().ok());
  stop.request_stop();
  EXPECT_EQ(c.Err().code(), Code::kCancelled);
  EXPECT_EQ(c.Err().message(), "context canceled");
  Context d = Context().WithDeadline(Context::Clock::now() - std::chrono::seconds(1));
  EXPECT_EQ(d.Err().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(d.Err().message(), "context deadline exceeded");
  bool flag = false;
  Context p = Context().WithCancelPredicate([&] { return flag; });
  EXPECT_FALSE(p.Done());
  flag = true;
  EXPECT_TRUE(p.Done());
}

}  // namespace
}  // namespace grid::client
