#include "router/http/head_writer.h"

#include <span>

#include "router/http/chars.h"

namespace grid::router::http {
namespace {

using chars::EqualsLower;

enum class FieldRole : uint8_t {
  kOther,
  kHopByHop,
  kUpgrade,
  kHost,
  kForwardedFor,
  kForwardedProto,
  kRequestId,
};

FieldRole Classify(std::string_view name) {
  switch (name.size()) {
    case 2:
      if (EqualsLower(name, "te")) return FieldRole::kHopByHop;
      break;
    case 4:
      if (EqualsLower(name, "host")) return FieldRole::kHost;
      break;
    case 7:
      if (EqualsLower(name, "upgrade")) return FieldRole::kUpgrade;
      if (EqualsLower(name, "trailer")) return FieldRole::kHopByHop;
      break;
    case 10:
      if (EqualsLower(name, "connection") || EqualsLower(name, "keep-alive")) {
        return FieldRole::kHopByHop;
      }
      break;
    case 12:
      if (EqualsLower(name, "x-request-id")) return FieldRole::kRequestId;
      break;
    case 15:
      if (EqualsLower(name, "x-forwarded-for")) return FieldRole::kForwardedFor;
      break;
    case 16:
      if (EqualsLower(name, "proxy-connection")) return FieldRole::kHopByHop;
      break;
    case 17:
      if (EqualsLower(name, "transfer-encoding")) return FieldRole::kHopByHop;
      if (EqualsLower(name, "x-forwarded-proto")) return FieldRole::kForwardedProto;
      break;
    case 18:
      if (EqualsLower(name, "proxy-authenticate")) return FieldRole::kHopByHop;
      break;
    case 19:
      if (EqualsLower(name, "proxy-authorization")) return FieldRole::kHopByHop;
      break;
    default:
      break;
  }
  return FieldRole::kOther;
}

// Whether a Connection field lists `name` as one of its tokens.
bool NamedByConnection(std::span<const HeaderField> headers, std::string_view name) {
  for (const HeaderField& h : headers) {
    if (h.name.size() != 10 || !EqualsLower(h.name, "connection")) continue;
    std::string_view list = h.value;
    for (;;) {
      const size_t comma = list.find(',');
      if (EqualsIgnoreCase(chars::TrimOws(list.substr(0, comma)), name)) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  // A parsed field written "name: value" is one run of the head it came from: one append.
  if (!name.empty() && value.data() == name.data() + name.size() + 2 &&
      name.data()[name.size()] == ':' && name.data()[name.size() + 1] == ' ') {
    out->append(name.data(), name.size() + 2 + value.size());
  } else {
    out->append(name);
    out->append(": ", 2);
    out->append(value);
  }
  out->append("\r\n", 2);
}

void AppendStatusCode(std::string* out, uint16_t code) {
  const char digits[3] = {static_cast<char>('0' + code / 100),
                          static_cast<char>('0' + code / 10 % 10),
                          static_cast<char>('0' + code % 10)};
  out->append(digits, 3);
}

// The origin-form of an absolute-form target: from the first '/' or '?' after the authority.
std::string_view OriginFormOf(std::string_view target, std::string_view* prefix) {
  const size_t authority = target.find("://") + 3;
  const size_t rest = target.find_first_of("/?", authority);
  if (rest == std::string_view::npos) {
    *prefix = "/";
    return std::string_view();
  }
  *prefix = target[rest] == '?' ? "/" : "";
  return target.substr(rest);
}

}  // namespace

std::string_view AppendUpstreamRequestHead(const RequestHead& head,
                                           const UpstreamRequestOptions& options,
                                           std::string* out) {
  out->reserve(out->size() + head.head_bytes + 128 + options.client_address.size() +
               options.request_id.size());
  out->append(head.method_name);
  out->push_back(' ');
  const bool absolute = head.target_form == TargetForm::kAbsolute;
  if (absolute) {
    std::string_view prefix;
    const std::string_view origin = OriginFormOf(head.target, &prefix);
    out->append(prefix);
    out->append(origin);
  } else {
    out->append(head.target);
  }
  out->append(head.version == HttpVersion::kHttp11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");

  bool host_sent = false;
  bool forwarded_for_seen = false;
  std::string_view request_id;
  for (const HeaderField& h : head.headers) {
    switch (Classify(h.name)) {
      case FieldRole::kHopByHop:
        continue;
      case FieldRole::kUpgrade:
        if (!head.upgrade) continue;
        break;
      case FieldRole::kHost:
        if (absolute) continue;
        host_sent = true;
        break;
      case FieldRole::kForwardedFor:
        forwarded_for_seen = true;
        continue;
      case FieldRole::kForwardedProto:
        continue;
      case FieldRole::kRequestId:
        if (!request_id.empty() || h.value.empty()) continue;
        request_id = h.value;
        break;
      case FieldRole::kOther:
        break;
    }
    if (head.connection_names_fields && NamedByConnection(head.headers, h.name)) continue;
    AppendField(out, h.name, h.value);
  }

  if (!host_sent) AppendField(out, "Host", head.host);
  if (head.framing.kind == BodyKind::kChunked) out->append("Transfer-Encoding: chunked\r\n");
  out->append(head.upgrade ? "Connection: upgrade\r\n" : "Connection: keep-alive\r\n");

  // X-Forwarded-For: the client's elements (when trusted), then the client's address.
  bool forwarded_for_started = false;
  auto add_forwarded_for = [&](std::string_view element) {
    if (element.empty()) return;
    out->append(forwarded_for_started ? ", " : "X-Forwarded-For: ");
    out->append(element);
    forwarded_for_started = true;
  };
  if (forwarded_for_seen && options.append_forwarded_for) {
    for (const HeaderField& h : head.headers) {
      if (h.name.size() == 15 && EqualsLower(h.name, "x-forwarded-for")) add_forwarded_for(h.value);
    }
  }
  add_forwarded_for(options.client_address);
  if (forwarded_for_started) out->append("\r\n", 2);
  AppendField(out, "X-Forwarded-Proto", options.client_scheme);
  if (request_id.empty()) {
    request_id = options.request_id;
    if (!request_id.empty()) AppendField(out, "X-Request-Id", request_id);
  }
  out->append("\r\n", 2);
  return request_id;
}

Status AppendClientResponseHead(const ResponseHead& head, const ClientResponseOptions& options,
                                std::string* out) {
  const bool http10_client = options.client_version == HttpVersion::kHttp10;
  if (http10_client && head.status_code < 200) {
    return FailedPrecondition("1xx response for an HTTP/1.0 client");
  }
  if (http10_client && head.framing.kind == BodyKind::kChunked) {
    return FailedPrecondition("chunked response for an HTTP/1.0 client");
  }
  out->reserve(out->size() + head.head_bytes + 64 + options.request_id.size());
  out->append("HTTP/1.1 ", 9);
  AppendStatusCode(out, head.status_code);
  out->push_back(' ');
  out->append(head.reason);
  out->append("\r\n", 2);

  const bool switching = head.status_code == 101;
  bool request_id_seen = false;
  for (const HeaderField& h : head.headers) {
    switch (Classify(h.name)) {
      case FieldRole::kHopByHop:
        continue;
      case FieldRole::kUpgrade:
        if (!switching) continue;
        break;
      case FieldRole::kRequestId:
        request_id_seen = true;
        break;
      default:
        break;
    }
    if (head.connection_names_fields && NamedByConnection(head.headers, h.name)) continue;
    AppendField(out, h.name, h.value);
  }

  if (head.framing.kind == BodyKind::kChunked) out->append("Transfer-Encoding: chunked\r\n");
  if (switching) {
    out->append("Connection: upgrade\r\n");
  } else if (!head.interim) {
    const bool keep = options.keep_alive && head.framing.kind != BodyKind::kUntilClose;
    if (!keep) {
      out->append("Connection: close\r\n");
    } else if (http10_client) {
      out->append("Connection: keep-alive\r\n");
    }
  }
  if (!request_id_seen && !options.request_id.empty()) {
    AppendField(out, "X-Request-Id", options.request_id);
  }
  out->append("\r\n", 2);
  return Status::Ok();
}

}  // namespace grid::router::http
