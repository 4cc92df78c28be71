#include "mas/bucket/s3_protocol.h"

#include <time.h>

#include <cstdlib>

namespace grid::mas::bucket {
namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    size_t after = pos + open.size();
    if (after >= xml.size()) break;
    char next = xml[after];
    if (next != '>' && next != ' ' && next != '/' && next != '\t' && next != '\n' && next != '\r') {
      pos = after;  // a longer tag name sharing the prefix
      continue;
    }
    size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) break;
    if (xml[gt - 1] == '/') {  // <tag/>
      out.emplace_back();
      pos = gt + 1;
      continue;
    }
    size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(gt + 1, end - gt - 1));
    pos = end + close.size();
  }
  return out;
}

std::string XmlText(std::string_view inner) {
  std::string out;
  out.reserve(inner.size());
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] != '&') {
      out.push_back(inner[i]);
      continue;
    }
    size_t semi = inner.find(';', i);
    if (semi == std::string_view::npos) {
      out.append(inner.substr(i));
      break;
    }
    std::string_view entity = inner.substr(i + 1, semi - i - 1);
    if (entity == "amp") out.push_back('&');
    else if (entity == "lt") out.push_back('<');
    else if (entity == "gt") out.push_back('>');
    else if (entity == "quot") out.push_back('"');
    else if (entity == "apos") out.push_back('\'');
    else if (!entity.empty() && entity[0] == '#') {
      bool hex = entity.size() > 1 && (entity[1] == 'x' || entity[1] == 'X');
      std::string digits(entity.substr(hex ? 2 : 1));
      char* end = nullptr;
      unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0' || cp > 0x10ffff) {
        out.append(inner.substr(i, semi - i + 1));
      } else {
        AppendUtf8(static_cast<uint32_t>(cp), &out);
      }
    } else {
      out.append(inner.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

std::optional<std::string> XmlFirst(std::string_view xml, std::string_view tag) {
  auto all = XmlElements(xml, tag);
  if (all.empty()) return std::nullopt;
  return XmlText(all.front());
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> ParseIsoTime(std::string_view text) {
  struct tm tm {};
  std::string s(text);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  int64_t millis = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 3) millis = millis * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 3; ++digits) millis *= 10;
  }
  if (*rest != 'Z' || rest[1] != '\0') return std::nullopt;
  time_t secs = timegm(&tm);
  return std::chrono::system_clock::from_time_t(secs) + std::chrono::milliseconds(millis);
}

Result<ListPage> ParseListObjectsV2(std::string_view xml) {
  if (XmlElements(xml, "ListBucketResult").empty()) {
    return Internal("ListObjectsV2 answer is not a ListBucketResult");
  }
  ListPage page;
  for (std::string_view contents : XmlElements(xml, "Contents")) {
    ObjectInfo info;
    auto key = XmlFirst(contents, "Key");
    auto size = XmlFirst(contents, "Size");
    if (!key || !size || !ParseInt64(*size, &info.size_bytes)) {
      return Internal("ListObjectsV2 answer has an entry without a key or a size");
    }
    info.key = *key;
    std::string etag = XmlFirst(contents, "ETag").value_or("");
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
      etag = etag.substr(1, etag.size() - 2);
    }
    info.etag = etag;
    if (auto modified = XmlFirst(contents, "LastModified")) {
      info.modified = ParseIsoTime(*modified).value_or(std::chrono::system_clock::time_point{});
    }
    page.objects.push_back(std::move(info));
  }
  page.truncated = XmlFirst(xml, "IsTruncated").value_or("false") == "true";
  page.next_continuation_token = XmlFirst(xml, "NextContinuationToken").value_or("");
  if (page.truncated && page.next_continuation_token.empty()) {
    return Internal("ListObjectsV2 answer is truncated without a NextContinuationToken");
  }
  return page;
}

std::string CompleteMultipartUploadBody(const std::vector<UploadedPart>& parts) {
  std::string out = "<CompleteMultipartUpload>";
  for (const auto& part : parts) {
    out += "<Part><PartNumber>" + std::to_string(part.part_number) + "</PartNumber><ETag>" +
           XmlEscape(part.etag) + "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::optional<S3Error> ParseS3Error(std::string_view body) {
  auto error = XmlElements(body, "Error");
  if (error.empty()) return std::nullopt;
  return S3Error{XmlFirst(error.front(), "Code").value_or(""),
                 XmlFirst(error.front(), "Message").value_or("")};
}

Status S3StatusFromResponse(int http_status, std::string_view body, const std::string& what,
                            const std::string& bucket) {
  S3Error error = ParseS3Error(body).value_or(S3Error{});
  std::string detail = "HTTP " + std::to_string(http_status);
  if (!error.code.empty()) detail += " " + error.code;
  if (!error.message.empty()) detail += ": " + error.message;
  const std::string message = what + ": " + detail;
  const std::string& code = error.code;
  if (code == "NoSuchBucket") {
    return FailedPrecondition(message + " (the bucket of " + bucket + " does not exist)");
  }
  if (http_status == 404 || code == "NoSuchKey") return NotFound(message);
  if (http_status == 507 || code == "EntityTooLarge" || code == "QuotaExceeded" ||
      code == "XMinioStorageFull" || code == "InsufficientStorage" ||
      code == "ServiceQuotaExceeded") {
    return ResourceExhausted("bucket " + bucket + " is full or over its quota: " + message);
  }
  if (http_status == 403 || code == "AccessDenied" || code == "InvalidAccessKeyId" ||
      code == "SignatureDoesNotMatch") {
    return Status(Code::kPermissionDenied, message);
  }
  if (http_status >= 500 || code == "SlowDown") return Unavailable(message);
  if (http_status >= 400) return InvalidArgument(message);
  return Internal(message);
}

}  // namespace grid::mas::bucket
