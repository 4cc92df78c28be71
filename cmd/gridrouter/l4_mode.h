// `gridrouter l4 ...`: the L4 (TCP) listener mode.
#pragma once

namespace grid::router::cmd {

// Runs the L4 mode with the arguments after "l4" (argv[0] is "l4"); returns the exit status.
int RunL4Mode(int argc, char** argv);

}  // namespace grid::router::cmd
