#include "transport/peer_calls.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/async_unary_call.h>
#include <grpcpp/support/channel_arguments.h>

#include "common/grpc_status.h"
#include "transport/metadata.h"

namespace grid::transport {
namespace {

// Lease requests are a few bytes.
constexpr int kMaxLeaseRequestBytes = 4096;

}  // namespace

CallCompletions::CallCompletions() {
  thread_ = std::thread([this] {
    void* tag = nullptr;
    bool ok = false;
    // A unary call's Finish always completes (ok is true); the status tells the outcome.
    while (cq_.Next(&tag, &ok)) static_cast<Tag*>(tag)->Complete();
  });
}

CallCompletions::~CallCompletions() { Shutdown(); }

void CallCompletions::Shutdown() {
  if (!thread_.joinable()) return;
  cq_.Shutdown();
  thread_.join();
}

// One call in flight: owned by PeerCalls::in_flight_ (so that Stop() can cancel it) until its
// completion ran.
struct PeerCalls::PendingCall : CallCompletions::Tag {
  PeerCalls* owner = nullptr;
  grpc::ClientContext ctx;
  std::shared_ptr<peerpb::Peer::Stub> stub;
  uint64_t generation = 0;
  grpc::Status status;
};

template <typename Request, typename Response, typename T>
struct PeerCalls::TypedCall final : PeerCalls::PendingCall {
  Request request;
  Response response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
  std::function<Result<T>(Response&)> convert;
  std::function<void(Result<T>)> done;

  void Complete() override {
    owner->DropChannelIfUnreachable(*this);  // before `done`: a retry from it dials afresh
    auto d = std::move(done);
    if (status.ok()) {
      d(convert(response));
    } else if (status.error_code() == grpc::StatusCode::CANCELLED) {
      // Stop() or the peer's shutdown: worth trying again (elsewhere).
      d(Unavailable("lease call to peer " + IdHex(owner->peer_) + " cancelled"));
    } else {
      d(FromGrpc(status));
    }
    // After `done`: Stop() returns only once every `done` ran.
    owner->End(this);
  }
};

PeerCalls::PeerCalls(const TransportOptions* options, const PeerCredentials* creds,
                     CallCompletions* completions, raft::MemberId peer, std::vector<PeerUrl> urls)
    : options_(options),
      creds_(creds),
      completions_(completions),
      peer_(peer),
      urls_(std::move(urls)) {
  GRID_CHECK(!urls_.empty()) << "peer without URLs";
}

PeerCalls::~PeerCalls() { Stop(); }

void PeerCalls::UpdateUrls(std::vector<PeerUrl> urls) {
  GRID_CHECK(!urls.empty()) << "peer without URLs";
  std::lock_guard l(mu_);
  urls_ = std::move(urls);
  url_index_ = 0;
  target_.reset();
}

void PeerCalls::Stop() {
  std::vector<std::shared_ptr<PendingCall>> calls;
  {
    std::lock_guard l(mu_);
    stopping_ = true;
    target_.reset();
    for (const auto& [ptr, call] : in_flight_) calls.push_back(call);
  }
  for (const auto& call : calls) call->ctx.TryCancel();
  calls.clear();
  std::unique_lock l(mu_);
  idle_cv_.wait(l, [&] { return in_flight_.empty(); });
}

bool PeerCalls::Begin(const std::shared_ptr<PendingCall>& call, std::chrono::milliseconds timeout) {
  std::lock_guard l(mu_);
  if (stopping_) return false;
  call->owner = this;
  call->ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  AddCallHeader(CallHeader{options_->cluster_id, options_->member_id, peer_}, &call->ctx);
  if (!target_) {
    const PeerUrl& url = urls_[url_index_ % urls_.size()];
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, kMaxLeaseRequestBytes);
    args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                static_cast<int>(options_->max_lease_response_bytes));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_->keepalive_interval.count()));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                static_cast<int>(options_->keepalive_timeout.count()));
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    Target t;
    t.stub = peerpb::Peer::NewStub(
        grpc::CreateCustomChannel(url.target(), creds_->Channel(url.tls), args));
    t.generation = next_generation_++;
    target_ = std::move(t);
  }
  call->stub = target_->stub;
  call->generation = target_->generation;
  in_flight_.emplace(call.get(), call);
  return true;
}

void PeerCalls::DropChannelIfUnreachable(const PendingCall& call) {
  const grpc::StatusCode code = call.status.error_code();
  if (code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::DEADLINE_EXCEEDED) {
    return;
  }
  std::lock_guard l(mu_);
  if (target_ && target_->generation == call.generation) {
    target_.reset();  // the next call dials afresh, at the peer's next URL
    ++url_index_;
  }
}

void PeerCalls::End(PendingCall* call) {
  std::lock_guard l(mu_);
  in_flight_.erase(call);  // frees `call` unless Stop() holds it for a moment
  if (in_flight_.empty()) idle_cv_.notify_all();
}

template <typename Call, typename Start>
void PeerCalls::Run(std::shared_ptr<Call> call, std::chrono::milliseconds timeout, Start start) {
  if (!Begin(call, timeout)) {
    auto done = std::move(call->done);
    call.reset();
    done(Unavailable("transport stopped"));
    return;
  }
  // in_flight_ owns the call; it cannot complete before Finish below names its tag.
  Call* raw = call.get();
  call.reset();
  raw->reader = start(raw, completions_->cq());
  raw->reader->StartCall();
  raw->reader->Finish(&raw->response, &raw->status, static_cast<CallCompletions::Tag*>(raw));
}

void PeerCalls::RenewLease(int64_t id, std::chrono::milliseconds timeout,
                           std::function<void(Result<int64_t>)> done) {
  using Call = TypedCall<peerpb::LeaseRenewRequest, peerpb::LeaseRenewResponse, int64_t>;
  auto call = std::make_shared<Call>();
  call->request.set_id(id);
  call->convert = [](peerpb::LeaseRenewResponse& r) -> Result<int64_t> { return r.ttl(); };
  call->done = std::move(done);
  Run(std::move(call), timeout, [](Call* c, grpc::CompletionQueue* cq) {
    return c->stub->PrepareAsyncLeaseRenew(&c->ctx, c->request, cq);
  });
}

void PeerCalls::LeaseTimeToLive(int64_t id, bool keys, std::chrono::milliseconds timeout,
                                std::function<void(Result<LeaseTtl>)> done) {
  using Call =
      TypedCall<peerpb::LeaseTimeToLiveRequest, peerpb::LeaseTimeToLiveResponse, LeaseTtl>;
  auto call = std::make_shared<Call>();
  call->request.set_id(id);
  call->request.set_keys(keys);
  call->convert = [](peerpb::LeaseTimeToLiveResponse& r) -> Result<LeaseTtl> {
    LeaseTtl out;
    out.remaining_ttl_seconds = r.ttl();
    out.granted_ttl_seconds = r.granted_ttl();
    out.keys.reserve(static_cast<size_t>(r.keys_size()));
    for (std::string& k : *r.mutable_keys()) out.keys.push_back(std::move(k));
    return out;
  };
  call->done = std::move(done);
  Run(std::move(call), timeout, [](Call* c, grpc::CompletionQueue* cq) {
    return c->stub->PrepareAsyncLeaseTimeToLive(&c->ctx, c->request, cq);
  });
}

void PeerCalls::PromoteCheck(uint64_t member, std::chrono::milliseconds timeout,
                             std::function<void(Status)> done) {
  using Call = TypedCall<peerpb::PromoteCheckRequest, peerpb::PromoteCheckResponse, bool>;
  auto call = std::make_shared<Call>();
  call->request.set_member_id(member);
  call->convert = [](peerpb::PromoteCheckResponse&) -> Result<bool> { return true; };
  call->done = [done = std::move(done)](Result<bool> r) { done(r.status()); };
  Run(std::move(call), timeout, [](Call* c, grpc::CompletionQueue* cq) {
    return c->stub->PrepareAsyncPromoteCheck(&c->ctx, c->request, cq);
  });
}

}  // namespace grid::transport
