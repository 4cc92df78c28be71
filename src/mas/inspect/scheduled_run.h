// ScheduledRun: the tick a scheduled inspection runs for and the replica running it, as
// claimed in the job's last-run record (controller::JobLock) before the job starts. The
// inspection report carries both ("tick", "replica"); a run outside the ticks (RunNow) has
// none.
#pragma once

#include <cstdint>
#include <string>

namespace grid::mas::inspect {

struct ScheduledRun {
  int64_t tick = 0;
  std::string replica;
};

}  // namespace grid::mas::inspect
