#include "kv/server/kv_server.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "kv/api/cluster_service.h"
#include "kv/api/kv_service.h"
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
#include "kv/server/members.h"
#include "kv/server/self_client_services.h"
#include "kv/server/solo_log.h"
#include "kv/snapshot/etcd_backend.h"
#include "kv/watch/store_event_source.h"
#include "kv/watch/watch_hub.h"
#include "storage/mvcc/store.h"
#include "storage/wal/wal.h"

namespace grid::kv {
namespace fs = std::filesystem;
namespace {

// gRPC framing allowance on top of --max-request-bytes (etcd's grpcOverheadBytes).
constexpr int kGrpcOverheadBytes = 512 * 1024;
// Reads that waited on a barrier: threads and queue bound.
constexpr size_t kReadPoolThreads = 2;
constexpr size_t kMaxQueuedReads = 100000;
// Threads answering applied proposals, and groups of answers queued for them at most (beyond
// it the apply thread answers itself).
constexpr size_t kResponderThreads = 1;
constexpr size_t kMaxQueuedResponseGroups = 1024;
// The term of a single member's log: etcd's single member is at term 2 once it has elected
// itself at start, and clients see that term in every response header.
constexpr uint64_t kSoloTerm = 2;

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

// etcd's publish: this member's name and client URLs (which may change between starts) are
// written into the membership; its peer URLs come from the table once it exists (they change
// through MemberUpdate).
Status PublishSelf(const ServerConfig& config, uint64_t member_id, mvcc::Store& store,
                   MemberTable& members) {
  kvpb::MemberRecord self;
  if (auto existing = members.Get(member_id)) {
    self = *existing;
  } else {
    self.set_id(member_id);
    for (const auto& u : config.initial_advertise_peer_urls) self.add_peer_urls(u);
  }
  self.set_name(config.name);
  self.clear_client_urls();
  for (const auto& u : config.advertise_client_urls) self.add_client_urls(u);
  std::unique_ptr<mvcc::Batch> batch = store.BeginBatch();
  batch->PutMeta("members", MemberTable::StorageKey(member_id), self.SerializeAsString());
  batch->SetConsistentIndex(store.ConsistentIndex());
  GRID_RETURN_IF_ERROR(batch->Commit().status());
  std::vector<kvpb::MemberRecord> all = members.List();
  std::erase_if(all, [&](const kvpb::MemberRecord& m) { return m.id() == member_id; });
  all.push_back(self);
  members.Load(all);
  return Status::Ok();
}

}  // namespace

struct KvServer::Parts {
  ServerConfig config;
  MemberIdentity member;
  std::unique_ptr<mvcc::Store> store;
  lease::SteadyClock clock;
  std::unique_ptr<lease::Lessor> lessor;
  AlarmTable alarms;
  MemberTable members;
  WaitRegistry waits;
  std::unique_ptr<watch::StoreEventSource> event_source;
  std::unique_ptr<watch::WatchHub> hub;
  std::unique_ptr<Applier> applier;
  std::unique_ptr<SoloLog> log;
  std::unique_ptr<lease::LeaseKeeper> keeper;
  std::unique_ptr<AutoCompactor> compactor;
  std::unique_ptr<WorkerPool> read_pool;
  std::unique_ptr<WorkerPool> responders;
  ServerContext ctx;

  std::unique_ptr<KvService> kv_service;
  std::unique_ptr<MaintenanceService> maintenance_service;
  std::unique_ptr<ClusterService> cluster_service;
  std::unique_ptr<api::WatchService> watch_service;
  std::unique_ptr<api::LeaseService> lease_service;
  std::shared_ptr<grpc::Channel> self_channel;
  SelfLockService lock_service;
  SelfElectionService election_service;
  std::unique_ptr<grpc::Server> grpc_server;
  // Owns the client ports: hands HTTP/2 connections to grpc_server, answers plain HTTP.
  std::unique_ptr<http::ClientListener> client_listener;
  std::vector<std::string> client_urls;

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
  parts_->cv.wait(lock, [this] { return parts_->shut_down || !parts_->fatal.ok(); });
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
  if (p.applier) p.applier->Stop();
  p.responders.reset();  // runs the answers still queued
  std::vector<ApplyCallback> proposals;
  std::vector<ReadyCallback> reads;
  p.waits.TakeAll(&proposals, &reads);
  for (auto& done : proposals) done(ErrStopped(), {});
  for (auto& ready : reads) ready(ErrStopped());
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
  auto parts = std::make_unique<Parts>();
  Parts& p = *parts;
  p.config = config;
  const fs::path data_dir = DataDirOf(config);
  const fs::path member_dir = data_dir / "member";
  GRID_RETURN_IF_ERROR(MakeDirs(member_dir));

  // Identity, then the log.
  const std::vector<std::string>& peer_urls = config.initial_advertise_peer_urls;
  wal::Options wal_options;
  wal_options.dir = (member_dir / "wal").string();
  GRID_ASSIGN_OR_RETURN(bool wal_exists, wal::Wal::Exists(wal_options));
  wal::ReplayResult replay;
  std::unique_ptr<wal::Wal> wal;
  if (wal_exists) {
    GRID_ASSIGN_OR_RETURN(wal, wal::Wal::Open(wal_options, &replay));
    if (replay.torn_bytes_dropped > 0) {
      spdlog::warn("wal: dropped a torn tail of {} bytes (a write the crash interrupted; it "
                   "was never acknowledged)",
                   replay.torn_bytes_dropped);
    }
  } else {
    if (fs::exists(member_dir / "kv")) {
      return FailedPrecondition("data dir " + data_dir.string() +
                                " has a backend but no write-ahead log: refusing to start");
    }
    replay.metadata.member_id = DeriveMemberId(peer_urls, config.initial_cluster_token);
    replay.metadata.cluster_id = DeriveClusterId({replay.metadata.member_id});
    GRID_ASSIGN_OR_RETURN(wal, wal::Wal::Create(wal_options, replay.metadata));
  }
  p.member.member_id = replay.metadata.member_id;
  p.member.cluster_id = replay.metadata.cluster_id;
  p.member.name = config.name;
  p.member.raft_term = kSoloTerm;

  // The store, and the state kept beside it.
  mvcc::Options store_options;
  store_options.dir = (member_dir / "kv").string();
  GRID_ASSIGN_OR_RETURN(p.store, mvcc::Store::Open(store_options));
  lease::LessorOptions lessor_options;
  lessor_options.min_ttl_seconds =
      lease::MinLeaseTtlSeconds(config.heartbeat_interval_ms, config.election_timeout_ms);
  p.lessor = std::make_unique<lease::Lessor>(p.clock, lessor_options);
  GRID_ASSIGN_OR_RETURN(size_t orphans, lease::RecoverLessor(*p.lessor, *p.store));
  if (orphans > 0) spdlog::warn("{} keys name a lease that no longer exists", orphans);
  GRID_ASSIGN_OR_RETURN(auto alarm_rows, p.store->ReadMeta("alarm"));
  for (const auto& [key, value] : alarm_rows) {
    kvpb::AlarmRecord record;
    if (!record.ParseFromString(value)) return Corruption("backend: undecodable alarm record");
    (void)p.alarms.Activate(record.member_id(), record.alarm());
  }

  GRID_ASSIGN_OR_RETURN(auto member_rows, p.store->ReadMeta("members"));
  std::vector<kvpb::MemberRecord> members;
  for (const auto& [key, value] : member_rows) {
    kvpb::MemberRecord record;
    if (!record.ParseFromString(value)) return Corruption("backend: undecodable member record");
    members.push_back(std::move(record));
  }
  p.members.Load(members);

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
  deps.on_events = [raw](const std::vector<mvccpb::Event>& events, int64_t revision) {
    if (raw->hub) raw->hub->OnCommit(events, revision);
  };
  deps.on_applied = [raw](uint64_t index) {
    if (raw->log) raw->log->OnApplied(index);
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
  const uint64_t applied_before = p.store->ConsistentIndex();
  std::vector<wal::Entry> tail;
  for (auto& e : replay.entries) {
    if (e.index > applied_before) tail.push_back(std::move(e));
  }
  if (!tail.empty()) {
    spdlog::info("replaying {} log entries ({}..{}) into the store", tail.size(),
                 tail.front().index, tail.back().index);
    p.applier->ApplyNow(std::move(tail));
  }
  const uint64_t last_index = std::max(wal->LastIndex(), p.store->ConsistentIndex());
  GRID_RETURN_IF_ERROR(PublishSelf(config, p.member.member_id, *p.store, p.members));

  // Watchers, the apply thread and the log thread.
  mvcc::Options defaults;
  p.event_source = std::make_unique<watch::StoreEventSource>(p.store.get(),
                                                             defaults.max_events_per_read);
  p.hub = std::make_unique<watch::WatchHub>(p.event_source.get(), watch::HubOptions{});
  p.applier->Start();
  p.log = std::make_unique<SoloLog>(
      std::move(wal), last_index, last_index, kSoloTerm, static_cast<uint64_t>(NowMs()), &p.waits,
      [raw](std::vector<wal::Entry> entries) { raw->applier->Enqueue(std::move(entries)); });
  p.log->Start({});
  p.keeper = std::make_unique<lease::LeaseKeeper>(*p.lessor, *p.log, p.clock,
                                                  lease::KeeperOptions{});
  p.keeper->Start();

  // The API.
  p.read_pool = std::make_unique<WorkerPool>(kReadPoolThreads, kMaxQueuedReads);
  p.ctx.store = p.store.get();
  p.ctx.proposer = p.log.get();
  p.ctx.member = &p.member;
  p.ctx.alarms = &p.alarms;
  p.ctx.read_pool = p.read_pool.get();
  p.ctx.limits.max_request_bytes = config.max_request_bytes;
  p.ctx.limits.max_txn_ops = config.max_txn_ops;
  if (config.quota_backend_bytes != 0) {
    p.ctx.limits.quota_backend_bytes = config.quota_backend_bytes;
  }
  p.ctx.data_dir = data_dir.string();
  if (!peer_urls.empty()) p.ctx.peer_url = peer_urls.front();
  if (!config.advertise_client_urls.empty()) {
    p.ctx.client_url = config.advertise_client_urls.front();
  }
  p.ctx.committed_index = [raw] { return raw->log->committed_index(); };
  p.ctx.applied_index = [raw] { return raw->log->applied_index(); };

  p.kv_service = std::make_unique<KvService>(&p.ctx);
  p.maintenance_service = std::make_unique<MaintenanceService>(&p.ctx);
  p.cluster_service =
      std::make_unique<ClusterService>(&p.ctx, &p.members, config.initial_cluster_token);
  p.watch_service = std::make_unique<api::WatchService>(p.hub.get(), &p.member);
  p.lease_service = std::make_unique<api::LeaseService>(
      *p.lessor, *p.log, p.member, [raw] { return raw->store->CurrentRevision(); });

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
  status.proposer = p.log.get();
  status.store = p.store.get();
  status.alarms = [raw] { return raw->alarms.List(); };
  status.committed_index = p.ctx.committed_index;
  status.applied_index = p.ctx.applied_index;
  status.member_id = p.member.member_id;
  status.quota_backend_bytes = p.ctx.limits.quota_backend_bytes;
  auto http_handler = std::make_shared<http::EtcdHttpHandler>(
      std::make_unique<http::MemberStatus>(std::move(status)), http::VersionInfo{});
  GRID_RETURN_IF_ERROR(p.client_listener->Start(
      p.grpc_server.get(), [http_handler](const http::HttpRequest& r) {
        return http_handler->Handle(r);
      }));
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
  spdlog::info("published {{Name:{} ClientURLs:[{}]}} to cluster {:x}", config.name,
               fmt::join(config.advertise_client_urls, " "), p.member.cluster_id);
  spdlog::info("ready to serve client requests (member {:x}, cluster {:x}, revision {})",
               p.member.member_id, p.member.cluster_id, p.store->CurrentRevision());
  return std::unique_ptr<KvServer>(new KvServer(std::move(parts)));
}

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
  wal::Options wal_options;
  wal_options.dir = (member_dir / "wal").string();
  wal::Metadata metadata;
  metadata.member_id = DeriveMemberId(config.initial_advertise_peer_urls,
                                      config.initial_cluster_token);
  metadata.cluster_id = DeriveClusterId({metadata.member_id});
  GRID_ASSIGN_OR_RETURN(auto wal, wal::Wal::Create(wal_options, metadata));
  // New entries continue after the index the backend already holds.
  GRID_RETURN_IF_ERROR(wal->SaveSnapshotMarker(wal::SnapshotMarker{applied, kSoloTerm}));
  spdlog::info("restored snapshot {} into {} (applied index {})", snapshot_path,
               data_dir.string(), applied);
  return Status::Ok();
}

}  // namespace grid::kv
