// KeyBytes: the bytes come back unchanged at every size around the inline limit (including
// empty and zero bytes), copies and moves own their bytes, and byte order is the key's.
#include "storage/mvcc/key_bytes.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace grid::mvcc {
namespace {

std::string Key(size_t n) {
  std::string k(n, '\0');
  for (size_t i = 0; i < n; ++i) k[i] = static_cast<char>((i * 37 + 1) & 0xff);
  if (n > 0) k[n / 2] = '\0';
  return k;
}

TEST(KeyBytesTest, KeepsEveryByteAroundTheInlineLimit) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{8}, KeyBytes::kInlineBytes - 1,
                   KeyBytes::kInlineBytes, KeyBytes::kInlineBytes + 1, size_t{100},
                   size_t{1} << 20}) {
    const std::string key = Key(n);
    const KeyBytes k(key);
    EXPECT_EQ(k.view(), key) << n;
    EXPECT_EQ(k.size(), n);
    EXPECT_EQ(k.on_heap(), n > KeyBytes::kInlineBytes) << n;
  }
}

TEST(KeyBytesTest, DefaultIsEmpty) {
  const KeyBytes k;
  EXPECT_TRUE(k.view().empty());
  EXPECT_FALSE(k.on_heap());
}

TEST(KeyBytesTest, CopiesAndMovesOwnTheirBytes) {
  for (size_t n : {size_t{5}, size_t{40}}) {
    const std::string key = Key(n);
    KeyBytes a(key);
    KeyBytes copy(a);
    EXPECT_EQ(copy.view(), key);
    if (n > KeyBytes::kInlineBytes) {
      EXPECT_NE(copy.view().data(), a.view().data());
    }
    KeyBytes moved(std::move(a));
    EXPECT_EQ(moved.view(), key);
    EXPECT_TRUE(a.view().empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    KeyBytes assigned(Key(3));
    assigned = std::move(moved);
    EXPECT_EQ(assigned.view(), key);
    assigned = copy;
    EXPECT_EQ(assigned.view(), key);
    EXPECT_EQ(copy.view(), key);
  }
}

TEST(KeyBytesTest, OrdersAsItsBytes) {
  // Inline and heap keys compared as unsigned bytes, a prefix before its extensions.
  const std::vector<std::string> sorted = {
      "", std::string(1, '\0'), "a", std::string(20, 'a'), "ab", "b", std::string(16, 'b'), "\xff"};
  for (size_t i = 0; i + 1 < sorted.size(); ++i) {
    EXPECT_LT(KeyBytes(sorted[i]).view(), KeyBytes(sorted[i + 1]).view()) << i;
  }
}

}  // namespace
}  // namespace grid::mvcc
