#include "client/context.h"

namespace grid::client {

Context Context::WithStop(std::stop_token stop) const {
  Context c = *this;
  c.stop_ = std::move(stop);
  return c;
}

Context Context::WithDeadline(Clock::time_point deadline) const {
  Context c = *this;
  if (!c.deadline_ || deadline < *c.deadline_) c.deadline_ = deadline;
  return c;
}

Context Context::WithCancelPredicate(std::function<bool()> cancelled) const {
  Context c = *this;
  if (c.cancelled_) {
    c.cancelled_ = [a = c.cancelled_, b = std::move(cancelled)] { return a() || b(); };
  } else {
    c.cancelled_ = std::move(cancelled);
  }
  return c;
}

bool Context::Done() const { return !Err().ok(); }

Status Context::Err() const {
  if (stop_.stop_requested() || (cancelled_ && cancelled_())) {
    return Status(Code::kCancelled, kContextCanceledMessage);
  }
  if (deadline_ && Clock::now() >= *deadline_) {
    return Status(Code::kDeadlineExceeded, kContextDeadlineMessage);
  }
  return Status::Ok();
}

}  // namespace grid::client
