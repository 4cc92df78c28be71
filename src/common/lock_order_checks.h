// Process-wide settings of the abseil locks gRPC uses.
#pragma once

namespace grid {

// Turns off abseil's lock-order (deadlock) detection for the whole process. Debian builds
// abseil without NDEBUG, so by default every absl::Mutex that gRPC locks records its
// acquired-before edges in one global graph, behind one global spin lock, and a cycle in that
// graph aborts the process. That bookkeeping took about 3% of the CPU of a gRPC server here.
// Call first thing in main(), before any gRPC object exists.
void DisableLockOrderChecks();

}  // namespace grid
