#include "kv/http/http_message.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>

namespace grid::kv::http {
namespace {

bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding; a malformed escape is kept as it is.
std::string QueryUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

ParseResult Error(int status) {
  ParseResult r;
  r.state = ParseState::kError;
  r.error_status = status;
  return r;
}

// Splits a request target into path and query. False when it is neither origin-form
// ("/p?q"), absolute-form ("http://host/p?q") nor "*".
bool SplitTarget(std::string_view target, HttpRequest* request) {
  if (target.empty()) return false;
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  if (target == "*") {
    request->path.assign(1, '*');  // (not = "*": GCC 12 -Wrestrict false positive)
    return true;
  }
  if (target.front() != '/') {
    const size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos || scheme_end == 0) return false;
    target.remove_prefix(scheme_end + 3);
    const size_t path_start = target.find_first_of("/?");
    target = path_start == std::string_view::npos ? std::string_view("/")
                                                  : target.substr(path_start);
    if (target.front() == '?') {
      request->path.assign(1, '/');
      request->query = std::string(target.substr(1));
      return true;
    }
  }
  const size_t q = target.find('?');
  request->path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) request->query = std::string(target.substr(q + 1));
  return true;
}

// Returns 0, or the error status for a malformed or unsupported request line.
int ParseRequestLine(std::string_view line, HttpRequest* request) {
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return 400;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return 400;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return 400;
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
      !std::isdigit(static_cast<unsigned char>(version[5])) || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return 400;
  }
  if (version[5] != '1') return 505;
  request->method = std::string(method);
  request->version_minor = version[7] - '0';
  if (!SplitTarget(target, request)) return 400;
  return 0;
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

std::vector<std::string> HttpRequest::QueryValues(std::string_view name) const {
  std::vector<std::string> values;
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find_first_of("&;");
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (QueryUnescape(pair.substr(0, eq)) != name) continue;
    values.push_back(eq == std::string_view::npos ? std::string()
                                                  : QueryUnescape(pair.substr(eq + 1)));
  }
  return values;
}

ParseResult ParseRequest(std::string_view buffer, const HttpLimits& limits) {
  // Lines end with "\r\n" (a bare "\n" is accepted, as Go does); the head ends at an empty line.
  std::vector<std::string_view> lines;
  size_t pos = 0;
  size_t head_bytes = 0;
  while (true) {
    const size_t nl = buffer.find('\n', pos);
    if (nl == std::string_view::npos || nl + 1 > limits.max_head_bytes) {
      if (buffer.size() > limits.max_head_bytes) return Error(431);
      return ParseResult{};
    }
    std::string_view line = buffer.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (line.empty()) {
      if (lines.empty()) return Error(400);  // no request line
      head_bytes = pos;
      break;
    }
    lines.push_back(line);
  }

  ParseResult result;
  HttpRequest& request = result.request;
  if (int status = ParseRequestLine(lines[0], &request); status != 0) return Error(status);
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') return Error(400);  // obsolete folding
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) return Error(400);
    request.headers.emplace_back(Lower(line.substr(0, colon)),
                                 std::string(TrimOws(line.substr(colon + 1))));
  }
  if (request.version_minor >= 1 && request.Header("host") == nullptr) return Error(400);
  if (request.Header("transfer-encoding") != nullptr) return Error(501);

  uint64_t content_length = 0;
  bool have_length = false;
  for (const auto& [name, value] : request.headers) {
    if (name != "content-length") continue;
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
      return Error(400);
    }
    if (have_length && n != content_length) return Error(400);
    content_length = n;
    have_length = true;
  }
  if (content_length > limits.max_body_bytes) return Error(413);
  if (buffer.size() - head_bytes < content_length) return ParseResult{};
  request.body = std::string(buffer.substr(head_bytes, content_length));
  result.consumed_bytes = head_bytes + content_length;
  result.state = ParseState::kComplete;
  return result;
}

std::string_view StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Request Entity Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

HttpResponse ErrorResponse(int status) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  response.body = fmt::format("{} {}", status, StatusText(status));
  return response;
}

std::string SerializeResponse(const HttpResponse& response, bool head_only,
                              std::chrono::system_clock::time_point now) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", response.status,
                                StatusText(response.status));
  for (const auto& [name, value] : response.headers) {
    out += fmt::format("{}: {}\r\n", name, value);
  }
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[64];
  std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  out += fmt::format("Date: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", date,
                     response.body.size());
  if (!head_only) out += response.body;
  return out;
}

}  // namespace grid::kv::http
