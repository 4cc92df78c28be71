#include "router/net/io_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace grid::router::net {
namespace {

TEST(IoBufferTest, AppendConsumeCompact) {
  IoBuffer b;
  b.Append("hello ");
  b.Append("world");
  EXPECT_EQ(b.readable(), "hello world");
  b.Consume(6);
  EXPECT_EQ(b.readable(), "world");
  b.Consume(5);
  EXPECT_TRUE(b.empty());
  b.Release();
  EXPECT_EQ(b.capacity(), 0u);
}

TEST(IoBufferTest, PrepareWriteStopsAtTheLimit) {
  IoBuffer b;
  const size_t limit = 1024;
  std::span<char> room = b.PrepareWrite(4096, limit);
  EXPECT_EQ(room.size(), limit);  // grows to the limit, not beyond
  std::memset(room.data(), 'x', room.size());
  b.Commit(room.size());
  EXPECT_TRUE(b.PrepareWrite(1, limit).empty());  // full at the limit
  b.Consume(100);
  room = b.PrepareWrite(100, limit);  // compaction makes room without growing
  EXPECT_EQ(room.size(), 100u);
  EXPECT_EQ(b.capacity(), limit);
}

}  // namespace
}  // namespace grid::router::net
