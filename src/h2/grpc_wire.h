// gRPC's wire format over HTTP/2, the parts a server of the project's own needs (gRPC's
// PROTOCOL-HTTP2.md): the 5-byte message prefix, status codes, grpc-timeout and the
// percent-encoding of grpc-message. Pure functions; no gRPC library.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace grid::h2 {

// gRPC status codes (the numbers on the wire).
enum class GrpcCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// The grpc-status header value of `code` ("0".."16"); a static string.
const char* StatusText(GrpcCode code);

// Compressed flag (1 byte) and big-endian message length (4 bytes).
inline constexpr size_t kMessagePrefixBytes = 5;

// `message` with its prefix (uncompressed).
std::string Frame(std::string_view message);

// A protobuf message with its prefix, serialized in place (any type with ByteSizeLong and
// SerializeWithCachedSizesToArray).
template <typename Message>
std::string FrameMessage(const Message& message) {
  const size_t length = message.ByteSizeLong();
  std::string out(kMessagePrefixBytes + length, '\0');
  auto* b = reinterpret_cast<uint8_t*>(out.data());
  b[1] = static_cast<uint8_t>(length >> 24);
  b[2] = static_cast<uint8_t>(length >> 16);
  b[3] = static_cast<uint8_t>(length >> 8);
  b[4] = static_cast<uint8_t>(length);
  message.SerializeWithCachedSizesToArray(b + kMessagePrefixBytes);
  return out;
}

// The one message a unary request's body holds (the body is everything its DATA frames
// carried). InvalidArgument when the body is shorter than a prefix, is compressed, or holds
// more or fewer bytes than the prefix says.
Result<std::string_view> UnframeOne(std::string_view body);

// A grpc-timeout value: 1 to 8 ASCII digits and a unit (H, M, S, m, u, n). nullopt when
// malformed.
std::optional<std::chrono::nanoseconds> ParseTimeout(std::string_view value);

// grpc-message's encoding: bytes outside 0x20..0x7E and '%' become %XX.
std::string PercentEncode(std::string_view text);

}  // namespace grid::h2
