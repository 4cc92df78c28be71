// Syntax of the names the table holds: cell, tenant and group names, hosts, backend
// addresses, header and cookie names; and the request-side host normalisation.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace grid::router::table {

// A cell, tenant or group name: a lowercase DNS label, [a-z0-9] or '-' inside, 1..63 bytes.
// Tenants are named like DNS labels so that a host label can be a tenant key.
bool IsName(std::string_view name);

// A DNS host name (lowercase labels joined by dots, at most kMaxHostBytes), no port, no dot at
// the end.
bool IsHostName(std::string_view host);

// An HTTP header name (RFC 9110 token).
bool IsHeaderName(std::string_view name);

// Lowercases ASCII letters.
std::string ToLower(std::string_view s);

// Checks "host:port" (host: IPv4 literal, [IPv6] literal or DNS name; port 1..65535) and
// returns its canonical form (DNS name lowercased, IPv6 as given inside brackets, lowercased).
Result<std::string> CanonicalAddress(std::string_view address);

// The request's Host (or :authority) reduced to what host rules match: port removed, one
// trailing dot removed, lowercased into `buffer`. Returns nullopt when nothing usable is left
// or it is longer than the buffer (no rule could match it then).
// REQUIRES: buffer_bytes >= 1.
std::optional<std::string_view> NormalizeRequestHost(std::string_view host, char* buffer,
                                                     size_t buffer_bytes);

}  // namespace grid::router::table
