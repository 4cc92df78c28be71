// The wire format of the message stream: the connection a member opens to a peer's plain-text
// peer port to carry Raft messages without the gRPC library (https peers use the gRPC Stream
// call instead). Pure: no I/O.
//
//   sender → receiver   hello: kStreamMagic, then cluster id, from, to (u64 little endian)
//   receiver → sender   frame kAccepted, or frame kEnd (the refusal) and close
//   sender → receiver   frames kBatch: one peerpb::MessageBatch each, in queue order
//   receiver → sender   frame kKeepalive every keepalive interval; kEnd (why) before it closes
//
// A frame is a 5-byte head (type, then payload length as u32 little endian) and the payload.
// kEnd's payload is a status code byte (common/status.h Code) and the message text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "transport/metadata.h"

namespace grid::transport {

// The first bytes of a message stream. A gRPC connection starts with the HTTP/2 preface
// ("PRI * HTTP/2.0...") instead; the peer port tells the two apart by them.
inline constexpr std::string_view kStreamMagic = "GRIDRFT1";
inline constexpr size_t kStreamHelloBytes = kStreamMagic.size() + 3 * sizeof(uint64_t);
inline constexpr size_t kFrameHeadBytes = 5;

enum class FrameType : uint8_t { kBatch = 1, kAccepted = 2, kEnd = 3, kKeepalive = 4 };

std::string EncodeHello(const CallHeader& h);
// REQUIRES: hello.size() == kStreamHelloBytes. InvalidArgument when the magic is wrong.
Result<CallHeader> DecodeHello(std::string_view hello);

// Appends a frame head for a payload of `payload_bytes` to `out`.
void AppendFrameHead(FrameType type, size_t payload_bytes, std::string* out);
std::string EncodeFrame(FrameType type, std::string_view payload);
std::string EncodeEnd(const Status& why);
Status DecodeEnd(std::string_view payload);

// A frame inside FrameReader's buffer: valid until the next Reserve or Append.
struct FrameView {
  FrameType type;
  std::string_view payload;
};

// Splits a byte stream into frames. Bytes arrive in any pieces; frames come out whole.
class FrameReader {
 public:
  explicit FrameReader(size_t max_payload_bytes) : max_payload_bytes_(max_payload_bytes) {}

  // Room for `n` more bytes: write into it, then Commit() what was written.
  char* Reserve(size_t n);
  void Commit(size_t n) { size_ += n; }
  void Append(const char* data, size_t n);
  // The next whole frame, nullopt when more bytes are needed. ResourceExhausted for a payload
  // over max_payload_bytes, InvalidArgument for an unknown type; the stream is then unusable.
  Result<std::optional<FrameView>> Next();
  size_t buffered_bytes() const { return size_ - consumed_; }

 private:
  const size_t max_payload_bytes_;
  std::string buffer_;  // [consumed_, size_) not yet returned by Next()
  size_t size_ = 0;
  size_t consumed_ = 0;
};

}  // namespace grid::transport
