// Body framing without transformation: Content-Length, chunked (RFC 9112 §7.1: sizes,
// extensions, CRLFs, last chunk, trailers), until-close and tunnels, and the chunk limits.
#include "router/http/body_framer.h"

#include <gtest/gtest.h>

#include <string>

#include "router/http/test_util.h"

namespace grid::router::http {
namespace {

using testing::FrameInPieces;
using testing::FrameOutcome;

constexpr BodyFraming kChunked{BodyKind::kChunked, 0};

// Frames `input` as a chunked body in pieces of 1, 2, 3, 7 and all bytes; all must agree.
FrameOutcome Chunked(std::string_view input, const CodecLimits& limits = {},
                     MessageKind kind = MessageKind::kRequest) {
  FrameOutcome first;
  bool have_first = false;
  for (size_t piece : {input.size() + 1, size_t{1}, size_t{2}, size_t{3}, size_t{7}}) {
    BodyFramer f(kind, limits);
    f.Reset(kChunked);
    const FrameOutcome o = FrameInPieces(f, input, piece);
    if (!have_first) {
      first = o;
      have_first = true;
    } else {
      EXPECT_EQ(o, first) << "piece " << piece << " for: " << input;
    }
  }
  return first;
}

void ExpectChunkedError(std::string_view input, HttpError error, const CodecLimits& limits = {}) {
  const FrameOutcome o = Chunked(input, limits);
  EXPECT_EQ(o.state, ParseState::kError) << input;
  EXPECT_EQ(HttpErrorName(o.error), HttpErrorName(error)) << input;
}

TEST(HttpBodyFramerTest, ContentLength) {
  BodyFramer f(MessageKind::kRequest);
  f.Reset(BodyFraming{BodyKind::kContentLength, 5});
  FrameResult r = f.Consume("hel");
  EXPECT_EQ(r.state, ParseState::kNeedMore);
  EXPECT_EQ(r.body_bytes, 3u);
  r = f.Consume("loGET /");
  EXPECT_EQ(r.state, ParseState::kComplete);
  EXPECT_EQ(r.body_bytes, 2u);
  EXPECT_EQ(f.Consume("more").body_bytes, 0u);
  EXPECT_EQ(f.body_bytes(), 5u);
  EXPECT_EQ(f.payload_bytes(), 5u);
}

TEST(HttpBodyFramerTest, EmptyBodiesAreCompleteAtOnce) {
  BodyFramer f(MessageKind::kRequest);
  f.Reset(BodyFraming{BodyKind::kNone, 0});
  EXPECT_EQ(f.state(), ParseState::kComplete);
  EXPECT_EQ(f.Consume("GET").body_bytes, 0u);
  f.Reset(BodyFraming{BodyKind::kContentLength, 0});
  EXPECT_EQ(f.state(), ParseState::kComplete);
  EXPECT_EQ(f.FinishAtEof(), ParseState::kComplete);
}

TEST(HttpBodyFramerTest, UntilCloseAndTunnelEndAtEof) {
  for (BodyKind kind : {BodyKind::kUntilClose, BodyKind::kTunnel}) {
    BodyFramer f(MessageKind::kResponse);
    f.Reset(BodyFraming{kind, 0});
    const FrameResult r = f.Consume("anything\r\n0\r\n\r\n");
    EXPECT_EQ(r.state, ParseState::kNeedMore);
    EXPECT_EQ(r.body_bytes, 15u);
    EXPECT_EQ(f.FinishAtEof(), ParseState::kComplete);
  }
}

TEST(HttpBodyFramerTest, EofBeforeTheEndIsAnError) {
  BodyFramer req(MessageKind::kRequest);
  req.Reset(BodyFraming{BodyKind::kContentLength, 10});
  ASSERT_EQ(req.Consume("abc").state, ParseState::kNeedMore);
  EXPECT_EQ(req.FinishAtEof(), ParseState::kError);
  EXPECT_EQ(req.error().code, HttpError::kIncompleteMessage);
  EXPECT_EQ(req.error().status, 400);

  BodyFramer resp(MessageKind::kResponse);
  resp.Reset(kChunked);
  ASSERT_EQ(resp.Consume("5\r\nab").state, ParseState::kNeedMore);
  EXPECT_EQ(resp.FinishAtEof(), ParseState::kError);
  EXPECT_EQ(resp.error().status, 502);
}

TEST(HttpBodyFramerTest, ChunkedBodyEndsAfterTheTrailers) {
  const std::string body = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
  const FrameOutcome o = Chunked(body + "GET / HTTP/1.1\r\n");
  EXPECT_EQ(o.state, ParseState::kComplete);
  EXPECT_EQ(o.body_bytes, body.size());
  EXPECT_EQ(o.payload_bytes, 4u + 5u + 14u);
  EXPECT_EQ(o.chunks, 4u);
}

TEST(HttpBodyFramerTest, ChunkedWithExtensionsAndTrailers) {
  const std::string body =
      "a;name=value;flag\r\n0123456789\r\n"
      "1 ; q = \"quoted \\\" pair\\\\\" ;x\r\nZ\r\n"
      "00000000000000000000000003;A-B=tok!en\r\nabc\r\n"
      "0;last\r\n"
      "Expires: Wed, 21 Oct 2015 07:28:00 GMT\r\n"
      "X-Checksum:\tabc \r\n"
      "X-Empty:\r\n"
      "\r\n";
  const FrameOutcome o = Chunked(body + "next");
  EXPECT_EQ(o.state, ParseState::kComplete);
  EXPECT_EQ(o.body_bytes, body.size());
  EXPECT_EQ(o.payload_bytes, 14u);
  EXPECT_EQ(o.chunks, 4u);
}

TEST(HttpBodyFramerTest, UpperAndLowerCaseHex) {
  const std::string body =
      "1A\r\n" + std::string(26, 'x') + "\r\n1a\r\n" + std::string(26, 'y') + "\r\n0\r\n\r\n";
  const FrameOutcome o = Chunked(body);
  EXPECT_EQ(o.state, ParseState::kComplete);
  EXPECT_EQ(o.payload_bytes, 52u);
}

TEST(HttpBodyFramerTest, BadChunkSizes) {
  for (const char* bad : {"\r\n", "x\r\n", "-1\r\n", "+1\r\n", "0x5\r\n", " 5\r\n", "5 \r\n",
                          "5\t\r\n", "5 5\r\n", ";x\r\n"}) {
    ExpectChunkedError(bad, HttpError::kBadChunkSize);
  }
}

TEST(HttpBodyFramerTest, ChunkSizeOverflow) {
  const FrameOutcome max = Chunked("7fffffffffffffff\r\nabc");
  EXPECT_EQ(max.state, ParseState::kNeedMore) << "2^63-1 is the largest size";
  ExpectChunkedError("8000000000000000\r\n", HttpError::kChunkSizeOverflow);
  ExpectChunkedError("ffffffffffffffff\r\n", HttpError::kChunkSizeOverflow);
  ExpectChunkedError("10000000000000000000\r\n", HttpError::kChunkSizeOverflow);
}

TEST(HttpBodyFramerTest, BadChunkExtensions) {
  for (const char* bad :
       {"5;\r\n", "5; \r\n", "5;=v\r\n", "5;a=\r\n", "5;a= \r\n", "5;a \r\n", "5;a=b \r\n",
        "5;a=\"x\r\n", "5;a=\"x\" y\r\n", "5;a=\"x\"y\r\n", "5;a=\"\x01\"\r\n", "5;a=b=c\r\n",
        "5;a@b\r\n", "5;a=\"\\\x01\"\r\n", "5;a=\xc3\xa9\r\n"}) {
    ExpectChunkedError(bad, HttpError::kBadChunkExtension);
  }
}

TEST(HttpBodyFramerTest, MissingCrlfAfterChunkData) {
  ExpectChunkedError("3\r\nabcd\r\n0\r\n\r\n", HttpError::kMissingChunkCrlf);
  ExpectChunkedError("3\r\nabc\n0\r\n\r\n", HttpError::kMissingChunkCrlf);
  ExpectChunkedError("3\r\nabc\rx", HttpError::kMissingChunkCrlf);
}

TEST(HttpBodyFramerTest, BareLineEndsInChunkLines) {
  ExpectChunkedError("3\nabc\r\n", HttpError::kBareLf);
  ExpectChunkedError("3;a=b\nabc\r\n", HttpError::kBareLf);
  ExpectChunkedError("3\rabc\r\n", HttpError::kBareCr);
  ExpectChunkedError("0\r\n\n", HttpError::kBareLf);
  ExpectChunkedError("0\r\n\rx", HttpError::kBareCr);
}

TEST(HttpBodyFramerTest, BadTrailers) {
  ExpectChunkedError("0\r\n folded\r\n\r\n", HttpError::kObsFold);
  ExpectChunkedError("0\r\nA: 1\r\n\tfolded\r\n\r\n", HttpError::kObsFold);
  ExpectChunkedError("0\r\nA : 1\r\n\r\n", HttpError::kSpaceBeforeColon);
  ExpectChunkedError("0\r\n: 1\r\n\r\n", HttpError::kBadHeaderName);
  ExpectChunkedError("0\r\nA(b): 1\r\n\r\n", HttpError::kBadHeaderName);
  ExpectChunkedError("0\r\nNoColon\r\n\r\n", HttpError::kBadHeaderName);
  ExpectChunkedError("0\r\nA: \x01\r\n\r\n", HttpError::kBadHeaderValue);
  ExpectChunkedError("0\r\nA: 1\n\r\n", HttpError::kBareLf);
  ExpectChunkedError("0\r\nA: 1\rB: 2\r\n\r\n", HttpError::kBareCr);
}

TEST(HttpBodyFramerTest, ErrorsReportTheValidPrefixAndAreSticky) {
  BodyFramer f(MessageKind::kResponse);
  f.Reset(kChunked);
  const FrameResult r = f.Consume("2\r\nab\r\nzz");
  EXPECT_EQ(r.state, ParseState::kError);
  EXPECT_EQ(r.body_bytes, 7u);
  EXPECT_EQ(f.error().code, HttpError::kBadChunkSize);
  EXPECT_EQ(f.error().status, 502);
  EXPECT_EQ(f.Consume("0\r\n\r\n").state, ParseState::kError);
  EXPECT_EQ(f.FinishAtEof(), ParseState::kError);
}

TEST(HttpBodyFramerTest, ChunkSizeLineLimit) {
  for (size_t limit : {size_t{16}, CodecLimits().max_chunk_size_line_bytes}) {
    CodecLimits limits;
    limits.max_chunk_size_line_bytes = limit;
    // "1;" + name: exactly `limit` bytes of size line.
    const std::string at = "1;" + std::string(limit - 2, 'e');
    const FrameOutcome ok = Chunked(at + "\r\nx\r\n0\r\n\r\n", limits);
    EXPECT_EQ(ok.state, ParseState::kComplete) << limit;
    ExpectChunkedError(at + "e\r\nx\r\n0\r\n\r\n", HttpError::kChunkLineTooLong, limits);
    // Leading zeros count too.
    EXPECT_EQ(Chunked(std::string(limit - 1, '0') + "1\r\nx\r\n0\r\n\r\n", limits).state,
              ParseState::kComplete);
    ExpectChunkedError(std::string(limit, '0') + "1\r\nx\r\n0\r\n\r\n",
                       HttpError::kChunkLineTooLong, limits);
  }
}

TEST(HttpBodyFramerTest, TrailerLimit) {
  for (size_t limit : {size_t{20}, CodecLimits().max_trailer_bytes}) {
    CodecLimits limits;
    limits.max_trailer_bytes = limit;
    // "T: " + value + "\r\n" + "\r\n" is exactly `limit` bytes.
    const std::string value(limit - 7, 'v');
    EXPECT_EQ(Chunked("0\r\nT: " + value + "\r\n\r\n", limits).state, ParseState::kComplete);
    ExpectChunkedError("0\r\nT: " + value + "v\r\n\r\n", HttpError::kTrailerTooLarge, limits);
  }
  CodecLimits tiny;
  tiny.max_trailer_bytes = 2;
  EXPECT_EQ(Chunked("0\r\n\r\n", tiny).state, ParseState::kComplete);
  ExpectChunkedError("0\r\nA:\r\n\r\n", HttpError::kTrailerTooLarge, tiny);
}

TEST(HttpBodyFramerTest, ChunkDataIsSkippedWithoutInspection) {
  // CRLFs, NULs and digits inside chunk data are data.
  std::string data = "0\r\n\r\n";
  data += std::string("\0\n\r", 3);
  data += "x";
  const std::string body = "9\r\n" + data + "\r\n0\r\n\r\n";
  const FrameOutcome o = Chunked(body);
  EXPECT_EQ(o.state, ParseState::kComplete);
  EXPECT_EQ(o.payload_bytes, 9u);
  EXPECT_EQ(o.body_bytes, body.size());
}

}  // namespace
}  // namespace grid::router::http
