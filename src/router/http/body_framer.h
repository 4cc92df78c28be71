// Finds where a message body ends without changing a byte of it: the proxy forwards exactly
// the bytes Consume() reports as body and gives the rest to the next message's parser. For
// chunked bodies it checks every chunk-size line, extension, CRLF, the last chunk and the
// trailer section as the bytes pass (RFC 9112 §7.1), so a malformed body is refused before the
// next pipelined message is looked for. Chunk data is skipped over, never copied.
//
// Not thread-safe; one per message direction of a connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "router/http/error.h"
#include "router/http/limits.h"
#include "router/http/message.h"

namespace grid::router::http {

struct FrameResult {
  ParseState state = ParseState::kNeedMore;
  // Bytes at the front of the data given that belong to the body. With kComplete the next
  // message starts right after them; with kError they were valid up to the offending byte.
  size_t body_bytes = 0;
};

class BodyFramer {
 public:
  // `kind` decides the status errors answer with (see error.h).
  explicit BodyFramer(MessageKind kind, const CodecLimits& limits = {});

  // Starts a body. kNone is complete at once; kUntilClose and kTunnel end only at EOF.
  void Reset(const BodyFraming& framing);

  // Takes body bytes in arrival order, in pieces of any size. Once kComplete or kError, later
  // calls return the same state and 0 bytes.
  [[nodiscard]] FrameResult Consume(std::string_view data);

  // The peer closed its side: ends a kUntilClose or kTunnel body (kComplete); any other body
  // that has not ended is an error (kIncompleteMessage).
  [[nodiscard]] ParseState FinishAtEof();

  ParseState state() const { return state_; }
  // REQUIRES: state() is kError.
  const CodecError& error() const;

  // Bytes consumed so far, framing included.
  uint64_t body_bytes() const { return body_bytes_; }
  // Bytes of content: chunk data for chunked bodies, all bytes otherwise.
  uint64_t payload_bytes() const { return payload_bytes_; }
  // Chunks seen, the last (zero-size) chunk included.
  uint64_t chunks() const { return chunks_; }

 private:
  enum class Chunk : uint8_t {
    kSize,           // hex digits of the chunk size
    kSizeBws,        // whitespace after the size: only ";" may follow
    kExtBeforeName,  // after ";"
    kExtName,
    kExtAfterName,    // whitespace after a name: "=" or ";" must follow
    kExtBeforeValue,  // after "="
    kExtToken,
    kExtQuoted,
    kExtQuotedPair,     // after "\" in a quoted string
    kExtAfterQuoted,    // right after the closing quote
    kExtAfterValueBws,  // whitespace after a value: ";" must follow
    kSizeLf,            // CR of the chunk-size line seen
    kData,
    kDataCr,
    kDataLf,
    kTrailerLineStart,
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kTrailerEndLf,
  };

  FrameResult ConsumeChunked(std::string_view data);
  // Handles one byte of a chunk-size line or trailer; kNone or the error.
  HttpError ChunkLineByte(char c);
  HttpError ChunkSizeLineByte(char c);
  HttpError TrailerByte(char c);
  FrameResult Fail(HttpError error, size_t body_bytes);

  const MessageKind kind_;
  const CodecLimits limits_;
  BodyKind body_kind_ = BodyKind::kNone;
  ParseState state_ = ParseState::kComplete;
  CodecError error_;
  uint64_t remaining_ = 0;  // kContentLength: bytes left; kChunked: data bytes left in chunk
  Chunk chunk_ = Chunk::kSize;
  bool size_digit_seen_ = false;
  size_t line_bytes_ = 0;     // of the current chunk-size line, CRLF excluded
  size_t trailer_bytes_ = 0;  // of the trailer section so far
  uint64_t body_bytes_ = 0;
  uint64_t payload_bytes_ = 0;
  uint64_t chunks_ = 0;
};

}  // namespace grid::router::http
