// Process-wide settings of the abseil locks gRPC uses.
#pragma once

namespace grid {

// Turns off abseil's lock-order (deadlock) detection for the whole process. Debian builds
// abseil without NDEBUG, so by default every absl::Mutex that gRPC locks records its
// acquired-before edges in one global graph, behind one global spin lock, and a cycle in that
// graph aborts the process, also for an inversion that cannot deadlock. Call before the first
// gRPC object exists; calling it again is harmless.
void DisableLockOrderChecks();

}  // namespace grid
