// Asking a running member which cluster it belongs to (Peer.ClusterInfo).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"
#include "transport/options.h"

namespace grid::transport {

// Asks the members at `peer_urls` in turn; returns the first answer. Unavailable naming every
// URL's error when none answers within `timeout_per_url`.
Result<ClusterInfo> FetchClusterInfo(const std::vector<std::string>& peer_urls,
                                     const TlsOptions& tls,
                                     std::chrono::milliseconds timeout_per_url);

}  // namespace grid::transport
