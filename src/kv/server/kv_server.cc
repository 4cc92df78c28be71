#include "kv/server/kv_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/server_posix.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>
#include <mutex>

#include "common/lock_order_checks.h"
#include "h2/unary_server.h"
#include "kv/api/cluster_service.h"
#include "kv/api/kv_front.h"
#include "kv/api/kv_service.h"
#include "kv/api/leader_forwarding_leases.h"
#include "kv/api/lease_service.h"
#include "kv/api/maintenance_service.h"
#include "kv/api/watch_service.h"
#include "kv/http/client_listener.h"
#include "kv/http/member_status.h"
#include "kv/lease/keeper.h"
#include "kv/lease/lease_apply.h"
#include "kv/lease/lessor.h"
#include "kv/server/applier.h"
#include "kv/server/auto_compactor.h"
#include "kv/server/backend_state.h"
#include "kv/server/member_snapshots.h"
#include "kv/server/reconfig_check.h"
#include "kv/server/store_dir.h"
#include "kv/server/members.h"
#include "kv/server/self_client_services.h"
#include "kv/server/learner_guard.h"
#include "kv/server/member_log.h"
#include "kv/server/peer_link.h"
#include "kv/replication/raft_host.h"
#include "kv/snapshot/etcd_backend.h"
#include "kv/watch/store_event_source.h"
#include "kv/watch/watch_hub.h"
#include "storage/mvcc/store.h"
#include "storage/wal/wal.h"

#ifndef GPR_SUPPORT_CHANNELS_FROM_FD
#error "gRPC without channels from file descriptors: relayed calls cannot reach the gRPC server"
#endif

namespace grid::kv {
namespace fs = std::filesystem;
namespace {

// gRPC framing allowance on top of --max-request-bytes (etcd's grpcOverheadBytes).
constexpr int kGrpcOverheadBytes = 512 * 1024;
// Event loops of the client port's HTTP/2 server: one per two cores (at least one, at most
// this many), as the write path keeps two more threads busy (Raft and apply). On two cores,
// one loop instead of two: put +8% req/s and 21-23 instead of 24-26 us of member CPU per put
// (one member, three alternated runs of etcd's benchmark, 100 clients), 3-member put +6%,
// range at the same req/s for 5 instead of 6 us per read. Other core counts are not measured.
constexpr unsigned kMaxFrontLoops = 4;
// Reads that waited on a barrier: threads and queue bound.
constexpr size_t kReadPoolThreads = 2;
constexpr size_t kMaxQueuedReads = 100000;
// Threads answering applied proposals, and groups of answers queued for them at most (beyond
// it the apply thread answers itself).
constexpr size_t kResponderThreads = 1;
constexpr size_t kMaxQueuedResponseGroups = 1024;
// A leader answering a lease call waits at most this long for its apply to reach its commit
// index (etcd waits the same way before LeaseRenew / LeaseTimeToLive).
constexpr int64_t kLeaseApplyWaitMs = 1000;

std::string DataDirOf(const ServerConfig& c) {
  return c.data_dir.empty() ? c.name + ".etcd" : c.data_dir;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status MakeDirs(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return IOError("create " + p.string() + ": " + ec.message());
  fs::permissions(p, fs::perms::owner_all, ec);
  return Status::Ok();
}

// etcd's publish: this member's name and client URLs (which may change between starts) go
// through the log into every member's table. Retries until it succeeds or the member stops;
// runs `on_published` once it has.
void PublishLoop(KvServer::Parts* p, const ServerConfig& config,
                 std::function<void()> on_published);

}  // namespace

struct KvServer::Parts {
  ServerConfig config;
  // The client port's HTTP/2 server: KV calls itself, the rest relayed to grpc_server.
  // First, so destroyed last: responders that outlive a call (in the log, the read pool)
  // point at its loops.
  std::unique_ptr<h2::UnaryServer> front;
  MemberIdentity member;
  std::unique_ptr<mvcc::StoreHandle> store;  // replaced whole by a snapshot from the leader
  std::unique_ptr<MemberSnapshots> snapshots;
  lease::SteadyClock clock;
  std::unique_ptr<lease::Lessor> lessor;
  AlarmTable alarms;
  MemberTable members;
  WaitRegistry waits;
  std::unique_ptr<watch::StoreEventSource> event_source;
  std::unique_ptr<watch::WatchHub> hub;
  std::unique_ptr<Applier> applier;
  std::unique_ptr<PeerLink> peers;
  std::unique_ptr<replication::RaftHost> log;
  std::unique_ptr<LearnerGuard> api_proposer;  // what the client API proposes through
  std::unique_ptr<lease::LeaseKeeper> keeper;
  std::unique_ptr<AutoCompactor> compactor;
  std::unique_ptr<WorkerPool> read_pool;
  std::unique_ptr<WorkerPool> responders;
  ServerContext ctx;

  std::unique_ptr<KvService> kv_service;
  std::unique_ptr<MaintenanceService> maintenance_service;
  std::unique_ptr<ClusterService> cluster_service;
  std::unique_ptr<api::WatchService> watch_service;
  std::unique_ptr<api::LeaderForwardingLeases> lease_forwarding;
  std::unique_ptr<api::LeaseService> lease_service;
  std::shared_ptr<grpc::Channel> self_channel;
  SelfLockService lock_service;
  SelfElectionService election_service;
  std::unique_ptr<grpc::Server> grpc_server;
  // Owns the client ports: hands HTTP/2 connections to `front`, answers plain HTTP.
  std::unique_ptr<http::ClientListener> client_listener;
  std::vector<std::string> client_urls;

  std::thread publisher;
  bool published = false;  // GUARDED_BY(mu)
  bool removed = false;    // GUARDED_BY(mu): this member was removed from the cluster
  std::atomic<bool> leading{false};  // raft thread: this member leads (for lease promotion)

  // As etcd: a member removed from the cluster (it applied its removal, or a peer refused it as
  // removed) stops: Wait() returns and the process exits 0.
  void OnRemoved() {
    std::lock_guard lock(mu);
    if (removed) return;
    spdlog::warn("this member ({:x}) has been permanently removed from the cluster; stopping",
                 member.member_id);
    removed = true;
    cv.notify_all();
  }

  // The leader's answers to lease calls (its own, and its peers' forwarded ones). As etcd, the
  // leader first lets its apply catch up with its commit (a lease granted through another
  // member is then known), for at most kLeaseApplyWaitMs.
  Result<int64_t> LeaderRenew(int64_t id) {
    if (!leading.load()) return transport::NotLeaderError();
    WaitAppliedCaughtUp();
    return lessor->Renew(id);
  }
  Result<lease::TimeToLiveResult> LeaderTimeToLive(int64_t id, bool keys) {
    if (!leading.load()) return transport::NotLeaderError();
    WaitAppliedCaughtUp();
    return lessor->TimeToLive(id, keys);
  }
  // The leader's MemberPromote check: `learner` exists, is a learner, and its match index is
  // at least 90% of the leader's (etcd's readiness rule).
  Status LeaderPromoteCheck(uint64_t learner) {
    auto m = members.Get(learner);
    if (!m) return ErrMemberNotFound2();
    if (!m->is_learner()) return ErrMemberNotLearner();
    if (log == nullptr) return transport::NotLeaderError();
    const raft::NodeStatus st = log->status();
    if (st.soft_state.role != raft::Role::kLeader) return transport::NotLeaderError();
    auto self = st.progress.find(raft::MemberId(member.member_id));
    auto it = st.progress.find(raft::MemberId(learner));
    if (self == st.progress.end() || it == st.progress.end()) return ErrLearnerNotReady();
    const double leader_match = static_cast<double>(self->second.match.value());
    if (static_cast<double>(it->second.match.value()) < leader_match * 0.9) {
      return ErrLearnerNotReady();
    }
    return Status::Ok();
  }

  void WaitAppliedCaughtUp() {
    if (log == nullptr) return;
    const uint64_t committed = log->committed_index();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLeaseApplyWaitMs);
    while (log->applied_index() < committed && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  // Apply thread: switches to the store received for Raft index `index` and rebuilds what is
  // kept beside it. Returns the new store's consistent index.
  Result<uint64_t> InstallSnapshot(uint64_t index) {
    GRID_ASSIGN_OR_RETURN(uint64_t consistent_index, snapshots->Install(index));
    GRID_RETURN_IF_ERROR(LoadBackendState(*store, *lessor, alarms, members));
    hub->OnRestore(store->CurrentRevision());
    peers->SyncPeers(members.List());
    if (!members.Get(member.member_id).has_value()) OnRemoved();
    return consistent_index;
  }

  std::mutex mu;
  std::condition_variable cv;
  bool shut_down = false;  // GUARDED_BY(mu)
  bool stopped = false;    // GUARDED_BY(mu): Shutdown() has finished
  Status fatal;            // GUARDED_BY(mu)
};

KvServer::KvServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

KvServer::~KvServer() { Shutdown(); }

const std::vector<std::string>& KvServer::client_urls() const { return parts_->client_urls; }

void KvServer::Wait() {
  std::unique_lock lock(parts_->mu);
  parts_->cv.wait(lock, [this] {
    return parts_->shut_down || parts_->removed || !parts_->fatal.ok();
  });
}

void KvServer::Shutdown() {
  Parts& p = *parts_;
  {
    std::unique_lock lock(p.mu);
    if (p.shut_down) {
      // Another thread is stopping the member: return once it is done (the caller may be
      // about to destroy the server).
      p.cv.wait(lock, [&p] { return p.stopped; });
      return;
    }
    p.shut_down = true;
  }
  p.cv.notify_all();
  spdlog::info("stopping member {:x}", p.member.member_id);
  if (p.client_listener) p.client_listener->Stop();  // no new connections, HTTP answered
  if (p.compactor) p.compactor->Stop();
  if (p.keeper) p.keeper->Stop();
  if (p.watch_service) p.watch_service->Stop();
  // Refuse new proposals and fail queued ones; apply what is committed; fail the rest, so
  // that every unary call is finished before the gRPC server drains.
  if (p.log) p.log->Stop();
  if (p.publisher.joinable()) p.publisher.join();
  if (p.peers) p.peers->Stop();
  if (p.lease_forwarding) p.lease_forwarding->Stop();  // forwarded lease calls fail now
  if (p.applier) p.applier->Stop();
  p.responders.reset();  // runs the answers still queued
  std::vector<ApplyCallback> proposals;
  std::vector<ReadyCallback> reads;
  p.waits.TakeAll(&proposals, &reads);
  for (auto& done : proposals) done(ErrStopped(), {});
  for (auto& ready : reads) ready(ErrStopped());
  // Its connections close (the relayed calls' connections to grpc_server with them).
  if (p.front) p.front->Stop();
  if (p.grpc_server) {
    p.grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    p.grpc_server->Wait();
  }
  if (p.hub) p.hub->Stop();
  p.read_pool.reset();
  spdlog::info("stopped member {:x}", p.member.member_id);
  {
    std::lock_guard lock(p.mu);
    p.stopped = true;
  }
  p.cv.notify_all();
}

Result<std::unique_ptr<KvServer>> KvServer::Start(const ServerConfig& config) {
  // Refuse bad flags before touching the data dir.
  GRID_RETURN_IF_ERROR(
      ParseRetention(config.auto_compaction_mode, config.auto_compaction_retention).status());
  // Before the first gRPC object: also for members started in-process (tests).
  DisableLockOrderChecks();
  auto parts = std::make_unique<Parts>();
  Parts& p = *parts;
  p.config = config;
  const fs::path data_dir = DataDirOf(config);
  const fs::path member_dir = data_dir / "member";
  GRID_RETURN_IF_ERROR(MakeDirs(member_dir));

  // Identity, then the log.
  GRID_ASSIGN_OR_RETURN(const std::string store_dir_name, ActiveStoreDirName(member_dir.string()));
  RemoveInactiveStoreDirs(member_dir.string(), store_dir_name);
  GRID_ASSIGN_OR_RETURN(MemberLog member_log,
                        OpenMemberLog(config, (member_dir / "wal").string(),
                                      fs::exists(member_dir / store_dir_name)));
  wal::ReplayResult& replay = member_log.replay;
  p.member.member_id = replay.metadata.member_id;
  p.member.cluster_id = replay.metadata.cluster_id;
  p.member.name = config.name;
  p.member.raft_term = replay.hard_state.term;

  // The store, and the state kept beside it.
  mvcc::Options store_options;
  store_options.dir = (member_dir / store_dir_name).string();
  GRID_ASSIGN_OR_RETURN(std::unique_ptr<mvcc::Store> opened, mvcc::Store::Open(store_options));
  p.store = std::make_unique<mvcc::StoreHandle>(std::move(opened));
  lease::LessorOptions lessor_options;
  lessor_options.min_ttl_seconds =
      lease::MinLeaseTtlSeconds(config.heartbeat_interval_ms, config.election_timeout_ms);
  p.lessor = std::make_unique<lease::Lessor>(p.clock, lessor_options);
  GRID_RETURN_IF_ERROR(LoadBackendState(*p.store, *p.lessor, p.alarms, p.members));
  if (!member_log.joined_members.empty()) {
    // Joined just now: clients and peers see the running members' membership at once.
    p.members.ShowJoinedUntilSelfApplied(p.member.member_id, member_log.joined_members);
  }
  p.snapshots = std::make_unique<MemberSnapshots>(member_dir.string(),
                                                  (member_dir / "snap").string(), store_dir_name,
                                                  store_options, p.store.get());

  // Replay what the log holds beyond the store, before serving anything.
  ApplierDeps deps;
  deps.store = p.store.get();
  deps.lessor = p.lessor.get();
  deps.alarms = &p.alarms;
  deps.members = &p.members;
  deps.member = &p.member;
  deps.waits = &p.waits;
  p.responders = std::make_unique<WorkerPool>(kResponderThreads, kMaxQueuedResponseGroups);
  deps.responders = p.responders.get();
  Parts* raw = &p;
  deps.on_events = [raw](std::vector<mvccpb::Event>&& events, int64_t revision) {
    if (raw->hub) raw->hub->OnCommit(std::move(events), revision);
  };
  deps.on_applied = [raw](uint64_t index) {
    if (raw->log) raw->log->OnApplied(index);
  };
  deps.on_member_change = [raw](const kvpb::MemberChange& change, bool accepted) {
    if (accepted && raw->peers) raw->peers->OnMemberChange(change);
    if (raw->log) raw->log->OnMemberChangeApplied(change, accepted);
    if (accepted && change.kind() == kvpb::MemberChange::REMOVE &&
        change.member().id() == raw->member.member_id) {
      raw->OnRemoved();
    }
  };
  deps.snapshot_count = config.snapshot_count;
  deps.on_durable = [raw](uint64_t index) {
    if (raw->log) raw->log->ReleaseUpTo(index);
  };
  deps.on_fatal = [raw](const Status& s) {
    std::lock_guard lock(raw->mu);
    raw->fatal = s;
    raw->cv.notify_all();
  };
  p.applier = std::make_unique<Applier>(deps);
  // Committed entries the backend does not hold yet (a crash came before its flush).
  std::vector<wal::Entry> tail = CommittedTail(replay, p.store->ConsistentIndex());
  if (!tail.empty()) {
    spdlog::info("replaying {} log entries ({}..{}) into the store", tail.size(),
                 tail.front().index, tail.back().index);
    p.applier->ApplyNow(std::move(tail));
  }
  // The Raft configuration is the member table's, as of the commit index just applied.
  const raft::ConfState conf_state = ConfStateOf(p.members.Applied());

  // Watchers, the apply thread and the log thread.
  mvcc::Options defaults;
  p.event_source = std::make_unique<watch::StoreEventSource>(p.store.get(),
                                                             defaults.max_events_per_read);
  p.hub = std::make_unique<watch::WatchHub>(p.event_source.get(), watch::HubOptions{});
  p.applier->Start();
  // Entries the backend holds are not applied again; entries after the log's commit index
  // are the node's to commit (or to replace).
  const uint64_t raft_applied =
      std::max(replay.snapshot.index,
               std::min(p.store->ConsistentIndex(), replay.hard_state.commit));
  replication::RaftHostOptions raft_options;
  raft_options.member_id = p.member.member_id;
  raft_options.tick_ms = static_cast<uint64_t>(std::max<int64_t>(1, config.heartbeat_interval_ms));
  raft_options.election_ticks = static_cast<int>(
      std::max<int64_t>(2, config.election_timeout_ms / std::max<int64_t>(1, config.heartbeat_interval_ms)));
  raft_options.start_time_ms = static_cast<uint64_t>(NowMs());
  raft_options.fresh_cluster = member_log.created;
  raft_options.catch_up_entries = config.snapshot_catchup_entries;
  replication::RaftHostDeps raft_deps;
  raft_deps.waits = &p.waits;
  raft_deps.sink = [raw](std::vector<wal::Entry> entries) {
    raw->applier->Enqueue(std::move(entries));
  };
  raft_deps.on_leader_change = [raw, extend_ms = config.election_timeout_ms](uint64_t leader,
                                                                           uint64_t term) {
    raw->member.raft_term.store(term, std::memory_order_relaxed);
    // Becoming leader: keepalives went to the old leader, so every lease gets its remaining TTL
    // again from now (etcd's lessor Promote), before this leader can expire any.
    const bool leads = leader == raw->member.member_id;
    if (leads && !raw->leading.exchange(true)) raw->lessor->Promote(extend_ms);
    if (!leads) raw->leading.store(false);
  };
  raft_deps.install_snapshot = [raw](const raft::Snapshot& snap) {
    // In log order on the apply thread: after every entry before the snapshot, before any
    // after it. The raft thread waits, so the snapshot's marker reaches the log only once the
    // store it stands for is in use.
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> installed = done->get_future();
    raw->applier->RunInOrder([raw, done, index = snap.meta.index.value()]() -> uint64_t {
      Result<uint64_t> ci = raw->InstallSnapshot(index);
      done->set_value(ci.status());
      return ci.ok() ? *ci : 0;
    });
    return installed.get();
  };
  raft_deps.on_fatal = deps.on_fatal;
  GRID_ASSIGN_OR_RETURN(
      p.peers, PeerLink::Start(config, p.member.cluster_id, p.member.member_id,
                               (member_dir / "snap").string(), p.snapshots.get(),
                               PeerCallHandlers{
                                   [raw](int64_t id) { return raw->LeaderRenew(id); },
                                   [raw](int64_t id, bool keys) -> Result<transport::LeaseTtl> {
                                     GRID_ASSIGN_OR_RETURN(lease::TimeToLiveResult r,
                                                           raw->LeaderTimeToLive(id, keys));
                                     return transport::LeaseTtl{r.remaining_ttl_seconds,
                                                                r.granted_ttl_seconds,
                                                                std::move(r.keys)};
                                   },
                                   [raw](uint64_t learner) {
                                     return raw->LeaderPromoteCheck(learner);
                                   }},
                               [raw] {
                                 transport::ClusterInfo info;
                                 info.cluster_id = raw->member.cluster_id;
                                 for (const auto& m : raw->members.List()) {
                                   info.members.push_back(transport::ClusterMemberInfo{
                                       m.id(),
                                       {m.peer_urls().begin(), m.peer_urls().end()},
                                       m.is_learner(),
                                       m.name()});
                                 }
                                 return info;
                               },
                               [raw] { raw->OnRemoved(); }));
  p.peers->SyncPeers(p.members.List());  // a member that joined: the running members
  raft_deps.peers = p.peers.get();
  auto durable_log = std::make_unique<replication::DurableLog>(std::move(member_log.wal),
                                                               std::move(replay), conf_state);
  GRID_ASSIGN_OR_RETURN(p.log, replication::RaftHost::Create(raft_options, std::move(durable_log),
                                                            raft_applied, std::move(raft_deps)));
  p.peers->Bind(p.log.get());
  p.log->Start();
  lease::KeeperOptions keeper_options;
  keeper_options.is_leader = [raw] { return raw->log->leader_id() == raw->member.member_id; };
  p.keeper = std::make_unique<lease::LeaseKeeper>(*p.lessor, *p.log, p.clock, keeper_options);
  p.keeper->Start();

  // The API.
  p.read_pool = std::make_unique<WorkerPool>(kReadPoolThreads, kMaxQueuedReads);
  p.ctx.store = p.store.get();
  auto self_is_learner = [raw] {
    auto self = raw->members.Get(raw->member.member_id);
    return self.has_value() && self->is_learner();
  };
  p.api_proposer = std::make_unique<LearnerGuard>(p.log.get(), self_is_learner);
  p.ctx.proposer = p.api_proposer.get();
  p.ctx.self_is_learner = self_is_learner;
  p.ctx.member = &p.member;
  p.ctx.alarms = &p.alarms;
  p.ctx.read_pool = p.read_pool.get();
  p.ctx.limits.max_request_bytes = config.max_request_bytes;
  p.ctx.limits.max_txn_ops = config.max_txn_ops;
  if (config.quota_backend_bytes != 0) {
    p.ctx.limits.quota_backend_bytes = config.quota_backend_bytes;
  }
  p.ctx.data_dir = data_dir.string();
  if (!config.initial_advertise_peer_urls.empty()) {
    p.ctx.peer_url = config.initial_advertise_peer_urls.front();
  }
  if (!config.advertise_client_urls.empty()) {
    p.ctx.client_url = config.advertise_client_urls.front();
  }
  p.ctx.committed_index = [raw] { return raw->log->committed_index(); };
  p.ctx.applied_index = [raw] { return raw->log->applied_index(); };
  p.ctx.leader_id = [raw] { return raw->log->leader_id(); };
  p.ctx.is_voter = [raw](uint64_t id) {
    auto m = raw->members.Get(id);
    return m.has_value() && !m->is_learner();
  };
  p.ctx.transfer_leadership = [raw](uint64_t target, std::function<void(const Status&)> done) {
    if (target == raw->member.member_id) {  // already the leader: nothing to move
      done(Status::Ok());
      return;
    }
    raw->log->TransferLeadership(target, std::move(done));
  };
  const auto promote_check_timeout =
      std::chrono::milliseconds(5000 + 2 * std::max<int64_t>(0, config.election_timeout_ms));
  p.ctx.check_promote = [raw, timeout = promote_check_timeout](
                            uint64_t learner, std::function<void(Status)> done) {
    auto m = raw->members.Get(learner);
    if (!m) return done(ErrMemberNotFound2());
    if (!m->is_learner()) return done(ErrMemberNotLearner());
    if (raw->log->status().soft_state.role == raft::Role::kLeader) {
      return done(raw->LeaderPromoteCheck(learner));
    }
    const uint64_t leader = raw->log->leader_id();
    if (leader == 0) return done(api::ErrNoLeader());
    raw->peers->PromoteCheck(leader, learner, timeout, [done = std::move(done)](Status s) {
      // The leader moved between the two calls: the client retries, as with etcd.
      done(transport::IsNotLeader(s) ? ErrLeaderChanged() : std::move(s));
    });
  };
  if (config.strict_reconfig_check) {
    p.ctx.check_reconfig = [raw](const kvpb::MemberChange& change) {
      ReconfigView view;
      view.members = raw->members.List();
      view.self = raw->member.member_id;
      view.active_since = [raw](uint64_t id) { return raw->peers->ActiveSince(id); };
      view.now = std::chrono::steady_clock::now();
      return CheckReconfig(view, change);
    };
  }

  p.kv_service = std::make_unique<KvService>(&p.ctx);
  p.maintenance_service = std::make_unique<MaintenanceService>(&p.ctx);
  p.cluster_service =
      std::make_unique<ClusterService>(&p.ctx, &p.members, config.initial_cluster_token);
  api::WatchServiceOptions watch_options;
  watch_options.is_learner = self_is_learner;
  p.watch_service = std::make_unique<api::WatchService>(p.hub.get(), &p.member, watch_options);
  api::LeaderForwardingOptions forwarding;
  forwarding.self_id = p.member.member_id;
  forwarding.request_timeout =
      std::chrono::milliseconds(5000 + 2 * std::max<int64_t>(0, config.election_timeout_ms));
  api::LeaderForwardingCalls calls;
  calls.leader_id = [raw] { return raw->log->leader_id(); };
  calls.remote_renew = [raw](uint64_t leader, int64_t id, std::chrono::milliseconds timeout,
                             std::function<void(Result<int64_t>)> done) {
    raw->peers->RenewLease(leader, id, timeout, std::move(done));
  };
  calls.remote_time_to_live = [raw](uint64_t leader, int64_t id, bool keys,
                                    std::chrono::milliseconds timeout,
                                    std::function<void(Result<lease::TimeToLiveResult>)> done) {
    raw->peers->LeaseTimeToLive(
        leader, id, keys, timeout,
        [done = std::move(done)](Result<transport::LeaseTtl> r) {
          if (!r.ok()) {
            done(r.status());
            return;
          }
          done(lease::TimeToLiveResult{r->granted_ttl_seconds, r->remaining_ttl_seconds,
                                       std::move(r->keys)});
        });
  };
  calls.local_renew = [raw](int64_t id) { return raw->LeaderRenew(id); };
  calls.local_time_to_live = [raw](int64_t id, bool keys) {
    return raw->LeaderTimeToLive(id, keys);
  };
  p.lease_forwarding =
      std::make_unique<api::LeaderForwardingLeases>(forwarding, std::move(calls));
  p.lease_service = std::make_unique<api::LeaseService>(
      *p.lessor, *p.api_proposer, p.member, [raw] { return raw->store->CurrentRevision(); },
      api::LeaseServiceOptions{.is_learner = self_is_learner}, p.lease_forwarding.get());

  // The client ports are bound here, not by gRPC: they also serve plain HTTP.
  std::vector<std::string> listen_addresses;
  for (const std::string& url : config.listen_client_urls) {
    GRID_ASSIGN_OR_RETURN(std::string address, ListenAddressOf(url));
    listen_addresses.push_back(std::move(address));
  }
  GRID_ASSIGN_OR_RETURN(p.client_listener, http::ClientListener::Bind(listen_addresses));
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<int64_t>(config.max_request_bytes + kGrpcOverheadBytes, INT32_MAX)));
  builder.SetMaxSendMessageSize(INT32_MAX);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.RegisterService(p.kv_service.get());
  builder.RegisterService(p.maintenance_service.get());
  builder.RegisterService(p.cluster_service.get());
  builder.RegisterService(p.watch_service.get());
  builder.RegisterService(p.lease_service.get());
  // Lock and Election run on a client of this member, as etcd's do.
  builder.RegisterService(&p.lock_service);
  builder.RegisterService(&p.election_service);
  p.grpc_server = builder.BuildAndStart();
  if (!p.grpc_server) return Unavailable("cannot start the gRPC server");
  http::MemberStatusDeps status;
  status.proposer = p.api_proposer.get();
  status.store = p.store.get();
  status.alarms = [raw] { return raw->alarms.List(); };
  status.committed_index = p.ctx.committed_index;
  status.applied_index = p.ctx.applied_index;
  status.member_id = p.member.member_id;
  status.quota_backend_bytes = p.ctx.limits.quota_backend_bytes;
  auto http_handler = std::make_shared<http::EtcdHttpHandler>(
      std::make_unique<http::MemberStatus>(std::move(status)), http::VersionInfo{});
  h2::ServerOptions front_options;
  front_options.threads =
      std::clamp(std::thread::hardware_concurrency() / 2, 1u, kMaxFrontLoops);
  front_options.max_request_bytes =
      static_cast<size_t>(config.max_request_bytes) + kGrpcOverheadBytes;
  grpc::Server* fallback = p.grpc_server.get();
  front_options.dial_fallback = [fallback]() -> Result<int> {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ends) != 0) {
      return Unavailable(std::string("socketpair: ") + std::strerror(errno));
    }
    grpc::AddInsecureChannelFromFd(fallback, ends[1]);
    return ends[0];
  };
  GRID_ASSIGN_OR_RETURN(p.front,
                        h2::UnaryServer::Start(std::move(front_options), KvFrontMethods(&p.ctx)));
  GRID_RETURN_IF_ERROR(p.client_listener->Start(
      [front = p.front.get()](int fd) { front->Adopt(fd); },
      [http_handler](const http::HttpRequest& r) { return http_handler->Handle(r); }));
  for (const std::string& address : p.client_listener->bound_addresses()) {
    p.client_urls.push_back("http://" + address);
    spdlog::info("listening for client requests on {}", address);
  }
  p.self_channel = p.grpc_server->InProcessChannel(grpc::ChannelArguments());
  p.lock_service.Bind(std::make_unique<client::services::LockService>(p.self_channel));
  p.election_service.Bind(std::make_unique<client::services::ElectionService>(p.self_channel));

  p.compactor = std::make_unique<AutoCompactor>(p.store.get(), p.log.get(),
                                                config.auto_compaction_mode,
                                                config.auto_compaction_retention);
  GRID_RETURN_IF_ERROR(p.compactor->Start());

  spdlog::info("enabled capabilities for version 3.4");
  p.publisher = std::thread([raw, config] {
    PublishLoop(raw, config, [raw, &config] {
      spdlog::info("published {{Name:{} ClientURLs:[{}]}} to cluster {:x}", config.name,
                   fmt::join(config.advertise_client_urls, " "), raw->member.cluster_id);
      spdlog::info("ready to serve client requests (member {:x}, cluster {:x}, revision {})",
                   raw->member.member_id, raw->member.cluster_id,
                   raw->store->CurrentRevision());
    });
  });
  // A lone voter elects itself at once: return only once its name is in the member table, so
  // that the first MemberList already shows it. A member of a larger cluster publishes when a
  // quorum is up; meanwhile its clients wait for a leader.
  if (conf_state.voters.size() == 1 && conf_state.learners.empty() &&
      conf_state.voters.front() == raft::MemberId(p.member.member_id)) {
    std::unique_lock lock(p.mu);
    p.cv.wait_for(lock, std::chrono::milliseconds(5 * config.election_timeout_ms),
                  [&p] { return p.published || !p.fatal.ok(); });
  }
  return std::unique_ptr<KvServer>(new KvServer(std::move(parts)));
}

namespace {

void PublishLoop(KvServer::Parts* p, const ServerConfig& config,
                 std::function<void()> on_published) {
  kvpb::InternalRequest request;
  kvpb::MemberRecord* self = request.mutable_member_attributes();
  self->set_id(p->member.member_id);
  self->set_name(config.name);
  for (const auto& u : config.advertise_client_urls) self->add_client_urls(u);
  for (;;) {
    std::promise<Status> answered;
    std::future<Status> answer = answered.get_future();
    p->log->Propose(request, [&answered](const Status& s, kvpb::InternalResponse) {
      answered.set_value(s);
    });
    const Status s = answer.get();
    std::unique_lock lock(p->mu);
    if (s.ok()) {
      p->published = true;
      lock.unlock();
      p->cv.notify_all();
      on_published();
      return;
    }
    if (p->shut_down) return;
    spdlog::warn("publishing this member's attributes failed, retrying: {}", s.ToString());
    p->cv.wait_for(lock, std::chrono::milliseconds(500), [p] { return p->shut_down; });
    if (p->shut_down) return;
  }
}

}  // namespace

Status RestoreFromSnapshot(const std::string& snapshot_path, const ServerConfig& config) {
  const fs::path data_dir = DataDirOf(config);
  if (fs::exists(data_dir / "member")) {
    return FailedPrecondition("data dir " + data_dir.string() + " already has a member");
  }
  const fs::path member_dir = data_dir / "member";
  GRID_RETURN_IF_ERROR(MakeDirs(member_dir));
  // An etcd v3 snapshot (bbolt backend + SHA-256), from gridkv or etcd.
  GRID_RETURN_IF_ERROR(
      snapshot::RestoreEtcdSnapshot(snapshot_path, (member_dir / "kv").string()).status());
  uint64_t applied = 0;
  {
    mvcc::Options store_options;
    store_options.dir = (member_dir / "kv").string();
    GRID_ASSIGN_OR_RETURN(auto store, mvcc::Store::Open(store_options));
    applied = store->ConsistentIndex();
  }
  // New entries continue after the index the backend already holds.
  GRID_RETURN_IF_ERROR(
      CreateRestoredLog(config, (member_dir / "wal").string(), applied).status());
  spdlog::info("restored snapshot {} into {} (applied index {})", snapshot_path,
               data_dir.string(), applied);
  return Status::Ok();
}

}  // namespace grid::kv
