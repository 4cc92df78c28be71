#include "common/status.h"

#include <gtest/gtest.h>

namespace grid {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Status Quarter(int x, int* out) {
  GRID_ASSIGN_OR_RETURN(int h, Half(x));
  GRID_ASSIGN_OR_RETURN(*out, Half(h));
  return Status::Ok();
}

TEST(StatusTest, OkAndErrorCarryCodeAndMessage) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Corruption("bad crc at wal/0001.wal offset 4096");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.ToString(), "Corruption: bad crc at wal/0001.wal offset 4096");
  EXPECT_EQ(s.WithContext("open").message(), "open: bad crc at wal/0001.wal offset 4096");
}

TEST(StatusTest, AssignOrReturnPropagatesTheFirstError) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Quarter(6, &out);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd: 3");
}

TEST(StatusDeathTest, ValueOfAnErrorCrashes) {
  Result<int> r = Half(3);
  EXPECT_DEATH((void)r.value(), "value\\(\\) on error");
}

}  // namespace
}  // namespace grid
