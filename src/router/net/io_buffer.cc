#include "router/net/io_buffer.h"

#include <algorithm>
#include <cstring>

#include "common/check.h"

namespace grid::router::net {

void IoBuffer::Consume(size_t n) {
  GRID_CHECK_LE(n, size());
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

void IoBuffer::Reserve(size_t capacity) {
  std::unique_ptr<char[]> bigger(new char[capacity]);
  if (size() > 0) std::memcpy(bigger.get(), data_.get() + begin_, size());
  end_ -= begin_;
  begin_ = 0;
  data_ = std::move(bigger);
  capacity_ = capacity;
}

std::span<char> IoBuffer::PrepareWrite(size_t min_bytes, size_t max_capacity) {
  if (capacity_ - end_ < min_bytes && begin_ > 0) {
    std::memmove(data_.get(), data_.get() + begin_, size());
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < min_bytes && capacity_ < max_capacity) {
    Reserve(std::min(max_capacity, std::max(capacity_ * 2, end_ + min_bytes)));
  }
  return {data_.get() + end_, capacity_ - end_};
}

void IoBuffer::Commit(size_t n) {
  GRID_CHECK_LE(end_ + n, capacity_);
  end_ += n;
}

void IoBuffer::Append(std::string_view bytes) {
  if (bytes.empty()) return;
  if (capacity_ - end_ < bytes.size()) {
    if (begin_ > 0) {
      std::memmove(data_.get(), data_.get() + begin_, size());
      end_ -= begin_;
      begin_ = 0;
    }
    if (capacity_ - end_ < bytes.size()) Reserve(std::max(capacity_ * 2, end_ + bytes.size()));
  }
  std::memcpy(data_.get() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

void IoBuffer::Release() {
  if (!empty()) return;
  data_.reset();
  capacity_ = begin_ = end_ = 0;
}

}  // namespace grid::router::net
