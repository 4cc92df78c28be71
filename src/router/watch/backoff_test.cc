#include "router/watch/backoff.h"

#include <gtest/gtest.h>

#include "router/watch/limits.h"

namespace grid::router::watch {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, DoublesUpToTheCapAndStaysThere) {
  Backoff b(kMinRetryBackoff, kMaxRetryBackoff);
  std::vector<milliseconds> waits;
  for (int i = 0; i < 9; ++i) waits.push_back(b.Next());
  EXPECT_EQ(waits, (std::vector<milliseconds>{
                       milliseconds(50), milliseconds(100), milliseconds(200), milliseconds(400),
                       milliseconds(800), milliseconds(1600), milliseconds(2000),
                       milliseconds(2000), milliseconds(2000)}));
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff b(milliseconds(10), milliseconds(40));
  EXPECT_EQ(b.Next(), milliseconds(10));
  EXPECT_EQ(b.Next(), milliseconds(20));
  b.Reset();
  EXPECT_EQ(b.Next(), milliseconds(10));
}

TEST(BackoffTest, MinEqualToMax) {
  Backoff b(milliseconds(7), milliseconds(7));
  EXPECT_EQ(b.Next(), milliseconds(7));
  EXPECT_EQ(b.Next(), milliseconds(7));
}

}  // namespace
}  // namespace grid::router::watch
