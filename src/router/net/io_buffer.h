// A byte buffer for one direction of a connection: bytes are read into its free tail and
// consumed from its front. Moves the unread bytes to the front (compaction) before growing,
// and never grows beyond the capacity its owner allows: each owner states its limit.
//
// Not thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace grid::router::net {

class IoBuffer {
 public:
  IoBuffer() = default;
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  std::string_view readable() const { return {data_.get() + begin_, end_ - begin_}; }
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

  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace grid::router::net
