// A byte buffer for one direction of a connection: bytes are read into its free tail and
// consumed from its front. Moves the unread bytes to the front (compaction) before growing,
// and never grows beyond the capacity its owner allows: each owner states its limit.
//
// Storage of exactly kIoBufferBlockBytes (the size a first read asks for) comes from and goes
// back to a small per-thread cache of blocks, so a keep-alive connection that releases its
// buffer between requests does not cost an allocation and a free per request. The cache
// holds at most kIoBufferCachedBlocksPerThread blocks; a released buffer still owns nothing.
//
// Not thread-safe (the cache is per thread, so a buffer may still be freed on any thread).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace grid::router::net {

// The block size the per-thread cache keeps (the first read's request, kReadChunkBytes).
inline constexpr size_t kIoBufferBlockBytes = 16 * 1024;
// Blocks kept per thread for reuse (at most 1 MiB a thread).
inline constexpr size_t kIoBufferCachedBlocksPerThread = 64;

// Blocks in the calling thread's cache.
size_t IoBufferCachedBlocks();

class IoBuffer {
 public:
  IoBuffer() = default;
  ~IoBuffer();
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  std::string_view readable() const { return {data_ + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  size_t capacity() const { return capacity_; }

  // Drops `n` bytes from the front. REQUIRES: n <= size().
  void Consume(size_t n);
  void Clear() { begin_ = end_ = 0; }

  // A writable region at the tail of at least `min_bytes` (compacting, then growing up to
  // `max_capacity` bytes of storage). Shorter (possibly empty) when the limit does not allow
  // it: the caller then has its answer (the buffer is full).
  std::span<char> PrepareWrite(size_t min_bytes, size_t max_capacity);
  // Adds `n` bytes written into the last PrepareWrite() region.
  void Commit(size_t n);

  // Appends `bytes`, growing as needed (the caller bounds what it appends).
  void Append(std::string_view bytes);

  // Frees the storage when empty (idle connections keep no buffer).
  void Release();

 private:
  void Reserve(size_t capacity);

  char* data_ = nullptr;  // owned: capacity_ bytes
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace grid::router::net
