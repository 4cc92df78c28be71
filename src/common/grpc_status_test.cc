#include "common/grpc_status.h"

#include <gtest/gtest.h>

namespace grid {
namespace {

TEST(GrpcStatusTest, ToGrpcMapsEveryCodeAndKeepsTheMessage) {
  EXPECT_TRUE(ToGrpc(Status::Ok()).ok());
  struct Case {
    Code in;
    grpc::StatusCode out;
  } cases[] = {
      {Code::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {Code::kNotFound, grpc::StatusCode::NOT_FOUND},
      {Code::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {Code::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
      {Code::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE},
      {Code::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {Code::kCorruption, grpc::StatusCode::DATA_LOSS},
      {Code::kIOError, grpc::StatusCode::UNKNOWN},
      {Code::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {Code::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
      {Code::kCancelled, grpc::StatusCode::CANCELLED},
      {Code::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
      {Code::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
      {Code::kInternal, grpc::StatusCode::UNKNOWN},
  };
  for (const Case& c : cases) {
    grpc::Status s = ToGrpc(Status(c.in, "m"));
    EXPECT_EQ(s.error_code(), c.out) << CodeName(c.in);
    EXPECT_EQ(s.error_message(), "m");
  }
}

TEST(GrpcStatusTest, FromGrpcMapsCodesAndKeepsTheMessage) {
  EXPECT_TRUE(FromGrpc(grpc::Status::OK).ok());
  struct Case {
    grpc::StatusCode in;
    Code out;
  } cases[] = {
      {grpc::StatusCode::NOT_FOUND, Code::kNotFound},
      {grpc::StatusCode::UNAUTHENTICATED, Code::kPermissionDenied},
      {grpc::StatusCode::DATA_LOSS, Code::kCorruption},
      {grpc::StatusCode::ALREADY_EXISTS, Code::kAlreadyExists},
      {grpc::StatusCode::UNKNOWN, Code::kInternal},
      {grpc::StatusCode::ABORTED, Code::kInternal},
  };
  for (const Case& c : cases) {
    Status s = FromGrpc(grpc::Status(c.in, "m"));
    EXPECT_EQ(s.code(), c.out) << static_cast<int>(c.in);
    EXPECT_EQ(s.message(), "m");
  }
}

}  // namespace
}  // namespace grid
