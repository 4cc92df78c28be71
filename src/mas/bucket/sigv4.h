// AWS Signature Version 4 for requests whose headers carry the signature (the
// "Authorization: AWS4-HMAC-SHA256 ..." form). Pure functions: no clock, no I/O.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace grid::mas::bucket {

using SigV4Pairs = std::vector<std::pair<std::string, std::string>>;

struct SigV4Request {
  std::string method;               // "GET", "PUT", ...
  std::string canonical_uri;        // the path as sent, already URI-encoded ("/bucket/a%20b")
  SigV4Pairs query;                 // raw (unencoded) names and values, any order
  SigV4Pairs headers;               // the headers to sign (must include host), any order/case
  std::string payload_sha256_hex;   // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

struct SigV4Scope {
  std::string amz_date;  // "YYYYMMDDTHHMMSSZ" (UTC); also sent as x-amz-date
  std::string region;    // "us-east-1"
  std::string service;   // "s3"
};

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

// RFC 3986 percent-encoding as SigV4 wants it: every byte except A-Z a-z 0-9 - _ . ~ is
// %XX (upper-case hex); '/' is kept when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);
// "YYYYMMDDTHHMMSSZ" for `t` in UTC.
std::string AmzDate(std::chrono::system_clock::time_point t);
// name=value pairs, each encoded, sorted by name then value, joined with '&'.
std::string CanonicalQueryString(const SigV4Pairs& query);
// "host;x-amz-date": lower-case header names, sorted, ';'-joined.
std::string SignedHeaderNames(const SigV4Pairs& headers);
std::string CanonicalRequest(const SigV4Request& request);
std::string StringToSign(const SigV4Request& request, const SigV4Scope& scope);
// Hex signature of the request.
std::string Signature(const SigV4Request& request, const SigV4Scope& scope,
                      const SigV4Credentials& credentials);
// The Authorization header's value.
std::string AuthorizationHeader(const SigV4Request& request, const SigV4Scope& scope,
                                const SigV4Credentials& credentials);

}  // namespace grid::mas::bucket
