#include "transport/transport.h"

#include <fmt/ranges.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>

#include <algorithm>
#include <spdlog/spdlog.h>

#include "transport/codec.h"
#include "transport/metadata.h"
#include "transport/peer_listener.h"
#include "transport/peer_service.h"

namespace grid::transport {
namespace {

Status ValidateOptions(const TransportOptions& o) {
  if (o.member_id == raft::kNoMember) return InvalidArgument("transport needs a member id");
  if (o.listen_urls.empty()) return InvalidArgument("transport needs a listen URL");
  if (o.snapshot_dir.empty()) return InvalidArgument("transport needs a snapshot directory");
  if (o.max_queued_msgs_per_peer == 0) return InvalidArgument("max_queued_msgs_per_peer is 0");
  if (o.max_message_bytes == 0 || o.max_message_bytes > o.max_queued_bytes_per_peer) {
    return InvalidArgument("max_message_bytes must be in (0, max_queued_bytes_per_peer]");
  }
  if (o.max_batch_bytes == 0 || o.max_batch_bytes > o.max_message_bytes) {
    return InvalidArgument("max_batch_bytes must be in (0, max_message_bytes]");
  }
  constexpr uint64_t kGrpcMessageCeiling = 1ull << 30;
  if (o.snapshot_chunk_bytes == 0 || o.max_message_bytes + o.snapshot_chunk_bytes > kGrpcMessageCeiling) {
    return InvalidArgument("max_message_bytes + snapshot_chunk_bytes must be in (0, 1 GiB]");
  }
  if (o.max_lease_response_bytes == 0 || o.max_lease_response_bytes > kGrpcMessageCeiling) {
    return InvalidArgument("max_lease_response_bytes must be in (0, 1 GiB]");
  }
  if (o.initial_backoff.count() <= 0 || o.max_backoff < o.initial_backoff) {
    return InvalidArgument("back-off must satisfy 0 < initial_backoff <= max_backoff");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Transport>> Transport::Start(TransportOptions options,
                                                    TransportCallbacks callbacks) {
  GRID_RETURN_IF_ERROR(ValidateOptions(options));
  std::vector<std::string> hosts = {"localhost"};
  bool any_tls = false;
  for (const std::string& u : options.listen_urls) {
    GRID_ASSIGN_OR_RETURN(PeerUrl url, ParsePeerUrl(u));
    hosts.push_back(url.host);
    any_tls = any_tls || url.tls;
  }
  GRID_ASSIGN_OR_RETURN(PeerCredentials creds, PeerCredentials::Load(options.tls, hosts));
  if (any_tls && !creds.tls_configured()) {
    return InvalidArgument("an https listen URL needs peer TLS options");
  }
  std::unique_ptr<Transport> t(
      new Transport(std::move(options), std::move(callbacks), std::move(creds)));
  GRID_RETURN_IF_ERROR(t->Listen());
  return t;
}

Transport::Transport(TransportOptions options, TransportCallbacks callbacks, PeerCredentials creds)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      creds_(std::move(creds)),
      completions_(std::make_unique<CallCompletions>()) {
  service_ = std::make_unique<PeerService>(&options_, &callbacks_,
                                           [this](raft::MemberId id) { return IsRemoved(id); });
}

Transport::~Transport() { Stop(); }

Status Transport::Listen() {
  grpc::ServerBuilder builder;
  std::vector<PeerUrl> urls;
  std::vector<PeerUrl> plain;  // served by the peer listener
  std::vector<std::unique_ptr<int>> tls_ports;  // bound by the gRPC server, nullptr for plain
  for (const std::string& u : options_.listen_urls) {
    GRID_ASSIGN_OR_RETURN(PeerUrl url, ParsePeerUrl(u));
    if (url.tls) {
      tls_ports.push_back(std::make_unique<int>(0));
      builder.AddListeningPort(url.target(), creds_.Server(true), tls_ports.back().get());
    } else {
      tls_ports.push_back(nullptr);
      plain.push_back(url);
    }
    urls.push_back(std::move(url));
  }
  PeerListenerOptions lo;
  lo.keepalive_interval = options_.keepalive_interval;
  lo.max_frame_bytes = static_cast<size_t>(options_.max_message_bytes + options_.snapshot_chunk_bytes);
  GRID_ASSIGN_OR_RETURN(listener_, PeerListener::Bind(plain, lo));
  builder.RegisterService(service_.get());
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(options_.max_message_bytes + options_.snapshot_chunk_bytes));
  // Answers are small, but for a lease time-to-live listing its keys.
  builder.SetMaxSendMessageSize(
      static_cast<int>(std::max<uint64_t>(4096, options_.max_lease_response_bytes)));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             static_cast<int>(options_.keepalive_interval.count() / 2));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Frees the handler threads of streams whose sender vanished without closing the connection.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(options_.keepalive_interval.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(options_.keepalive_timeout.count()));
  server_ = builder.BuildAndStart();
  if (!server_) return Unavailable("cannot start the peer server on the listen URLs");
  size_t next_plain = 0;
  for (size_t i = 0; i < urls.size(); ++i) {
    const int port = tls_ports[i] ? *tls_ports[i] : listener_->ports()[next_plain++];
    if (port == 0) {
      server_->Shutdown();
      return Unavailable("cannot listen on " + urls[i].original);
    }
    bound_urls_.push_back(urls[i].WithPort(port));
  }
  grpc::Server* server = server_.get();
  PeerService* service = service_.get();
  GRID_RETURN_IF_ERROR(listener_->Start(PeerListenerHandlers{
      .adopt_http2 = [server](int fd) { grpc::AddInsecureChannelFromFd(server, fd); },
      .admit = [service](const CallHeader& h) { return service->AdmitStream(h); },
      .deliver = [service](raft::MemberId from, const peerpb::MessageBatch& batch) {
        return service->DeliverBatch(from, batch);
      }}));
  spdlog::info("member {} serves peers on {}", IdHex(options_.member_id),
               fmt::format("{}", fmt::join(bound_urls_, ",")));
  return Status::Ok();
}

void Transport::Stop() {
  std::map<raft::MemberId, Peer> peers;
  {
    std::lock_guard l(mu_);
    if (stopped_) return;
    stopped_ = true;
    peers.swap(peers_);
  }
  for (auto& [id, p] : peers) {
    p.sender->Stop();
    p.calls->Stop();
  }
  // Every call completed; RenewLease() no longer finds a peer.
  completions_->Shutdown();
  // Message streams end, and no connection reaches the gRPC server any more.
  if (listener_) listener_->Stop();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

Result<std::vector<PeerUrl>> Transport::ParsePeerUrls(const std::vector<std::string>& urls) const {
  if (urls.empty()) return InvalidArgument("a peer needs at least one URL");
  std::vector<PeerUrl> out;
  for (const std::string& u : urls) {
    GRID_ASSIGN_OR_RETURN(PeerUrl url, ParsePeerUrl(u));
    if (url.tls && !creds_.tls_configured()) {
      return InvalidArgument("peer URL " + u + " is https but peer TLS is not configured");
    }
    out.push_back(std::move(url));
  }
  return out;
}

Status Transport::AddPeer(raft::MemberId id, const std::vector<std::string>& urls) {
  if (id == raft::kNoMember || id == options_.member_id) {
    return InvalidArgument("cannot add member " + IdHex(id) + " as a peer");
  }
  GRID_ASSIGN_OR_RETURN(std::vector<PeerUrl> parsed, ParsePeerUrls(urls));
  std::lock_guard l(mu_);
  if (stopped_) return Unavailable("transport stopped");
  if (removed_.count(id) != 0) return FailedPrecondition("member " + IdHex(id) + " was removed");
  if (peers_.count(id) != 0) return Status(Code::kAlreadyExists, "peer " + IdHex(id) + " already added");
  Peer& p = peers_[id];
  p.sender = std::make_shared<PeerSender>(&options_, &creds_, &callbacks_, id, parsed);
  p.calls = std::make_shared<PeerCalls>(&options_, &creds_, completions_.get(), id,
                                        std::move(parsed));
  return Status::Ok();
}

Status Transport::UpdatePeer(raft::MemberId id, const std::vector<std::string>& urls) {
  GRID_ASSIGN_OR_RETURN(std::vector<PeerUrl> parsed, ParsePeerUrls(urls));
  std::lock_guard l(mu_);
  auto it = peers_.find(id);
  if (it == peers_.end()) return NotFound("unknown peer " + IdHex(id));
  it->second.sender->UpdateUrls(parsed);
  it->second.calls->UpdateUrls(std::move(parsed));
  return Status::Ok();
}

Status Transport::RemovePeer(raft::MemberId id) {
  Peer p;
  {
    std::lock_guard l(mu_);
    auto it = peers_.find(id);
    if (it == peers_.end()) return NotFound("unknown peer " + IdHex(id));
    p = std::move(it->second);
    peers_.erase(it);
    removed_.insert(id);
  }
  p.sender->Stop();
  p.calls->Stop();
  return Status::Ok();
}

bool Transport::IsRemoved(raft::MemberId id) const {
  std::lock_guard l(mu_);
  return removed_.count(id) != 0;
}

void Transport::Send(std::vector<raft::Message> msgs) {
  std::vector<raft::MemberId> unreachable;
  std::vector<raft::MemberId> snapshot_failed;
  std::vector<std::shared_ptr<PeerSender>> to_flush;
  {
    std::lock_guard l(mu_);
    if (stopped_) return;
    for (raft::Message& m : msgs) {
      GRID_CHECK(IsPeerMessageType(m.type) && m.from == options_.member_id)
          << "Send() of " << MessageTypeLabel(m.type) << " from member " << IdHex(m.from)
          << " on the transport of member " << IdHex(options_.member_id);
      auto it = peers_.find(m.to);
      if (it == peers_.end()) {
        spdlog::debug("dropped {} to unknown peer {}", MessageTypeLabel(m.type), IdHex(m.to));
        continue;
      }
      if (m.type == raft::MessageType::kSnap) {
        if (!it->second.sender->EnqueueSnapshot(std::move(m))) {
          snapshot_failed.push_back(it->first);
        }
        continue;
      }
      uint64_t bytes = ApproxMessageBytes(m);
      if (bytes > options_.max_message_bytes) {
        spdlog::error("dropped {} of {} bytes to peer {}: larger than max_message_bytes {}",
                      MessageTypeLabel(m.type), bytes, IdHex(m.to), options_.max_message_bytes);
        unreachable.push_back(it->first);
        continue;
      }
      if (it->second.sender->Enqueue(std::move(m))) {
        if (std::find(to_flush.begin(), to_flush.end(), it->second.sender) == to_flush.end()) {
          to_flush.push_back(it->second.sender);
        }
      } else {
        unreachable.push_back(it->first);
      }
    }
  }
  // One batch per peer per call, written from this thread when the peer's stream is idle:
  // outside mu_, which the receiving threads take for every batch they deliver.
  for (const std::shared_ptr<PeerSender>& sender : to_flush) sender->Flush();
  if (!unreachable.empty()) {
    std::sort(unreachable.begin(), unreachable.end());
    unreachable.erase(std::unique(unreachable.begin(), unreachable.end()), unreachable.end());
    for (raft::MemberId id : unreachable) {
      spdlog::debug("dropped messages to peer {}: its sending queue is full", IdHex(id));
      if (callbacks_.on_unreachable) callbacks_.on_unreachable(id);
    }
  }
  for (raft::MemberId id : snapshot_failed) {
    spdlog::warn("dropped a snapshot to peer {}: one is already in flight", IdHex(id));
    if (callbacks_.on_snapshot_status) callbacks_.on_snapshot_status(id, false);
  }
}

Result<PeerStats> Transport::Stats(raft::MemberId id) const {
  std::lock_guard l(mu_);
  auto it = peers_.find(id);
  if (it == peers_.end()) return NotFound("unknown peer " + IdHex(id));
  return it->second.sender->stats();
}

std::optional<std::chrono::steady_clock::time_point> Transport::ActiveSince(
    raft::MemberId peer) const {
  std::lock_guard l(mu_);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  return it->second.sender->active_since();
}

std::shared_ptr<PeerCalls> Transport::CallsOf(raft::MemberId id) const {
  std::lock_guard l(mu_);
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : it->second.calls;
}

void Transport::RenewLease(raft::MemberId to, int64_t id, std::chrono::milliseconds timeout,
                           std::function<void(Result<int64_t>)> done) {
  std::shared_ptr<PeerCalls> calls = CallsOf(to);
  if (!calls) return done(Unavailable("unknown peer " + IdHex(to)));
  calls->RenewLease(id, timeout, std::move(done));
}

void Transport::PromoteCheck(raft::MemberId to, uint64_t member, std::chrono::milliseconds timeout,
                             std::function<void(Status)> done) {
  std::shared_ptr<PeerCalls> calls = CallsOf(to);
  if (!calls) return done(Unavailable("unknown peer " + IdHex(to)));
  calls->PromoteCheck(member, timeout, std::move(done));
}

void Transport::LeaseTimeToLive(raft::MemberId to, int64_t id, bool keys,
                                std::chrono::milliseconds timeout,
                                std::function<void(Result<LeaseTtl>)> done) {
  std::shared_ptr<PeerCalls> calls = CallsOf(to);
  if (!calls) return done(Unavailable("unknown peer " + IdHex(to)));
  calls->LeaseTimeToLive(id, keys, timeout, std::move(done));
}

}  // namespace grid::transport
