// h2_floor: the same etcd v3 KV endpoint as grpc_floor (stores nothing, answers Put, Range,
// Txn and DeleteRange at once with responses of a store's size), served without the gRPC
// library by src/h2's UnaryServer (nghttp2 on one epoll loop per thread). It tells what a
// client-facing server of the project's own could reach on this machine, against
// grpc_floor's ceiling for any server built on gRPC.
//
//   --answer inline    the loop answers a request as soon as it has read it.
//   --answer handoff   the loop posts each call to a WorkerPool of one thread, which answers
//                      it (the server writes the answer from the connection's loop): the two
//                      hand-offs a store's write would make (to the thread that waits for the
//                      log sync, and back).
//
// What it speaks is UnaryServer's: unary calls over cleartext HTTP/2, uncompressed
// messages; any other method is answered UNIMPLEMENTED. Benchmark only; no test uses it.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <CLI/CLI.hpp>

#include "common/worker_pool.h"
#include "floor_common.h"
#include "h2/unary_server.h"

namespace {

using grid::WorkerPool;
using grid::h2::GrpcCode;
using grid::h2::Responder;
using grid::h2::UnaryCall;

// --answer handoff: one thread, as grpc_floor's handoff and gridkv's responder pool; a call it
// cannot queue is answered on the loop.
constexpr size_t kAnsweringThreads = 1;
constexpr size_t kMaxQueuedAnswers = 100000;

// Shared by every loop: the revision counter and the value a Range returns.
struct FloorState {
  std::atomic<int64_t> revision{1};
  std::string value;
  int64_t NextRevision() { return revision.fetch_add(1, std::memory_order_relaxed) + 1; }
};

// A handler that parses a `Request`, lets `fill` build the `Response` and answers it, on the
// loop or (with `answering`) on the answering thread.
template <typename Request, typename Response, typename Fill>
grid::h2::UnaryHandler Handler(WorkerPool* answering, Fill fill) {
  return [answering, fill](UnaryCall call, Responder responder) {
    auto answer = [fill](const std::string_view message, Responder* r) {
      Request req;
      if (!req.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
        r->Fail(GrpcCode::kInvalidArgument, "grpc: error unmarshalling request");
        return;
      }
      Response resp;
      fill(req, &resp);
      r->Finish(grid::h2::FrameMessage(resp));
    };
    if (answering == nullptr) {
      answer(call.message(), &responder);
      return;
    }
    auto shared = std::make_shared<std::pair<UnaryCall, Responder>>(std::move(call),
                                                                    std::move(responder));
    if (!answering->Post([shared, answer] { answer(shared->first.message(), &shared->second); })) {
      answer(shared->first.message(), &shared->second);
    }
  };
}

grid::h2::MethodTable FloorMethods(FloorState* state, WorkerPool* answering) {
  grid::h2::MethodTable methods;
  methods["/etcdserverpb.KV/Put"] =
      Handler<etcdserverpb::PutRequest, etcdserverpb::PutResponse>(
          answering, [state](const auto&, auto* resp) {
            grid::bench::FillFloorHeader(resp->mutable_header(), state->NextRevision());
          });
  methods["/etcdserverpb.KV/Range"] =
      Handler<etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(
          answering, [state](const auto& req, auto* resp) {
            grid::bench::FillFloorRange(req, state->revision.load(std::memory_order_relaxed),
                                        state->value, resp);
          });
  methods["/etcdserverpb.KV/DeleteRange"] =
      Handler<etcdserverpb::DeleteRangeRequest, etcdserverpb::DeleteRangeResponse>(
          answering, [state](const auto&, auto* resp) {
            grid::bench::FillFloorHeader(resp->mutable_header(), state->NextRevision());
          });
  methods["/etcdserverpb.KV/Txn"] =
      Handler<etcdserverpb::TxnRequest, etcdserverpb::TxnResponse>(
          answering, [state](const auto& req, auto* resp) {
            grid::bench::FillFloorTxn(req, state->NextRevision(), resp);
          });
  return methods;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"h2_floor: an etcd KV endpoint on nghttp2 that stores nothing (benchmark)"};
  std::string listen = "http://127.0.0.1:2379";
  size_t value_bytes = 256;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::string answer = "inline";
  app.add_option("--listen-client-urls", listen, "where to serve (http only)");
  app.add_option("--value-bytes", value_bytes, "size of the value a Range returns")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--threads", threads, "event loops (default: one per CPU)")
      ->check(CLI::Range(1, 64));
  app.add_option("--answer", answer, "inline or handoff")
      ->check(CLI::IsMember({"inline", "handoff"}));
  CLI11_PARSE(app, argc, argv);

  // SIGTERM and SIGINT are blocked in every thread and taken by sigwait below.
  sigset_t stop_signals = grid::bench::BlockStopSignals();
  signal(SIGPIPE, SIG_IGN);
  std::optional<grid::transport::PeerUrl> url =
      grid::bench::ParseFloorListenUrl("h2_floor", listen);
  if (!url) return 2;
  grid::Result<grid::router::net::SocketAddress> address =
      grid::router::net::ParseSocketAddress(url->target());
  if (!address.ok()) {
    std::cerr << "h2_floor: " << address.status().ToString() << "\n";
    return 2;
  }

  FloorState state;
  state.value.assign(value_bytes, 'v');
  std::unique_ptr<WorkerPool> answering;
  if (answer == "handoff") {
    answering = std::make_unique<WorkerPool>(kAnsweringThreads, kMaxQueuedAnswers);
  }
  grid::h2::ServerOptions options;
  options.threads = threads;
  grid::Result<std::unique_ptr<grid::h2::UnaryServer>> server =
      grid::h2::UnaryServer::Start(options, FloorMethods(&state, answering.get()));
  if (!server.ok()) {
    std::cerr << "h2_floor: " << server.status().ToString() << "\n";
    return 1;
  }
  grid::Result<uint16_t> port = (*server)->Listen(*address);
  if (!port.ok()) {
    std::cerr << "h2_floor: cannot listen on " << listen << ": " << port.status().ToString()
              << "\n";
    return 1;
  }
  std::cout << "h2_floor: serving on port " << *port << " (" << threads << " threads, answer "
            << answer << ")" << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  answering.reset();  // joins its thread first: its last answers go to loops that still run
  (*server)->Stop();
  return 0;
}
