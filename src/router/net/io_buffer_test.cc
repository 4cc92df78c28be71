#include "router/net/io_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

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

TEST(IoBufferTest, ReleasedBlocksAreCachedPerThreadUpToTheLimit) {
  // A fresh thread starts with an empty cache.
  std::thread([] {
    EXPECT_EQ(IoBufferCachedBlocks(), 0u);
    std::vector<IoBuffer> buffers(kIoBufferCachedBlocksPerThread + 1);
    for (IoBuffer& b : buffers) {
      EXPECT_EQ(b.PrepareWrite(kIoBufferBlockBytes, 64 * 1024).size(), kIoBufferBlockBytes);
    }
    for (IoBuffer& b : buffers) b.Release();
    EXPECT_EQ(IoBufferCachedBlocks(), kIoBufferCachedBlocksPerThread);  // one over: freed
    for (IoBuffer& b : buffers) EXPECT_EQ(b.capacity(), 0u);

    IoBuffer reused;
    reused.Append("abc");  // another size: not from the cache, and not kept by it
    EXPECT_EQ(IoBufferCachedBlocks(), kIoBufferCachedBlocksPerThread);
    reused.Consume(3);
    reused.Release();
    EXPECT_EQ(IoBufferCachedBlocks(), kIoBufferCachedBlocksPerThread);

    std::span<char> room = reused.PrepareWrite(kIoBufferBlockBytes, 64 * 1024);
    EXPECT_EQ(room.size(), kIoBufferBlockBytes);
    EXPECT_EQ(IoBufferCachedBlocks(), kIoBufferCachedBlocksPerThread - 1);
    std::memset(room.data(), 'y', room.size());
    reused.Commit(room.size());
    // Growing past the block gives the block back.
    reused.PrepareWrite(1, 64 * 1024);
    EXPECT_EQ(reused.capacity(), 2 * kIoBufferBlockBytes);
    EXPECT_EQ(reused.readable(), std::string(kIoBufferBlockBytes, 'y'));
    EXPECT_EQ(IoBufferCachedBlocks(), kIoBufferCachedBlocksPerThread);
  }).join();
}

}  // namespace
}  // namespace grid::router::net
