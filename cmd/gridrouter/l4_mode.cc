#include "l4_mode.h"

#include <cstdio>

namespace grid::router::cmd {

int RunL4Mode(int, char**) {
  std::fprintf(stderr, "gridrouter l4: not available in this build\n");
  return 2;
}

}  // namespace grid::router::cmd
