#include "client/client.h"

#include <arpa/inet.h>

#include <algorithm>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "client/status_util.h"

namespace grid::client {
namespace {

bool IsIpv4Literal(const std::string& host) {
  in_addr addr;
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

// "http://h:p" or "h:p" → "h:p".
Result<std::string> HostPort(const std::string& endpoint) {
  std::string e = endpoint;
  constexpr std::string_view kHttp = "http://";
  if (e.rfind("https://", 0) == 0 || e.rfind("unixs://", 0) == 0) {
    return Unimplemented("TLS endpoints are not supported: " + endpoint);
  }
  if (e.rfind(kHttp, 0) == 0) e = e.substr(kHttp.size());
  while (!e.empty() && e.back() == '/') e.pop_back();
  if (e.empty() || e.find(':') == std::string::npos) {
    return InvalidArgument("endpoint must be host:port: " + endpoint);
  }
  return e;
}

Result<std::string> ChannelTarget(const std::vector<std::string>& endpoints) {
  if (endpoints.empty()) return InvalidArgument("no endpoints");
  std::vector<std::string> hostports;
  for (const auto& e : endpoints) {
    GRID_ASSIGN_OR_RETURN(auto hp, HostPort(e));
    hostports.push_back(std::move(hp));
  }
  if (hostports.size() == 1) return hostports[0];
  std::string target = "ipv4:";
  for (size_t i = 0; i < hostports.size(); ++i) {
    const std::string host = hostports[i].substr(0, hostports[i].rfind(':'));
    if (!IsIpv4Literal(host)) {
      return InvalidArgument("several endpoints must be IPv4 addresses: " + endpoints[i]);
    }
    if (i > 0) target += ",";
    target += hostports[i];
  }
  return target;
}


}  // namespace

Client::Client(std::shared_ptr<grpc::Channel> channel, const ClientOptions& options)
    : options_(options),
      channel_(std::move(channel)),
      kv_(etcdserverpb::KV::NewStub(channel_)),
      lease_(etcdserverpb::Lease::NewStub(channel_)),
      maintenance_(etcdserverpb::Maintenance::NewStub(channel_)),
      cluster_(etcdserverpb::Cluster::NewStub(channel_)),
      keeper_(channel_, LeaseKeeperOptions{
                            .first_keepalive_timeout = options.call_timeout.count() > 0
                                                           ? options.call_timeout
                                                           : std::chrono::milliseconds(5000),
                            .min_retry_backoff = options.min_retry_backoff,
                            .max_retry_backoff = options.max_retry_backoff}) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Connect(const std::vector<std::string>& endpoints,
                                                const ClientOptions& options) {
  GRID_ASSIGN_OR_RETURN(auto target, ChannelTarget(endpoints));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  const int backoff_ms = static_cast<int>(options.max_reconnect_backoff.count());
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, backoff_ms);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(backoff_ms, 100));
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  if (options.dial_timeout.count() > 0) {
    const auto deadline = std::chrono::system_clock::now() + options.dial_timeout;
    if (!channel->WaitForConnected(deadline)) {
      return Status(Code::kDeadlineExceeded,
                    "dial timeout: could not connect to " + target);
    }
  }
  return FromChannel(std::move(channel), options);
}

std::unique_ptr<Client> Client::FromChannel(std::shared_ptr<grpc::Channel> channel,
                                            const ClientOptions& options) {
  return std::unique_ptr<Client>(new Client(std::move(channel), options));
}

Status Client::Prepare(grpc::ClientContext* call, const Context& ctx) const {
  GRID_RETURN_IF_ERROR(ctx.Err());
  std::optional<std::chrono::system_clock::time_point> deadline;
  if (options_.call_timeout.count() > 0) {
    deadline = std::chrono::system_clock::now() + options_.call_timeout;
  }
  if (ctx.deadline()) {
    auto d = std::chrono::system_clock::now() +
             std::chrono::duration_cast<std::chrono::system_clock::duration>(
                 *ctx.deadline() - Context::Clock::now());
    if (!deadline || d < *deadline) deadline = d;
  }
  if (deadline) call->set_deadline(*deadline);
  return Status::Ok();
}

#define GRID_CLIENT_UNARY(stub, method, request, Response, ctx) \
  do {                                                          \
    grpc::ClientContext call;                                   \
    GRID_RETURN_IF_ERROR(Prepare(&call, ctx));                  \
    Response resp;                                              \
    grpc::Status s = (stub)->method(&call, request, &resp);     \
    if (!s.ok()) return FromGrpc(s);                            \
    return resp;                                                \
  } while (0)

Result<etcdserverpb::RangeResponse> Client::Get(std::string_view key, const GetOptions& options,
                                                const Context& ctx) {
  GRID_CLIENT_UNARY(kv_, Range, MakeRangeRequest(key, options), etcdserverpb::RangeResponse,
                    ctx);
}

Result<etcdserverpb::PutResponse> Client::Put(std::string_view key, std::string_view value,
                                              const PutOptions& options, const Context& ctx) {
  GRID_CLIENT_UNARY(kv_, Put, MakePutRequest(key, value, options), etcdserverpb::PutResponse,
                    ctx);
}

Result<etcdserverpb::DeleteRangeResponse> Client::Delete(std::string_view key,
                                                         const DeleteOptions& options,
                                                         const Context& ctx) {
  GRID_CLIENT_UNARY(kv_, DeleteRange, MakeDeleteRequest(key, options),
                    etcdserverpb::DeleteRangeResponse, ctx);
}

Result<etcdserverpb::TxnResponse> Client::Txn(const etcdserverpb::TxnRequest& request,
                                              const Context& ctx) {
  GRID_CLIENT_UNARY(kv_, Txn, request, etcdserverpb::TxnResponse, ctx);
}

Result<etcdserverpb::CompactionResponse> Client::Compact(int64_t revision, bool physical,
                                                         const Context& ctx) {
  etcdserverpb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(physical);
  GRID_CLIENT_UNARY(kv_, Compact, req, etcdserverpb::CompactionResponse, ctx);
}

Result<etcdserverpb::LeaseGrantResponse> Client::Grant(int64_t ttl_seconds, int64_t id,
                                                       const Context& ctx) {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(ttl_seconds);
  req.set_id(id);
  GRID_CLIENT_UNARY(lease_, LeaseGrant, req, etcdserverpb::LeaseGrantResponse, ctx);
}

Result<etcdserverpb::LeaseRevokeResponse> Client::Revoke(int64_t id, const Context& ctx) {
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(id);
  GRID_CLIENT_UNARY(lease_, LeaseRevoke, req, etcdserverpb::LeaseRevokeResponse, ctx);
}

Result<etcdserverpb::LeaseTimeToLiveResponse> Client::TimeToLive(int64_t id, bool keys,
                                                                 const Context& ctx) {
  etcdserverpb::LeaseTimeToLiveRequest req;
  req.set_id(id);
  req.set_keys(keys);
  GRID_CLIENT_UNARY(lease_, LeaseTimeToLive, req, etcdserverpb::LeaseTimeToLiveResponse, ctx);
}

std::unique_ptr<LeaseKeepAlive> Client::KeepAlive(int64_t id, LeaseLostCallback on_lost) {
  return keeper_.Add(id, std::move(on_lost));
}

Result<std::unique_ptr<Watcher>> Client::Watch(std::string_view key, const WatchOptions& options,
                                               WatchCallback callback) {
  WatcherOptions wo;
  if (options_.call_timeout.count() > 0) wo.create_timeout = options_.call_timeout;
  wo.min_retry_backoff = options_.min_retry_backoff;
  wo.max_retry_backoff = options_.max_retry_backoff;
  return Watcher::Start(channel_, std::string(key), options, wo, std::move(callback));
}

Result<etcdserverpb::StatusResponse> Client::MemberStatus(const Context& ctx) {
  GRID_CLIENT_UNARY(maintenance_, Status, etcdserverpb::StatusRequest(),
                    etcdserverpb::StatusResponse, ctx);
}

Result<etcdserverpb::MemberListResponse> Client::MemberList(const Context& ctx) {
  GRID_CLIENT_UNARY(cluster_, MemberList, etcdserverpb::MemberListRequest(),
                    etcdserverpb::MemberListResponse, ctx);
}

#undef GRID_CLIENT_UNARY

}  // namespace grid::client
