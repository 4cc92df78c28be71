#include "router/proxy/stats.h"

#include <nlohmann/json.hpp>

namespace grid::router::proxy {

void ProxyStats::CountStatus(int status) {
  if (status < 200) {
    Add(responses_1xx);
  } else if (status < 300) {
    Add(responses_2xx);
  } else if (status < 400) {
    Add(responses_3xx);
  } else if (status < 500) {
    Add(responses_4xx);
  } else {
    Add(responses_5xx);
  }
}

std::string StatsJson(std::span<const ProxyStats* const> stats) {
  nlohmann::ordered_json out;
#define GRID_SUM_COUNTER(name)                                          \
  {                                                                     \
    uint64_t sum = 0;                                                   \
    for (const ProxyStats* s : stats) sum += s->name.load(std::memory_order_relaxed); \
    out[#name] = sum;                                                   \
  }
  GRID_PROXY_COUNTERS(GRID_SUM_COUNTER)
#undef GRID_SUM_COUNTER
  return out.dump();
}

std::vector<std::pair<std::string_view, uint64_t>> SumStats(
    std::span<const ProxyStats* const> stats) {
  std::vector<std::pair<std::string_view, uint64_t>> out;
#define GRID_SUM_PAIR(name)                                                           \
  {                                                                                   \
    uint64_t sum = 0;                                                                 \
    for (const ProxyStats* s : stats) sum += s->name.load(std::memory_order_relaxed); \
    out.emplace_back(#name, sum);                                                     \
  }
  GRID_PROXY_COUNTERS(GRID_SUM_PAIR)
#undef GRID_SUM_PAIR
  return out;
}

}  // namespace grid::router::proxy
