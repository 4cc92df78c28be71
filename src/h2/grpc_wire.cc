#include "h2/grpc_wire.h"

#include <cstring>

namespace grid::h2 {

const char* StatusText(GrpcCode code) {
  static const char* const kTexts[] = {"0", "1", "2",  "3",  "4",  "5",  "6",  "7", "8",
                                       "9", "10", "11", "12", "13", "14", "15", "16"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kTexts[i] : "2";
}

std::string Frame(std::string_view message) {
  std::string out(kMessagePrefixBytes, '\0');
  const size_t length = message.size();
  out[1] = static_cast<char>(length >> 24);
  out[2] = static_cast<char>(length >> 16);
  out[3] = static_cast<char>(length >> 8);
  out[4] = static_cast<char>(length);
  out.append(message);
  return out;
}

Result<std::string_view> UnframeOne(std::string_view body) {
  if (body.size() < kMessagePrefixBytes) {
    return InvalidArgument("grpc: request body of " + std::to_string(body.size()) +
                           " bytes is shorter than a message prefix");
  }
  const auto* b = reinterpret_cast<const uint8_t*>(body.data());
  if (b[0] != 0) return InvalidArgument("grpc: compressed messages are not accepted");
  const uint64_t length =
      (uint64_t{b[1]} << 24) | (uint64_t{b[2]} << 16) | (uint64_t{b[3]} << 8) | uint64_t{b[4]};
  if (length != body.size() - kMessagePrefixBytes) {
    return InvalidArgument("grpc: message prefix says " + std::to_string(length) +
                           " bytes, the body holds " +
                           std::to_string(body.size() - kMessagePrefixBytes) +
                           " (a unary request carries exactly one message)");
  }
  return body.substr(kMessagePrefixBytes);
}

std::optional<std::chrono::nanoseconds> ParseTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');
  }
  using std::chrono::nanoseconds;
  switch (value.back()) {  // 8 digits of hours fit in int64 nanoseconds (about 2.9e17 < 9.2e18)
    case 'H': return std::chrono::duration_cast<nanoseconds>(std::chrono::hours(amount));
    case 'M': return std::chrono::duration_cast<nanoseconds>(std::chrono::minutes(amount));
    case 'S': return std::chrono::duration_cast<nanoseconds>(std::chrono::seconds(amount));
    case 'm': return std::chrono::duration_cast<nanoseconds>(std::chrono::milliseconds(amount));
    case 'u': return std::chrono::duration_cast<nanoseconds>(std::chrono::microseconds(amount));
    case 'n': return nanoseconds(amount);
    default: return std::nullopt;
  }
}

std::string PercentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace grid::h2
