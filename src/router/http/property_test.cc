// Property tests with seeded generators: the outcome of parsing or framing never depends on
// how the bytes are split across calls, for valid messages (which must parse to what was
// generated) and for randomly damaged ones (which must fail or parse the same way however
// they arrive).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "router/http/body_framer.h"
#include "router/http/request_parser.h"
#include "router/http/response_parser.h"
#include "router/http/test_util.h"

namespace grid::router::http {
namespace {

using testing::FrameInPieces;
using testing::FrameOutcome;
using testing::Outcome;

constexpr uint64_t kSeed = 20240611;

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  size_t Uniform(size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng_);
  }
  bool Chance(int percent) { return Uniform(0, 99) < static_cast<size_t>(percent); }
  char Pick(std::string_view alphabet) { return alphabet[Uniform(0, alphabet.size() - 1)]; }

  std::string From(std::string_view alphabet, size_t lo, size_t hi) {
    std::string s(Uniform(lo, hi), ' ');
    for (char& c : s) c = Pick(alphabet);
    return s;
  }

  std::string Token(size_t lo, size_t hi) { return From(kTchars, lo, hi); }

  // A field value without leading or trailing whitespace.
  std::string Value(size_t hi) {
    std::string v = From(kValueChars, 0, hi);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    return v;
  }

  std::string Ows() { return From(" \t", 0, 2); }

  // Offsets at which to cut `size` bytes.
  std::vector<size_t> Cuts(size_t size) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (at < size) {
      at += Uniform(1, 40);
      cuts.push_back(at);
    }
    return cuts;
  }

  static constexpr std::string_view kTchars =
      "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static constexpr std::string_view kValueChars =
      " \tabcXYZ019!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\x80\xa0\xff";
  static constexpr std::string_view kPathChars = "abcxyz0189-._~!$&'()*+,;=:@%/ABC";

 private:
  std::mt19937_64 rng_;
};

struct GeneratedRequest {
  std::string text;
  Outcome expected;
};

// A valid request head and what parsing it must produce.
GeneratedRequest MakeRequest(Gen& g) {
  static const char* kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  GeneratedRequest r;
  Outcome& e = r.expected;
  e.state = ParseState::kComplete;
  const bool http11 = g.Chance(85);
  const std::string method = g.Chance(90) ? kMethods[g.Uniform(0, 6)] : g.Token(1, 12);
  std::string target = "/" + g.From(Gen::kPathChars, 0, 60);
  if (g.Chance(40)) target += "?" + g.From(Gen::kPathChars, 0, 40);
  std::string host = g.From("abcdefghij.-0123456789", 1, 30);
  if (g.Chance(30)) host += ":" + std::to_string(g.Uniform(1, 65535));

  std::string head;
  for (size_t i = g.Uniform(0, 100) < 10 ? g.Uniform(1, 2) : 0; i > 0; --i) head += "\r\n";
  const bool absolute = g.Chance(10);
  head += method + " " + (absolute ? "http://" + host + target : target) + " " +
          (http11 ? "HTTP/1.1" : "HTTP/1.0") + "\r\n";
  e.start =
      method + " " + (absolute ? "http://" + host + target : target) + (http11 ? " 1.1" : " 1.0");
  e.host = host;

  auto add = [&](const std::string& name, const std::string& value) {
    head += name + ":" + g.Ows() + value + g.Ows() + "\r\n";
    e.headers.emplace_back(name, value);
  };
  const size_t fields = g.Uniform(0, 20);
  const size_t host_at = http11 || g.Chance(50) ? g.Uniform(0, fields) : fields + 1;
  if (host_at > fields && !absolute) e.host = "";
  bool close = false;
  bool keep_alive_token = false;
  for (size_t i = 0; i <= fields; ++i) {
    if (i == host_at) add(g.Chance(50) ? "Host" : "host", host);
    if (i == fields) break;
    if (g.Chance(10)) {
      const bool c = g.Chance(50);
      add("Connection", c ? "close" : "keep-alive");
      (c ? close : keep_alive_token) = true;
      continue;
    }
    std::string name = g.Token(1, 24);
    // Keep clear of the fields with meaning; those have their own tests.
    if (name.size() == 4 || name.size() == 6 || name.size() == 7 || name.size() == 10 ||
        name.size() == 14 || name.size() == 17) {
      name += "-x";
    }
    add(name, g.Value(80));
  }
  switch (g.Uniform(0, 2)) {
    case 0:
      break;
    case 1:
      e.content_length = g.Uniform(0, 1u << 20);
      add("Content-Length", std::to_string(e.content_length));
      e.body = BodyKind::kContentLength;
      break;
    case 2:
      if (http11) {
        add("Transfer-Encoding", "chunked");
        e.body = BodyKind::kChunked;
      }
      break;
  }
  head += "\r\n";
  e.keep_alive = !close && (http11 || keep_alive_token);
  e.head_bytes = head.size();
  r.text = head;
  return r;
}

// Damages `s` with one to three random edits biased to the bytes that matter to HTTP.
std::string Damage(Gen& g, std::string s) {
  static constexpr char kBytes[] =
      "\r\n \t:;,\"\\\x00\x7f\x80"
      "0aZ/=";
  static constexpr std::string_view kInteresting(kBytes, sizeof(kBytes) - 1);
  for (size_t n = g.Uniform(1, 3); n > 0 && !s.empty(); --n) {
    const size_t at = g.Uniform(0, s.size() - 1);
    const char c = g.Chance(80) ? kInteresting[g.Uniform(0, kInteresting.size() - 1)]
                                : static_cast<char>(g.Uniform(0, 255));
    switch (g.Uniform(0, 2)) {
      case 0:
        s[at] = c;
        break;
      case 1:
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c);
        break;
      case 2:
        s.erase(at, 1);
        break;
    }
  }
  return s;
}

template <typename Parser>
void ExpectSplitIndependent(Gen& g, Parser& a, Parser& b, Parser& c, std::string_view input,
                            Outcome* out) {
  const Outcome whole = testing::ParseOneShot(a, input);
  EXPECT_EQ(whole, testing::ParseByteAtATime(b, input)) << input;
  EXPECT_EQ(whole, testing::ParseInPieces(c, input, g.Cuts(input.size()))) << input;
  if (whole.state == ParseState::kComplete) {
    EXPECT_LE(whole.head_bytes, input.size());
  }
  *out = whole;
}

TEST(HttpCodecPropertyTest, ValidRequestsParseTheSameHoweverSplit) {
  Gen g(kSeed);
  RequestParser a, b, c;
  for (int i = 0; i < 400; ++i) {
    const GeneratedRequest r = MakeRequest(g);
    // Bytes after the head (a body, the next request) never change the head.
    const std::string input = r.text + (g.Chance(50) ? "POST / HTTP/1.1\r\n" : "");
    a.Reset();
    b.Reset();
    c.Reset();
    Outcome got;
    ExpectSplitIndependent(g, a, b, c, input, &got);
    ASSERT_EQ(got, r.expected) << "seed " << kSeed << " case " << i << ":\n" << r.text;
  }
}

TEST(HttpCodecPropertyTest, DamagedRequestsFailOrParseTheSameHoweverSplit) {
  Gen g(kSeed + 1);
  RequestParser a, b, c;
  int errors = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::string input = Damage(g, MakeRequest(g).text);
    a.Reset();
    b.Reset();
    c.Reset();
    Outcome got;
    ExpectSplitIndependent(g, a, b, c, input, &got);
    if (got.state == ParseState::kError) {
      ++errors;
      EXPECT_GE(got.error_status, 400);
    }
  }
  EXPECT_GT(errors, 500) << "the damage should usually be caught";
}

std::string MakeResponse(Gen& g, ResponseContext* context) {
  static const uint16_t kCodes[] = {100, 101, 103, 200, 201, 204, 206, 301, 304, 404, 500, 503};
  const uint16_t code = kCodes[g.Uniform(0, 11)];
  *context = ResponseContext{g.Chance(20) ? Method::kHead : Method::kGet, code == 101};
  const bool http10 = code != 101 && g.Chance(10);
  std::string s = std::string(http10 ? "HTTP/1.0 " : "HTTP/1.1 ") + std::to_string(code);
  if (g.Chance(90)) s += " " + g.Value(30);
  s += "\r\n";
  for (size_t n = g.Uniform(0, 15); n > 0; --n) {
    std::string name = g.Token(1, 20);
    if (name.size() == 7 || name.size() == 10 || name.size() == 14 || name.size() == 17) {
      name += "-y";
    }
    s += name + ":" + g.Ows() + g.Value(60) + g.Ows() + "\r\n";
  }
  if (g.Chance(40)) s += "Content-Length: " + std::to_string(g.Uniform(0, 100000)) + "\r\n";
  return s + "\r\n";
}

TEST(HttpCodecPropertyTest, ResponsesParseTheSameHoweverSplit) {
  Gen g(kSeed + 2);
  ResponseParser a, b, c;
  for (int i = 0; i < 1500; ++i) {
    ResponseContext context;
    std::string input = MakeResponse(g, &context);
    const bool damaged = g.Chance(60);
    if (damaged) input = Damage(g, input);
    a.Reset(context);
    b.Reset(context);
    c.Reset(context);
    Outcome got;
    ExpectSplitIndependent(g, a, b, c, input, &got);
    if (!damaged) {
      ASSERT_EQ(got.state, ParseState::kComplete) << input;
    }
    if (got.state == ParseState::kError) {
      EXPECT_EQ(got.error_status, 502);
    }
  }
}

// A valid chunked body: chunks with random extensions, then random trailers.
std::string MakeChunkedBody(Gen& g, uint64_t* payload, uint64_t* chunks) {
  std::string s;
  *payload = 0;
  *chunks = 0;
  auto extensions = [&] {
    std::string e;
    for (size_t n = g.Chance(30) ? g.Uniform(1, 3) : 0; n > 0; --n) {
      e += g.Ows() + ";" + g.Ows() + g.Token(1, 8);
      if (g.Chance(60)) {
        e += g.Ows() + "=" + g.Ows();
        e += g.Chance(50) ? g.Token(1, 8) : "\"" + g.From("ab \t!#[]~\x80", 0, 8) + "\\\"\"";
      }
    }
    return e;
  };
  for (size_t n = g.Uniform(0, 6); n > 0; --n) {
    const size_t size = g.Uniform(1, 300);
    char hex[32];
    std::snprintf(hex, sizeof(hex), g.Chance(50) ? "%zx" : "%zX", size);
    s += std::string(g.Uniform(0, 2), '0') + hex + extensions() + "\r\n";
    s += g.From(std::string_view("0123456789\r\n;\"\x00 abc", 19), size, size) + "\r\n";
    *payload += size;
    ++*chunks;
  }
  s += std::string(g.Uniform(1, 3), '0') + extensions() + "\r\n";
  ++*chunks;
  for (size_t n = g.Chance(30) ? g.Uniform(1, 3) : 0; n > 0; --n) {
    s += g.Token(1, 10) + ":" + g.Ows() + g.Value(30) + "\r\n";
  }
  return s + "\r\n";
}

TEST(HttpCodecPropertyTest, ChunkedBodiesFrameTheSameHoweverSplit) {
  Gen g(kSeed + 3);
  for (int i = 0; i < 800; ++i) {
    uint64_t payload = 0;
    uint64_t chunks = 0;
    const std::string body = MakeChunkedBody(g, &payload, &chunks);
    const bool damaged = g.Chance(50);
    const std::string input = (damaged ? Damage(g, body) : body) + "GET / HTTP/1.1\r\n";
    FrameOutcome first;
    for (size_t piece : {input.size(), size_t{1}, g.Uniform(2, 64)}) {
      BodyFramer f(MessageKind::kRequest);
      f.Reset(BodyFraming{BodyKind::kChunked, 0});
      const FrameOutcome o = FrameInPieces(f, input, piece);
      if (piece == input.size()) {
        first = o;
      } else {
        ASSERT_EQ(o, first) << "piece " << piece << ":\n" << input;
      }
    }
    if (!damaged) {
      ASSERT_EQ(first.state, ParseState::kComplete) << body;
      EXPECT_EQ(first.body_bytes, body.size());
      EXPECT_EQ(first.payload_bytes, payload);
      EXPECT_EQ(first.chunks, chunks);
    }
  }
}

}  // namespace
}  // namespace grid::router::http
