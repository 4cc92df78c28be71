// The gRPC kind of MessageStream (https peers): the Stream call of peer.proto.
#include <atomic>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "common/grpc_status.h"
#include "grid/peer.grpc.pb.h"
#include "transport/message_stream.h"

namespace grid::transport {
namespace {

// Slice of a dial wait between checks for a stop.
constexpr std::chrono::milliseconds kDialPollInterval{50};

class GrpcMessageStream final : public MessageStream {
 public:
  GrpcMessageStream(const PeerUrl& url, const CallHeader& header, const TransportOptions* options,
                    const PeerCredentials* creds)
      : url_(url), options_(options), creds_(creds) {
    AddCallHeader(header, &ctx_);
  }

  Status Open() override {
    GRID_ASSIGN_OR_RETURN(channel_, DialPeerChannel(url_, *options_, *creds_, [this] {
                            return cancelled_.load();
                          }));
    stub_ = peerpb::Peer::NewStub(channel_);
    rw_ = stub_->Stream(&ctx_);
    peerpb::StreamAccepted accepted;
    if (rw_->Read(&accepted)) return Status::Ok();
    grpc::Status st = rw_->Finish();
    finished_ = true;
    if (st.ok()) return Unavailable("peer at " + url_.original + " ended the stream");
    return FromGrpc(st).WithContext("stream to " + url_.original);
  }

  ~GrpcMessageStream() override {
    if (rw_ && !finished_) {
      ctx_.TryCancel();
      (void)rw_->Finish();
    }
  }

  bool Write(const peerpb::MessageBatch& batch) override { return rw_->Write(batch); }

  void WaitForEnd() override {
    peerpb::StreamAccepted ignored;
    while (rw_->Read(&ignored)) {
    }
  }

  void Cancel() override {
    cancelled_ = true;
    ctx_.TryCancel();
  }

  Status Finish() override {
    finished_ = true;
    return FromGrpc(rw_->Finish());
  }

 private:
  const PeerUrl url_;
  const TransportOptions* const options_;
  const PeerCredentials* const creds_;
  std::atomic<bool> cancelled_{false};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<peerpb::Peer::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<peerpb::MessageBatch, peerpb::StreamAccepted>> rw_;
  bool finished_ = false;
};

}  // namespace

Result<std::shared_ptr<grpc::Channel>> DialPeerChannel(const PeerUrl& url,
                                                       const TransportOptions& options,
                                                       const PeerCredentials& creds,
                                                       const StopCheck& stopping) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
              static_cast<int>(options.max_message_bytes + options.snapshot_chunk_bytes));
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 4096);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options.keepalive_interval.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(url.target(), creds.Channel(url.tls), args);

  auto deadline = std::chrono::system_clock::now() + options.dial_timeout;
  grpc_connectivity_state state = channel->GetState(true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      return Unavailable("cannot connect to " + url.original);
    }
    if (stopping()) return Unavailable("transport stopping");
    auto now = std::chrono::system_clock::now();
    if (now >= deadline) return Unavailable("timed out connecting to " + url.original);
    channel->WaitForStateChange(state, std::min(deadline, now + kDialPollInterval));
    state = channel->GetState(true);
  }
  return channel;
}

std::unique_ptr<MessageStream> NewGrpcMessageStream(const PeerUrl& url, const CallHeader& header,
                                                    const TransportOptions* options,
                                                    const PeerCredentials* creds) {
  return std::make_unique<GrpcMessageStream>(url, header, options, creds);
}

std::unique_ptr<MessageStream> NewMessageStream(const PeerUrl& url, const CallHeader& header,
                                                const TransportOptions* options,
                                                const PeerCredentials* creds) {
  if (url.tls) return NewGrpcMessageStream(url, header, options, creds);
  return NewSocketMessageStream(url, header, options);
}

}  // namespace grid::transport
