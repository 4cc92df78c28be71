// grid::client::Client — an etcd v3 client over the generated gRPC stubs. It speaks only
// the etcd 3.4 wire API, so it works against etcd and against gridkv alike.
//
//   GRID_ASSIGN_OR_RETURN(auto client, Client::Connect({"127.0.0.1:2379"}, {}));
//   GRID_RETURN_IF_ERROR(client->Put("k", "v").status());
//   auto txn = TxnBuilder().If(CompareCreateRevision("k", etcdserverpb::Compare::EQUAL, 0))
//                  .Then(OpPut("k", "v")).Else(OpGet("k"));
//   GRID_ASSIGN_OR_RETURN(auto resp, client->Txn(txn.request()));
//
// Errors are grid::Status values carrying the server's message (see status_util.h for the
// code mapping). Unary calls get a deadline of ClientOptions::call_timeout, shortened by the
// Context's deadline when it has one.
//
// Thread-safety: a Client is thread-safe; share one per process. Watchers and keepalive
// handles may outlive it (they hold the channel).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/channel.h>

#include "client/context.h"
#include "client/lease_keeper.h"
#include "client/ops.h"
#include "client/watcher.h"
#include "common/status.h"
#include "etcd/rpc.grpc.pb.h"

namespace grid::client {

// etcd's clientv3 default: responses up to 2 GiB - 1.
inline constexpr int kDefaultMaxReceiveMessageBytes = 2147483647;

struct ClientOptions {
  // Connect() waits this long for the channel to connect; 0 = do not wait (connect lazily).
  std::chrono::milliseconds dial_timeout{5000};
  // Deadline of every unary call; 0 = none.
  std::chrono::milliseconds call_timeout{5000};
  int max_receive_message_bytes = kDefaultMaxReceiveMessageBytes;
  // Longest wait between the channel's reconnection attempts after a connection is lost.
  std::chrono::milliseconds max_reconnect_backoff{1000};
  // Reconnect backoff of the watch and keepalive streams.
  std::chrono::milliseconds min_retry_backoff{50};
  std::chrono::milliseconds max_retry_backoff{1000};
};

class Client {
 public:
  // `endpoints`: "host:port" or "http://host:port". Several endpoints must be IPv4
  // literals; the channel fails over between them. https is not supported.
  static Result<std::unique_ptr<Client>> Connect(const std::vector<std::string>& endpoints,
                                                 const ClientOptions& options);
  // Wraps an existing channel (e.g. a server's own client URL); does not wait to connect.
  static std::unique_ptr<Client> FromChannel(std::shared_ptr<grpc::Channel> channel,
                                             const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const ClientOptions& options() const { return options_; }

  // KV.
  Result<etcdserverpb::RangeResponse> Get(std::string_view key, const GetOptions& options = {},
                                          const Context& ctx = {});
  Result<etcdserverpb::PutResponse> Put(std::string_view key, std::string_view value,
                                        const PutOptions& options = {}, const Context& ctx = {});
  Result<etcdserverpb::DeleteRangeResponse> Delete(std::string_view key,
                                                   const DeleteOptions& options = {},
                                                   const Context& ctx = {});
  Result<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& request,
                                        const Context& ctx = {});
  Result<etcdserverpb::CompactionResponse> Compact(int64_t revision, bool physical = false,
                                                   const Context& ctx = {});

  // Lease. `id` 0 lets the server choose.
  Result<etcdserverpb::LeaseGrantResponse> Grant(int64_t ttl_seconds, int64_t id = 0,
                                                 const Context& ctx = {});
  Result<etcdserverpb::LeaseRevokeResponse> Revoke(int64_t id, const Context& ctx = {});
  Result<etcdserverpb::LeaseTimeToLiveResponse> TimeToLive(int64_t id, bool keys = false,
                                                           const Context& ctx = {});
  // Keeps `id` alive in the background until the handle is destroyed; `on_lost` (may be
  // empty) is called once if the lease is lost. See lease_keeper.h.
  std::unique_ptr<LeaseKeepAlive> KeepAlive(int64_t id, LeaseLostCallback on_lost = {});

  // Watch. See watcher.h.
  Result<std::unique_ptr<Watcher>> Watch(std::string_view key, const WatchOptions& options,
                                         WatchCallback callback);

  // Maintenance / cluster.
  Result<etcdserverpb::StatusResponse> MemberStatus(const Context& ctx = {});
  Result<etcdserverpb::MemberListResponse> MemberList(const Context& ctx = {});

 private:
  Client(std::shared_ptr<grpc::Channel> channel, const ClientOptions& options);
  // Sets the call deadline from options_ and ctx. Returns ctx.Err() when already done.
  Status Prepare(grpc::ClientContext* call, const Context& ctx) const;

  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  const std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  const std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance_;
  const std::unique_ptr<etcdserverpb::Cluster::Stub> cluster_;
  LeaseKeeper keeper_;
};

}  // namespace grid::client
