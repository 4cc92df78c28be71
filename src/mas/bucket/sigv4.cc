#include "mas/bucket/sigv4.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "mas/bucket/digest.h"

namespace grid::mas::bucket {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims both ends and collapses inner runs of spaces to one, as the canonical form asks.
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

SigV4Pairs SortedCanonicalHeaders(const SigV4Pairs& headers) {
  SigV4Pairs out;
  for (const auto& [name, value] : headers) out.emplace_back(Lower(name), CanonicalHeaderValue(value));
  std::sort(out.begin(), out.end());
  return out;
}

std::string DateOf(const SigV4Scope& scope) { return scope.amz_date.substr(0, 8); }

std::string CredentialScope(const SigV4Scope& scope) {
  return DateOf(scope) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalQueryString(const SigV4Pairs& query) {
  SigV4Pairs encoded;
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name + "=" + value;
  }
  return out;
}

std::string SignedHeaderNames(const SigV4Pairs& headers) {
  std::string out;
  for (const auto& [name, value] : SortedCanonicalHeaders(headers)) {
    if (!out.empty()) out.push_back(';');
    out += name;
  }
  return out;
}

std::string CanonicalRequest(const SigV4Request& request) {
  std::string out = request.method + "\n" + request.canonical_uri + "\n" +
                    CanonicalQueryString(request.query) + "\n";
  for (const auto& [name, value] : SortedCanonicalHeaders(request.headers)) {
    out += name + ":" + value + "\n";
  }
  out += "\n" + SignedHeaderNames(request.headers) + "\n" + request.payload_sha256_hex;
  return out;
}

std::string StringToSign(const SigV4Request& request, const SigV4Scope& scope) {
  return "AWS4-HMAC-SHA256\n" + scope.amz_date + "\n" + CredentialScope(scope) + "\n" +
         Sha256Hex(CanonicalRequest(request));
}

std::string Signature(const SigV4Request& request, const SigV4Scope& scope,
                      const SigV4Credentials& credentials) {
  std::string key = HmacSha256("AWS4" + credentials.secret_access_key, DateOf(scope));
  key = HmacSha256(key, scope.region);
  key = HmacSha256(key, scope.service);
  key = HmacSha256(key, "aws4_request");
  return HexEncode(HmacSha256(key, StringToSign(request, scope)));
}

std::string AuthorizationHeader(const SigV4Request& request, const SigV4Scope& scope,
                                const SigV4Credentials& credentials) {
  return "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" +
         CredentialScope(scope) + ", SignedHeaders=" + SignedHeaderNames(request.headers) +
         ", Signature=" + Signature(request, scope, credentials);
}

}  // namespace grid::mas::bucket
