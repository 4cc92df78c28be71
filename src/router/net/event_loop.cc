#include "router/net/event_loop.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "router/net/clock.h"

namespace grid::router::net {

// Drains the loop's eventfd; the posted tasks themselves run after the event batch.
class EventLoop::Wakeup : public IoHandler {
 public:
  explicit Wakeup(int fd) : fd_(fd) {}
  void OnIoEvent(uint32_t) override {
    uint64_t value;
    while (read(fd_, &value, sizeof value) == sizeof value) {
    }
  }

 private:
  int fd_;
};

EventLoop::EventLoop() : timers_(MonotonicMs()) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    init_status_ = ErrnoStatus("epoll_create1", errno);
    return;
  }
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    init_status_ = ErrnoStatus("eventfd", errno);
    return;
  }
  wakeup_ = std::make_unique<Wakeup>(event_fd_);
  init_status_ = AddReadOnly(event_fd_, wakeup_.get());
}

EventLoop::~EventLoop() {
  DestroyDeferred();
  if (event_fd_ >= 0) close(event_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

Status EventLoop::Add(int fd, IoHandler* handler) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return ErrnoStatus("epoll_ctl add", errno);
  return Status::Ok();
}

Status EventLoop::AddReadOnly(int fd, IoHandler* handler) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return ErrnoStatus("epoll_ctl add", errno);
  return Status::Ok();
}

void EventLoop::Remove(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::Run() {
  GRID_CHECK(init_status_.ok()) << init_status_.ToString();
  while (!stop_.load(std::memory_order_acquire)) RunOnce(-1);
}

void EventLoop::RunOnce(int max_wait_ms) {
  int64_t wait_ms = timers_.MillisUntilNext();
  if (max_wait_ms >= 0 && (wait_ms < 0 || wait_ms > max_wait_ms)) wait_ms = max_wait_ms;
  if (wait_ms > INT_MAX) wait_ms = INT_MAX;
  if (has_posted_.load(std::memory_order_acquire)) wait_ms = 0;
  const int n = Wait(static_cast<int>(wait_ms));
  timers_.Advance(MonotonicMs());
  for (int i = 0; i < n; ++i) {
    static_cast<IoHandler*>(events_[i].data.ptr)->OnIoEvent(events_[i].events);
  }
  timers_.Advance(MonotonicMs());
  RunPosted();
  DestroyDeferred();
}

int EventLoop::Wait(int timeout_ms) {
  if (timeout_ms == 0 || spin_.window_us() == 0) {
    return epoll_wait(epoll_fd_, events_, kMaxEventsPerWait, timeout_ms);
  }
  const uint64_t start_us = MonotonicUs();
  int n = 0;
  if (spin_.ShouldSpin()) {
    const uint64_t until_us = start_us + spin_.window_us();
    do {
      n = epoll_wait(epoll_fd_, events_, kMaxEventsPerWait, 0);
      if (n != 0) break;
      sched_yield();  // a runnable task on this CPU goes first
    } while (MonotonicUs() < until_us);
  }
  // The timers may fire up to one window late (they have 1 ms resolution).
  if (n == 0) n = epoll_wait(epoll_fd_, events_, kMaxEventsPerWait, timeout_ms);
  spin_.Record(n > 0 && MonotonicUs() - start_us <= spin_.window_us());
  return n;
}

void EventLoop::DestroyDeferred() {
  // A destructor may defer more objects: destroy in rounds.
  while (!deferred_.empty()) {
    std::vector<std::unique_ptr<Deferred>> batch;
    batch.swap(deferred_);
    batch.clear();
  }
}

void EventLoop::Stop() {
  stop_.store(true, std::memory_order_release);
  Post([] {});
}

void EventLoop::Post(std::function<void()> task) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    // Only the task that finds the queue empty wakes the loop: the loop takes the whole queue
    // at once, after the wake-up of its first task.
    wake = posted_.empty();
    posted_.push_back(std::move(task));
    has_posted_.store(true, std::memory_order_release);
  }
  if (!wake) return;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = write(event_fd_, &one, sizeof one);
}

void EventLoop::RunPosted() {
  if (!has_posted_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    running_.swap(posted_);
    has_posted_.store(false, std::memory_order_release);
  }
  for (auto& task : running_) task();
  running_.clear();
}

void EventLoop::DeleteLater(std::unique_ptr<Deferred> object) {
  deferred_.push_back(std::move(object));
}

}  // namespace grid::router::net
