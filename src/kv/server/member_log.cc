#include "kv/server/member_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "transport/cluster_info.h"

#include "kv/replication/durable_log.h"
#include "kv/server/bootstrap_check.h"
#include "kv/server/members.h"

namespace grid::kv {
namespace {

Status WriteBootstrap(wal::Wal* wal, const InitialCluster& cluster, uint64_t base_index,
                      wal::ReplayResult* out) {
  std::vector<uint64_t> ids;
  std::vector<std::string> contexts;
  for (const InitialMember& m : cluster.members) {
    ids.push_back(m.id);
    contexts.push_back(BootstrapAddRequest(m));
  }
  GRID_ASSIGN_OR_RETURN(wal::ReplayResult boot,
                        replication::BootstrapLog(wal, base_index, ids, contexts));
  boot.metadata = out->metadata;
  *out = std::move(boot);
  return Status::Ok();
}

// A member added with MemberAdd learns its id (derived with the time of the add) and the
// cluster id from a running member, as etcd does.
Status JoinExisting(const ServerConfig& config, const std::string& auto_tls_dir,
                    InitialCluster* cluster, std::vector<kvpb::MemberRecord>* known) {
  std::vector<std::string> others;
  for (const InitialMember& m : cluster->members) {
    if (m.id == cluster->self_id) continue;
    others.insert(others.end(), m.peer_urls.begin(), m.peer_urls.end());
  }
  if (others.empty()) {
    return InvalidArgument(
        "--initial-cluster-state=existing needs the running members in --initial-cluster");
  }
  GRID_ASSIGN_OR_RETURN(transport::ClusterInfo info,
                        transport::FetchClusterInfo(others, PeerTlsOptions(config, auto_tls_dir),
                                                    std::chrono::seconds(5)));
  if (info.members.size() > MemberTable::kMaxMembers) {
    return FailedPrecondition(fmt::format(
        "cluster {:x} lists {} members, more than the {} a member table holds", info.cluster_id,
        info.members.size(), MemberTable::kMaxMembers));
  }
  std::vector<std::string> mine = config.initial_advertise_peer_urls;
  std::sort(mine.begin(), mine.end());
  for (const transport::ClusterMemberInfo& m : info.members) {
    kvpb::MemberRecord record;
    record.set_id(m.id);
    record.set_name(m.name);
    record.set_is_learner(m.is_learner);
    for (const auto& u : m.peer_urls) record.add_peer_urls(u);
    known->push_back(std::move(record));
  }
  for (const transport::ClusterMemberInfo& m : info.members) {
    std::vector<std::string> urls = m.peer_urls;
    std::sort(urls.begin(), urls.end());
    if (urls == mine) {
      cluster->self_id = m.id;
      cluster->cluster_id = info.cluster_id;
      spdlog::info("joining cluster {:x} as member {:x}", info.cluster_id, m.id);
      return Status::Ok();
    }
  }
  return FailedPrecondition(fmt::format(
      "--initial-cluster-state=existing: no member of cluster {:x} has peer URLs {} (add this "
      "member with MemberAdd first)",
      info.cluster_id, fmt::join(mine, ",")));
}

}  // namespace

transport::TlsOptions PeerTlsOptions(const ServerConfig& config, const std::string& auto_tls_dir) {
  transport::TlsOptions tls;
  tls.cert_file = config.peer_cert_file;
  tls.key_file = config.peer_key_file;
  tls.trusted_ca_file = config.peer_trusted_ca_file;
  tls.client_cert_auth = config.peer_client_cert_auth;
  tls.auto_tls = config.peer_auto_tls;
  tls.auto_tls_dir = auto_tls_dir;
  return tls;
}

std::string BootstrapAddRequest(const InitialMember& m) {
  kvpb::InternalRequest request;
  kvpb::MemberChange* change = request.mutable_member_change();
  change->set_kind(kvpb::MemberChange::ADD);
  kvpb::MemberRecord* record = change->mutable_member();
  record->set_id(m.id);
  // The name is published by the member itself once it starts (etcd lists members that never
  // started with an empty name).
  for (const auto& u : m.peer_urls) record->add_peer_urls(u);
  return request.SerializeAsString();
}

Result<MemberLog> OpenMemberLog(const ServerConfig& config, const std::string& wal_dir,
                                bool backend_exists) {
  wal::Options options;
  options.dir = wal_dir;
  MemberLog out;
  GRID_ASSIGN_OR_RETURN(bool exists, wal::Wal::Exists(options));
  if (exists) {
    GRID_ASSIGN_OR_RETURN(out.wal, wal::Wal::Open(options, &out.replay));
    if (out.replay.torn_bytes_dropped > 0) {
      spdlog::warn("wal: dropped a torn tail of {} bytes (a write the crash interrupted; it "
                   "was never acknowledged)",
                   out.replay.torn_bytes_dropped);
    }
    return out;
  }
  if (backend_exists) {
    return FailedPrecondition("data dir has a backend but no write-ahead log: refusing to start");
  }
  GRID_ASSIGN_OR_RETURN(InitialCluster cluster, ParseInitialCluster(config));
  const std::string auto_tls_dir =
      (std::filesystem::path(wal_dir).parent_path() / "fixtures" / "peer").string();
  if (config.initial_cluster_state == "existing") {
    GRID_RETURN_IF_ERROR(JoinExisting(config, auto_tls_dir, &cluster, &out.joined_members));
  } else {
    GRID_RETURN_IF_ERROR(RefuseIfAlreadyBootstrapped(
        config, cluster, PeerTlsOptions(config, auto_tls_dir), kBootstrapCheckTimeout));
  }
  out.created = true;
  out.replay.metadata.member_id = cluster.self_id;
  out.replay.metadata.cluster_id = cluster.cluster_id;
  GRID_ASSIGN_OR_RETURN(out.wal, wal::Wal::Create(options, out.replay.metadata));
  if (config.initial_cluster_state != "existing") {
    GRID_RETURN_IF_ERROR(WriteBootstrap(out.wal.get(), cluster, 0, &out.replay));
  }
  return out;
}

Result<uint64_t> CreateRestoredLog(const ServerConfig& config, const std::string& wal_dir,
                                   uint64_t applied_index) {
  GRID_ASSIGN_OR_RETURN(InitialCluster cluster, ParseInitialCluster(config));
  wal::Options options;
  options.dir = wal_dir;
  wal::ReplayResult replay;
  replay.metadata.member_id = cluster.self_id;
  replay.metadata.cluster_id = cluster.cluster_id;
  GRID_ASSIGN_OR_RETURN(auto wal, wal::Wal::Create(options, replay.metadata));
  if (applied_index > 0) {
    GRID_RETURN_IF_ERROR(wal->SaveSnapshotMarker(wal::SnapshotMarker{applied_index, 1}));
  }
  GRID_RETURN_IF_ERROR(WriteBootstrap(wal.get(), cluster, applied_index, &replay));
  return cluster.self_id;
}

raft::ConfState ConfStateOf(const std::vector<kvpb::MemberRecord>& members) {
  raft::ConfState cs;
  for (const auto& m : members) {
    (m.is_learner() ? cs.learners : cs.voters).push_back(raft::MemberId(m.id()));
  }
  std::sort(cs.voters.begin(), cs.voters.end());
  std::sort(cs.learners.begin(), cs.learners.end());
  return cs;
}

std::vector<wal::Entry> CommittedTail(const wal::ReplayResult& replay, uint64_t consistent_index) {
  std::vector<wal::Entry> tail;
  for (const wal::Entry& e : replay.entries) {
    if (e.index <= consistent_index || e.index > replay.hard_state.commit) continue;
    tail.push_back(e);
    if (e.type == wal::kEntryConfChange) {
      // The apply side sees a conf change as the InternalRequest that proposed it.
      raft::ConfChange cc;
      GRID_CHECK(raft::DecodeConfChange(e.data, &cc))
          << "log entry " << e.index << " is a conf change that does not decode";
      tail.back().data = std::move(cc.context);
    }
  }
  return tail;
}

}  // namespace grid::kv
