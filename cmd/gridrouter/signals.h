// The signals both gridrouter modes take synchronously on the main thread (sigtimedwait):
// SIGHUP (reload), SIGTERM and SIGINT (drain). Blocked before any thread starts, so every
// thread inherits the mask; SIGPIPE is ignored (a peer closing is an error on the write).
#pragma once

#include <signal.h>

namespace grid::router::cmd {

inline sigset_t BlockControlSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

}  // namespace grid::router::cmd
