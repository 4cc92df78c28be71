#include "admin_routes.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

namespace grid::router::cmd {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;

// Cells of a table sorted by name (stable output).
std::vector<const table::CellRoute*> SortedCells(const table::RouteTable& t) {
  std::vector<const table::CellRoute*> cells;
  for (const auto& [name, cell] : t.parts().cells) cells.push_back(cell.get());
  std::sort(cells.begin(), cells.end(),
            [](const auto* a, const auto* b) { return a->name() < b->name(); });
  return cells;
}

int64_t RemainingMs(TimePoint until, TimePoint now) {
  if (until <= now) return 0;
  return std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
}

// A label value: backslash, double quote and line feed escaped (exposition format 0.0.4).
std::string LabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

uint64_t Find(const std::vector<std::pair<std::string_view, uint64_t>>& sums,
              std::string_view name) {
  for (const auto& [n, v] : sums) {
    if (n == name) return v;
  }
  return 0;
}

void Family(std::string* out, std::string_view name, std::string_view type,
            std::string_view help) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string CellsJson(const proxy::ServingState& state, TimePoint now) {
  nlohmann::ordered_json doc;
  doc["revision"] = state.table->revision();
  nlohmann::ordered_json cells = nlohmann::ordered_json::array();
  for (const table::CellRoute* cell : SortedCells(*state.table)) {
    const protect::ConcurrencyLimit* limit = state.limits->Find(*cell);
    const table::CellConfig& config = cell->config();
    nlohmann::ordered_json c;
    c["name"] = cell->name();
    c["health_check"] = config.health_check.type == table::HealthCheckType::kNone   ? "none"
                        : config.health_check.type == table::HealthCheckType::kTcp ? "tcp"
                                                                                   : "http";
    c["outlier_detection"] = config.outlier.enabled;
    c["connections"] = limit ? limit->cell_connections() : 0;
    c["pending_requests"] = limit ? limit->cell_pending() : 0;
    c["limits"] = {{"max_connections", config.caps.max_connections},
                   {"max_pending_requests", config.caps.max_pending_requests},
                   {"max_connections_per_backend", config.caps.max_connections_per_backend},
                   {"max_pending_requests_per_backend",
                    config.caps.max_pending_requests_per_backend}};
    nlohmann::ordered_json groups = nlohmann::ordered_json::array();
    for (size_t g = 0; g < cell->group_count(); ++g) {
      const table::BackendGroup& group = cell->group(g);
      const health::GroupHealth* gh = state.health->Find(group);
      nlohmann::ordered_json gj;
      gj["name"] = group.name();
      gj["weight_percent"] = group.weight_percent();
      nlohmann::ordered_json backends = nlohmann::ordered_json::array();
      for (size_t i = 0; i < group.backends().size(); ++i) {
        const balance::BackendSpec& spec = group.backends()[i];
        nlohmann::ordered_json b;
        b["address"] = spec.address;
        b["weight"] = spec.weight;
        if (gh != nullptr) {
          const health::HealthTable& t = gh->table();
          const health::OutlierDetector::History h = gh->outlier().history(i);
          b["available"] = t.Available(i, now);
          b["active_healthy"] = t.ActiveHealthy(i);
          b["ejected"] = t.Ejected(i, now);
          b["ejected_remaining_ms"] = RemainingMs(t.EjectedUntil(i), now);
          b["times_ejected"] = h.times_ejected;
        }
        b["connections"] = limit ? limit->connections(g, i) : 0;
        b["pending_requests"] = limit ? limit->pending(g, i) : 0;
        backends.push_back(std::move(b));
      }
      gj["backends"] = std::move(backends);
      groups.push_back(std::move(gj));
    }
    c["groups"] = std::move(groups);
    cells.push_back(std::move(c));
  }
  doc["cells"] = std::move(cells);
  return doc.dump();
}

std::string MetricsText(const AdminSources& s, TimePoint now) {
  std::string out;
  auto it = std::back_inserter(out);
  const auto sums = s.server->StatsSums();

  Family(&out, "gridrouter_responses_total", "counter", "Responses to clients by status class.");
  for (const char* cls : {"1xx", "2xx", "3xx", "4xx", "5xx"}) {
    fmt::format_to(it, "gridrouter_responses_total{{class=\"{}\"}} {}\n", cls,
                   Find(sums, std::string("responses_") + cls));
  }
  struct Counter {
    const char* metric;
    const char* stat;
    const char* help;
  };
  static constexpr Counter kCounters[] = {
      {"gridrouter_requests_total", "requests", "Client requests (heads parsed)."},
      {"gridrouter_connections_accepted_total", "connections_accepted", "Client connections accepted."},
      {"gridrouter_upstream_connects_total", "upstream_connects", "New upstream connections started."},
      {"gridrouter_upstream_connect_failures_total", "upstream_connect_failures",
       "Upstream connects refused or timed out."},
      {"gridrouter_upstream_reuses_total", "upstream_reuses", "Requests sent on a pooled connection."},
      {"gridrouter_upstream_timeouts_total", "upstream_timeouts", "Upstream response timeouts (504)."},
      {"gridrouter_upstream_5xx_total", "upstream_5xx", "Upstream responses with a 5xx status."},
      {"gridrouter_retries_total", "retries", "Upstream attempts retried."},
      {"gridrouter_retries_refused_total", "retries_refused",
       "Failed attempts not retried: per-request limit or retry budget."},
      {"gridrouter_outlier_ejections_total", "outlier_ejections", "Backends ejected by outlier detection."},
  };
  for (const Counter& c : kCounters) {
    Family(&out, c.metric, "counter", c.help);
    fmt::format_to(it, "{} {}\n", c.metric, Find(sums, c.stat));
  }
  Family(&out, "gridrouter_refusals_total", "counter", "Requests the router answered itself, by reason.");
  static constexpr std::pair<const char*, const char*> kReasons[] = {
      {"rate_limit", "refused_rate_limit"},
      {"cell_connections", "refused_cell_connections"},
      {"backend_connections", "refused_backend_connections"},
      {"cell_pending", "refused_cell_pending"},
      {"backend_pending", "refused_backend_pending"},
      {"no_backend", "no_backend"},
      {"unknown_tenant", "unknown_tenant"},
  };
  for (const auto& [reason, stat] : kReasons) {
    fmt::format_to(it, "gridrouter_refusals_total{{reason=\"{}\"}} {}\n", reason, Find(sums, stat));
  }
  Family(&out, "gridrouter_client_connections", "gauge", "Client connections open.");
  fmt::format_to(it, "gridrouter_client_connections {}\n", Find(sums, "connections_active"));
  Family(&out, "gridrouter_requests_in_flight", "gauge", "Client requests being served.");
  fmt::format_to(it, "gridrouter_requests_in_flight {}\n",
                 s.protection->retry_budget.requests_in_flight());
  Family(&out, "gridrouter_retries_in_flight", "gauge", "Retry attempts being served.");
  fmt::format_to(it, "gridrouter_retries_in_flight {}\n",
                 s.protection->retry_budget.retries_in_flight());
  Family(&out, "gridrouter_table_revision", "gauge", "Revision of the serving route table.");
  fmt::format_to(it, "gridrouter_table_revision {}\n", s.publisher->revision());
  Family(&out, "gridrouter_table_swaps_total", "counter", "Route tables published.");
  fmt::format_to(it, "gridrouter_table_swaps_total {}\n", s.publisher->swaps());
  Family(&out, "gridrouter_health_probes_total", "counter", "Active health probes started.");
  fmt::format_to(it, "gridrouter_health_probes_total {}\n", s.publisher->probes_started());
  Family(&out, "gridrouter_dns_refreshes_total", "counter",
         "Rounds that resolved backend DNS names again.");
  fmt::format_to(it, "gridrouter_dns_refreshes_total {}\n", s.publisher->dns_refreshes());
  Family(&out, "gridrouter_dns_changes_total", "counter",
         "DNS refresh rounds that found a backend name resolving differently.");
  fmt::format_to(it, "gridrouter_dns_changes_total {}\n", s.publisher->dns_changes());

  std::shared_ptr<const proxy::ServingState> state = s.tables->Get();
  static constexpr std::pair<const char*, const char*> kGauges[] = {
      {"gridrouter_backend_available", "1 when the backend may be picked (healthy, not ejected)."},
      {"gridrouter_backend_active_healthy", "1 when active health checks see the backend up."},
      {"gridrouter_backend_ejected", "1 while outlier detection ejects the backend."},
      {"gridrouter_backend_connections", "Upstream connections open to the backend."},
      {"gridrouter_backend_pending_requests", "Requests the backend holds."},
  };
  for (size_t k = 0; k < std::size(kGauges); ++k) {
    Family(&out, kGauges[k].first, "gauge", kGauges[k].second);
    if (!state) continue;
    for (const table::CellRoute* cell : SortedCells(*state->table)) {
      const protect::ConcurrencyLimit* limit = state->limits->Find(*cell);
      for (size_t g = 0; g < cell->group_count(); ++g) {
        const table::BackendGroup& group = cell->group(g);
        const health::GroupHealth* gh = state->health->Find(group);
        for (size_t i = 0; i < group.backends().size(); ++i) {
          uint64_t v = 0;
          switch (k) {
            case 0: v = gh ? gh->table().Available(i, now) : 1; break;
            case 1: v = gh ? gh->table().ActiveHealthy(i) : 1; break;
            case 2: v = gh ? gh->table().Ejected(i, now) : 0; break;
            case 3: v = limit ? limit->connections(g, i) : 0; break;
            default: v = limit ? limit->pending(g, i) : 0; break;
          }
          fmt::format_to(it, "{}{{cell=\"{}\",group=\"{}\",backend=\"{}\"}} {}\n", kGauges[k].first,
                         LabelValue(cell->name()), LabelValue(group.name()),
                         LabelValue(group.backends()[i].address), v);
        }
      }
    }
  }
  return out;
}

proxy::AdminReply HandleAdmin(const AdminSources& s, std::string_view path) {
  if (path == "/healthz") return {200, "text/plain", "ok\n"};
  if (path == "/readyz") {
    if (s.draining->load()) return {503, "text/plain", "draining\n"};
    if (s.tables->Get() == nullptr) return {503, "text/plain", "no route table yet\n"};
    return {200, "text/plain", "ready\n"};
  }
  if (path == "/stats") return {200, "application/json", s.server->StatsJson() + "\n"};
  if (path == "/routes") {
    std::shared_ptr<const proxy::ServingState> state = s.tables->Get();
    return {200, "application/json",
            s.feed->RoutesJson(state ? state->table : nullptr).dump() + "\n"};
  }
  if (path == "/cells") {
    std::shared_ptr<const proxy::ServingState> state = s.tables->Get();
    if (!state) return {503, "text/plain", "no route table yet\n"};
    return {200, "application/json", CellsJson(*state, std::chrono::steady_clock::now()) + "\n"};
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            MetricsText(s, std::chrono::steady_clock::now())};
  }
  return {404, "text/plain", "not found\n"};
}

}  // namespace grid::router::cmd
