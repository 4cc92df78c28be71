#include "router/net/io_buffer.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/check.h"

namespace grid::router::net {
namespace {

// Released blocks of kIoBufferBlockBytes, most recently released last (warm in cache).
// Trivially destructible, so a buffer freed during thread or process exit (after the cleanup
// below ran) still finds it valid: it is then marked closed and blocks are simply freed.
struct BlockCache {
  std::array<char*, kIoBufferCachedBlocksPerThread> blocks;
  size_t count;
  bool cleanup_armed;
  bool closed;
};
thread_local BlockCache block_cache{};

// Frees the thread's cached blocks when the thread ends.
class BlockCacheCleanup {
 public:
  ~BlockCacheCleanup() {
    if (!armed_) return;
    for (size_t i = 0; i < block_cache.count; ++i) delete[] block_cache.blocks[i];
    block_cache.count = 0;
    block_cache.closed = true;
  }
  void Arm() { armed_ = true; }

 private:
  bool armed_ = false;
};
thread_local BlockCacheCleanup block_cache_cleanup;

char* TakeCached() {
  BlockCache& c = block_cache;
  return c.count == 0 ? nullptr : c.blocks[--c.count];
}

// false: the cache is full (or gone): the caller frees the block.
bool PutCached(char* block) {
  BlockCache& c = block_cache;
  if (c.closed || c.count == c.blocks.size()) return false;
  if (!c.cleanup_armed) {
    c.cleanup_armed = true;
    block_cache_cleanup.Arm();
  }
  c.blocks[c.count++] = block;
  return true;
}

char* AllocateBlock(size_t capacity) {
  if (capacity == kIoBufferBlockBytes) {
    if (char* block = TakeCached()) return block;
  }
  return new char[capacity];
}

void FreeBlock(char* block, size_t capacity) {
  if (block == nullptr) return;
  if (capacity == kIoBufferBlockBytes && PutCached(block)) return;
  delete[] block;
}

}  // namespace

size_t IoBufferCachedBlocks() { return block_cache.count; }

IoBuffer::~IoBuffer() { FreeBlock(data_, capacity_); }

void IoBuffer::Consume(size_t n) {
  GRID_CHECK_LE(n, size());
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

void IoBuffer::Reserve(size_t capacity) {
  char* bigger = AllocateBlock(capacity);
  if (size() > 0) std::memcpy(bigger, data_ + begin_, size());
  end_ -= begin_;
  begin_ = 0;
  FreeBlock(data_, capacity_);
  data_ = bigger;
  capacity_ = capacity;
}

std::span<char> IoBuffer::PrepareWrite(size_t min_bytes, size_t max_capacity) {
  if (capacity_ - end_ < min_bytes && begin_ > 0) {
    std::memmove(data_, data_ + begin_, size());
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < min_bytes && capacity_ < max_capacity) {
    Reserve(std::min(max_capacity, std::max(capacity_ * 2, end_ + min_bytes)));
  }
  return {data_ + end_, capacity_ - end_};
}

void IoBuffer::Commit(size_t n) {
  GRID_CHECK_LE(end_ + n, capacity_);
  end_ += n;
}

void IoBuffer::Append(std::string_view bytes) {
  if (bytes.empty()) return;
  if (capacity_ - end_ < bytes.size()) {
    if (begin_ > 0) {
      std::memmove(data_, data_ + begin_, size());
      end_ -= begin_;
      begin_ = 0;
    }
    if (capacity_ - end_ < bytes.size()) Reserve(std::max(capacity_ * 2, end_ + bytes.size()));
  }
  std::memcpy(data_ + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

void IoBuffer::Release() {
  if (!empty()) return;
  FreeBlock(data_, capacity_);
  data_ = nullptr;
  capacity_ = begin_ = end_ = 0;
}

}  // namespace grid::router::net
