// Refusing to bootstrap a member twice. A start with --initial-cluster-state=new and no log
// would make a fresh member with the id the flags derive; if the cluster already runs with
// that member, the member may have acknowledged entries (votes, appends) it no longer holds,
// and a quorum counted with it could lose acknowledged writes. So, as etcd does, the member
// first asks the other initial members for their member table and refuses to start when one
// lists it as started (it published its name). No answer means a real first bootstrap.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"
#include "kv/server/config.h"
#include "kv/server/initial_cluster.h"
#include "transport/options.h"

namespace grid::kv {

// How long the whole check may take: every peer is asked at once, each within this deadline.
// A peer that is not up fails at once (connection refused), so a first bootstrap of all
// members together is delayed by at most this much.
inline constexpr std::chrono::milliseconds kBootstrapCheckTimeout{1000};

// FailedPrecondition naming the member and the recovery when `answer` (the member table the
// peer at `peer_url` serves) lists `cluster.self_id` as started; Ok otherwise.
[[nodiscard]] Status CheckNotBootstrapped(const ServerConfig& config, const InitialCluster& cluster,
                                          const transport::ClusterInfo& answer,
                                          const std::string& peer_url);

// Asks the members of `cluster` other than this one (their peer URLs, at once, each within
// `timeout`) and applies CheckNotBootstrapped to every answer. Ok when no peer answers.
// InvalidArgument for a peer URL or TLS configuration that cannot be used.
[[nodiscard]] Status RefuseIfAlreadyBootstrapped(const ServerConfig& config,
                                                 const InitialCluster& cluster,
                                                 const transport::TlsOptions& tls,
                                                 std::chrono::milliseconds timeout);

}  // namespace grid::kv
