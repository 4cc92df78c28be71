// A key's bytes in 16 bytes, for the key index's B-tree slots: up to kInlineBytes inline,
// longer keys in one heap block of exactly their size. std::string takes 32 bytes for the
// same (and a terminating byte on the heap); with one slot per key this is 16 bytes per key.
// Written here because neither the standard library nor abseil has a 16-byte string.
//
// Limit: kMaxBytes (a key is bounded far below by the request size limit); a longer one is a
// bug and crashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace grid::mvcc {

class KeyBytes {
 public:
  static constexpr size_t kInlineBytes = 15;
  static constexpr size_t kMaxBytes = UINT32_MAX;

  KeyBytes() noexcept { SetInlineSize(0); }
  explicit KeyBytes(std::string_view key);
  KeyBytes(const KeyBytes& other) : KeyBytes(other.view()) {}
  KeyBytes(KeyBytes&& other) noexcept {
    std::memcpy(bytes_, other.bytes_, sizeof(bytes_));
    other.SetInlineSize(0);
  }
  KeyBytes& operator=(KeyBytes other) noexcept {
    Swap(other);
    return *this;
  }
  ~KeyBytes() {
    if (on_heap()) delete[] heap_data();
  }

  std::string_view view() const {
    return on_heap() ? std::string_view(heap_data(), heap_size())
                     : std::string_view(bytes_, static_cast<size_t>(bytes_[kTagByte]));
  }
  operator std::string_view() const { return view(); }  // NOLINT: a key is its bytes
  size_t size() const { return view().size(); }
  bool on_heap() const { return static_cast<uint8_t>(bytes_[kTagByte]) == kHeapTag; }

  void Swap(KeyBytes& other) noexcept {
    char tmp[sizeof(bytes_)];
    std::memcpy(tmp, bytes_, sizeof(bytes_));
    std::memcpy(bytes_, other.bytes_, sizeof(bytes_));
    std::memcpy(other.bytes_, tmp, sizeof(bytes_));
  }

 private:
  // Inline: bytes_[0, size) the key, bytes_[15] its size (0..15).
  // Heap:   bytes_[0, 8) the block's address, bytes_[8, 12) the size, bytes_[15] kHeapTag.
  static constexpr size_t kTagByte = 15;
  static constexpr uint8_t kHeapTag = 0x80;

  void SetInlineSize(size_t n) { bytes_[kTagByte] = static_cast<char>(n); }
  char* heap_data() const {
    char* p;
    std::memcpy(&p, bytes_, sizeof(p));
    return p;
  }
  size_t heap_size() const {
    uint32_t n;
    std::memcpy(&n, bytes_ + sizeof(char*), sizeof(n));
    return n;
  }

  alignas(8) char bytes_[16];
};

static_assert(sizeof(KeyBytes) == 16);

}  // namespace grid::mvcc
