#include "client/watcher.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include <grpcpp/client_context.h>

#include "client/ops.h"
#include "client/status_util.h"
#include "etcd/rpc.grpc.pb.h"

namespace grid::client {

inline constexpr char kCompactedMessage[] =
    "etcdserver: mvcc: required revision has been compacted";

struct Watcher::State {
  std::unique_ptr<etcdserverpb::Watch::Stub> stub;
  std::string key;
  WatchOptions options;
  WatcherOptions watcher_options;
  WatchCallback callback;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;                   // guarded by mu
  bool created = false;                    // guarded by mu: first confirmation seen
  bool ended = false;                      // guarded by mu
  int64_t next_revision = 0;               // guarded by mu
  grpc::ClientContext* live_call = nullptr;  // guarded by mu
  std::mutex join_mu;  // serialises Cancel() callers around `thread`
  std::thread thread;
  std::thread::id thread_id;  // set before Start() returns

  void Run();
  // Runs one stream until it breaks. Returns true when the watcher has ended.
  bool RunStream();
  void Deliver(WatchUpdate update);
  void End();
};

void Watcher::State::Deliver(WatchUpdate update) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return;
  }
  callback(std::move(update));
}

void Watcher::State::End() {
  std::lock_guard<std::mutex> lock(mu);
  ended = true;
  cv.notify_all();
}

bool Watcher::State::RunStream() {
  grpc::ClientContext ctx;
  int64_t start_revision;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return true;
    live_call = &ctx;
    start_revision = next_revision;
  }
  auto stream = stub->Watch(&ctx);

  etcdserverpb::WatchRequest req;
  auto* create = req.mutable_create_request();
  GetOptions range;
  range.range_end = options.range_end;
  range.prefix = options.prefix;
  range.from_key = options.from_key;
  auto rr = MakeRangeRequest(key, range);
  create->set_key(rr.key());
  create->set_range_end(rr.range_end());
  create->set_start_revision(start_revision);
  create->set_prev_kv(options.prev_kv);
  create->set_progress_notify(options.progress_notify);
  if (options.no_put) create->add_filters(etcdserverpb::WatchCreateRequest::NOPUT);
  if (options.no_delete) create->add_filters(etcdserverpb::WatchCreateRequest::NODELETE);

  bool ended_now = false;
  if (stream->Write(req)) {
    etcdserverpb::WatchResponse resp;
    while (!ended_now && stream->Read(&resp)) {
      const int64_t header_rev = resp.header().revision();
      if (resp.created()) {
        std::lock_guard<std::mutex> lock(mu);
        if (next_revision == 0) next_revision = header_rev + 1;
        created = true;
        cv.notify_all();
      }
      if (resp.canceled() || resp.compact_revision() > 0) {
        WatchUpdate update;
        update.header_revision = header_rev;
        update.compact_revision = resp.compact_revision();
        if (resp.compact_revision() > 0) {
          update.status = OutOfRange(kCompactedMessage);
        } else {
          update.status = FailedPrecondition(resp.cancel_reason().empty()
                                                 ? "watch canceled by the server"
                                                 : resp.cancel_reason());
        }
        Deliver(std::move(update));
        ended_now = true;
        break;
      }
      if (resp.events_size() > 0) {
        WatchUpdate update;
        update.header_revision = header_rev;
        update.events.reserve(resp.events_size());
        for (auto& ev : *resp.mutable_events()) update.events.push_back(std::move(ev));
        {
          std::lock_guard<std::mutex> lock(mu);
          next_revision = update.events.back().kv().mod_revision() + 1;
        }
        Deliver(std::move(update));
      } else if (!resp.created()) {
        // Progress notification: every event up to header_rev has been delivered.
        {
          std::lock_guard<std::mutex> lock(mu);
          next_revision = std::max(next_revision, header_rev + 1);
        }
        if (options.progress_notify) {
          WatchUpdate update;
          update.header_revision = header_rev;
          Deliver(std::move(update));
        }
      }
    }
  }
  ctx.TryCancel();
  grpc::Status finish = stream->Finish();
  {
    std::lock_guard<std::mutex> lock(mu);
    live_call = nullptr;
    if (stopping) return true;
  }
  if (ended_now) return true;
  switch (finish.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::FAILED_PRECONDITION: {
      WatchUpdate update;
      update.status = FromGrpc(finish);
      Deliver(std::move(update));
      return true;
    }
    default:
      return false;  // transient: reconnect
  }
}

void Watcher::State::Run() {
  auto backoff = watcher_options.min_retry_backoff;
  while (true) {
    const auto started = std::chrono::steady_clock::now();
    if (RunStream()) break;
    // A stream that lived long enough was healthy: start the backoff over.
    if (std::chrono::steady_clock::now() - started > watcher_options.max_retry_backoff) {
      backoff = watcher_options.min_retry_backoff;
    }
    std::unique_lock<std::mutex> lock(mu);
    if (cv.wait_for(lock, backoff, [this] { return stopping; })) break;
    backoff = std::min(backoff * 2, watcher_options.max_retry_backoff);
  }
  End();
}

Watcher::Watcher(std::shared_ptr<State> state) : state_(std::move(state)) {}

Result<std::unique_ptr<Watcher>> Watcher::Start(std::shared_ptr<grpc::Channel> channel,
                                                std::string key, WatchOptions options,
                                                WatcherOptions watcher_options,
                                                WatchCallback callback) {
  GRID_CHECK(callback) << "Watcher needs a callback";
  if (options.start_revision < 0) return InvalidArgument("negative watch start revision");
  auto state = std::make_shared<State>();
  state->stub = etcdserverpb::Watch::NewStub(channel);
  state->key = std::move(key);
  state->next_revision = options.start_revision;
  state->options = std::move(options);
  state->watcher_options = watcher_options;
  state->callback = std::move(callback);
  {
    std::lock_guard<std::mutex> join_lock(state->join_mu);
    state->thread = std::thread([state] { state->Run(); });
    state->thread_id = state->thread.get_id();
  }
  std::unique_ptr<Watcher> watcher(new Watcher(state));

  std::unique_lock<std::mutex> lock(state->mu);
  if (!state->cv.wait_for(lock, watcher_options.create_timeout,
                          [&] { return state->created || state->ended; })) {
    lock.unlock();
    watcher->Cancel();
    return Unavailable("watch stream was not established within the create timeout");
  }
  return watcher;
}

Watcher::~Watcher() { Cancel(); }

void Watcher::Cancel() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
    if (state_->live_call != nullptr) state_->live_call->TryCancel();
    state_->cv.notify_all();
  }
  std::lock_guard<std::mutex> join_lock(state_->join_mu);
  if (!state_->thread.joinable()) return;
  if (std::this_thread::get_id() == state_->thread_id) {
    state_->thread.detach();  // called from the callback; the thread holds `state_` alive
  } else {
    state_->thread.join();
  }
}

bool Watcher::ended() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->ended;
}

int64_t Watcher::next_revision() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->next_revision;
}

}  // namespace grid::client
