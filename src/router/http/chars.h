// Byte classes of RFC 9110/9112 as lookup tables, and small helpers shared by the parsers and
// writers. Internal to the codec.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace grid::router::http::chars {

enum : uint8_t {
  kTchar = 1 << 0,       // token character
  kFieldVchar = 1 << 1,  // VCHAR / obs-text / SP / HTAB: allowed inside a field value
  kTargetChar = 1 << 2,  // allowed in a request-target: VCHAR except '#'
  kHostChar = 1 << 3,    // allowed in Host / authority: unreserved, sub-delims, ':', '%', '[', ']'
  kHexDigit = 1 << 4,
  kSchemeChar = 1 << 5,  // ALPHA / DIGIT / "+" / "-" / "."
  kQdtext = 1 << 6,      // quoted-string text: HTAB / SP / VCHAR except '"' and '\' / obs-text
};

constexpr std::array<uint8_t, 256> MakeTable() {
  std::array<uint8_t, 256> t{};
  auto add = [&t](std::string_view s, uint8_t bit) {
    for (char c : s) t[static_cast<uint8_t>(c)] |= bit;
  };
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit) t[c] |= kTchar | kHostChar | kSchemeChar;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) t[c] |= kFieldVchar;
    if (c >= 0x21 && c <= 0x7e && c != '#') t[c] |= kTargetChar;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) t[c] |= kHexDigit;
    if (c == '\t' || (c >= 0x20 && c != 0x7f && c != '"' && c != '\\')) t[c] |= kQdtext;
  }
  add("!#$%&'*+-.^_`|~", kTchar);
  add("-._~!$&'()*+,;=:%[]", kHostChar);
  add("+-.", kSchemeChar);
  return t;
}

inline constexpr std::array<uint8_t, 256> kTable = MakeTable();

constexpr std::array<uint8_t, 256> MakeLower() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
  return t;
}

inline constexpr std::array<uint8_t, 256> kLower = MakeLower();

inline bool Is(char c, uint8_t cls) { return (kTable[static_cast<uint8_t>(c)] & cls) != 0; }
inline bool IsOws(char c) { return c == ' ' || c == '\t'; }
inline char Lower(char c) { return static_cast<char>(kLower[static_cast<uint8_t>(c)]); }

// Equality with a lower-case literal, ignoring the case of `s`.
inline bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (Lower(s[i]) != lower[i]) return false;
  }
  return true;
}

inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// Index of the first byte of [p, p + n) that may not appear in a field value (a control
// character other than HTAB, or DEL), or n. Eight bytes at a time while none is below 0x20 or
// equal to 0x7f.
inline size_t FirstNonFieldVchar(const char* p, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    // A byte below 0x20 (only exact for bytes below 0x80, which are the only ones that can
    // match), or a byte equal to 0x7f.
    const uint64_t below = (w - kOnes * 0x20) & ~w & kHighs;
    const uint64_t x = w ^ (kOnes * 0x7f);
    const uint64_t del = (x - kOnes) & ~x & kHighs;
    if ((below | del) != 0) break;
  }
  for (; i < n; ++i) {
    if (!Is(p[i], kFieldVchar)) return i;
  }
  return n;
}

}  // namespace grid::router::http::chars
