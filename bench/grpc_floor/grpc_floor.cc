// grpc_floor: an etcd v3 KV endpoint that stores nothing. It answers Put, Range, Txn and
// DeleteRange at once with responses of the size a real store sends, so etcd's `benchmark`
// tool measures what gRPC and the kernel alone cost on this machine: the ceiling of any
// gRPC server here, gridkv and etcd included.
//
//   --answer inline    the handler answers on the gRPC thread that read the request.
//   --answer handoff   the handler posts the call's answer to a WorkerPool of one thread
//                      (gridkv's responder pool). A store must answer this way: the answer
//                      waits for a log sync that no gRPC thread may block on.
//
// Not a store: values are not kept, a Range returns one key (the one asked for) with a
// `--value-bytes` value, Txn runs its success branch. Benchmark only; no test uses it.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "common/lock_order_checks.h"
#include "common/worker_pool.h"
#include "floor_common.h"
#include "etcd/rpc.grpc.pb.h"

namespace {

using grid::WorkerPool;

// gridkv answers from a pool of this many threads (kv/server/kv_server.cc, kResponderThreads).
constexpr size_t kAnsweringThreads = 1;
// A call the answering thread cannot queue is answered on the gRPC thread (as gridkv does).
constexpr size_t kMaxQueuedAnswers = 100000;

class FloorKv final : public etcdserverpb::KV::CallbackService {
 public:
  FloorKv(WorkerPool* answering, size_t value_bytes)
      : answering_(answering), value_(value_bytes, 'v') {}

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* ctx,
                                  const etcdserverpb::RangeRequest* req,
                                  etcdserverpb::RangeResponse* resp) override {
    grid::bench::FillFloorRange(*req, revision_.load(std::memory_order_relaxed), value_, resp);
    return Answer(ctx);
  }

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* ctx,
                                const etcdserverpb::PutRequest*,
                                etcdserverpb::PutResponse* resp) override {
    grid::bench::FillFloorHeader(resp->mutable_header(), NextRevision());
    return Answer(ctx);
  }

  grpc::ServerUnaryReactor* DeleteRange(grpc::CallbackServerContext* ctx,
                                        const etcdserverpb::DeleteRangeRequest*,
                                        etcdserverpb::DeleteRangeResponse* resp) override {
    grid::bench::FillFloorHeader(resp->mutable_header(), NextRevision());
    return Answer(ctx);
  }

  grpc::ServerUnaryReactor* Txn(grpc::CallbackServerContext* ctx,
                                const etcdserverpb::TxnRequest* req,
                                etcdserverpb::TxnResponse* resp) override {
    grid::bench::FillFloorTxn(*req, NextRevision(), resp);
    return Answer(ctx);
  }

 private:
  int64_t NextRevision() { return revision_.fetch_add(1, std::memory_order_relaxed) + 1; }

  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (answering_ == nullptr ||
        !answering_->Post([reactor] { reactor->Finish(grpc::Status::OK); })) {
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  WorkerPool* answering_;
  const std::string value_;
  std::atomic<int64_t> revision_{1};
};

}  // namespace

int main(int argc, char** argv) {
  grid::DisableLockOrderChecks();  // as gridkv does
  CLI::App app{"grpc_floor: an etcd KV endpoint that stores nothing (benchmark ceiling)"};
  std::string listen = "http://127.0.0.1:2379";
  std::string answer = "inline";
  size_t value_bytes = 256;
  app.add_option("--listen-client-urls", listen, "where to serve (http only)");
  app.add_option("--answer", answer, "inline or handoff")
      ->check(CLI::IsMember({"inline", "handoff"}));
  app.add_option("--value-bytes", value_bytes, "size of the value a Range returns")
      ->check(CLI::Range(0, 1 << 20));
  CLI11_PARSE(app, argc, argv);

  // SIGTERM and SIGINT are blocked in every thread and taken by sigwait below.
  sigset_t stop_signals = grid::bench::BlockStopSignals();
  std::optional<grid::transport::PeerUrl> url =
      grid::bench::ParseFloorListenUrl("grpc_floor", listen);
  if (!url) return 2;

  std::unique_ptr<WorkerPool> answering;
  if (answer == "handoff") {
    answering = std::make_unique<WorkerPool>(kAnsweringThreads, kMaxQueuedAnswers);
  }
  FloorKv kv(answering.get(), value_bytes);

  int bound_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(url->target(), grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&kv);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    std::cerr << "grpc_floor: cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << "grpc_floor: serving on port " << bound_port << " (answer " << answer << ")"
            << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->Shutdown();
  return 0;
}
