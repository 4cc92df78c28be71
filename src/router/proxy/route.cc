#include "router/proxy/route.h"

#include "router/balance/hash.h"

namespace grid::router::proxy {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> HeaderLookup::Get(std::string_view name) const {
  return http::FindHeader(headers_, name);
}

std::optional<std::string_view> CookieLookup::Get(std::string_view name) const {
  for (const http::HeaderField& f : headers_) {
    if (!http::EqualsIgnoreCase(f.name, "cookie")) continue;
    std::string_view rest = f.value;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view pair = TrimSpaces(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (TrimSpaces(pair.substr(0, eq)) != name) continue;
      std::string_view value = TrimSpaces(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return std::nullopt;
}

BackendChooser::BackendChooser(UpstreamPool* pool, const BackendHealth* health, uint64_t seed)
    : pool_(pool), health_(health), rng_(seed) {}

uint64_t BackendChooser::NextRandom() {
  rng_ += 0x9e3779b97f4a7c15ULL;
  return balance::Mix64(rng_);
}

std::optional<table::BackendGroup::Choice> BackendChooser::Choose(
    const table::CellRoute& cell, const table::BackendGroup& group,
    const table::RequestFacts& facts, uint64_t now_ms) {
  std::span<const balance::BackendSpec> backends = group.backends();
  states_.resize(backends.size());
  slots_.resize(backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    BackendSlot* slot = pool_->Slot(backends[i].address);
    slots_[i] = slot;
    states_[i].healthy = slot->resolve_status.ok() && slot->ejected_until_ms <= now_ms &&
                         health_->Available(cell.name(), backends[i].address);
    states_[i].active_connections = slot->active;
  }
  return group.Choose(facts, states_, NextRandom());
}

RouteResult BackendChooser::FromCell(const table::RouteTable& table, const table::CellRoute& cell,
                                     const table::BackendGroup& group,
                                     const table::RequestFacts& facts, uint64_t now_ms) {
  RouteResult r;
  r.cell = &cell;
  r.group = &group;
  std::optional<table::BackendGroup::Choice> choice = Choose(cell, group, facts, now_ms);
  if (!choice) {
    if (const table::CellRoute* fallback = table.FallbackCell(cell)) {
      const table::BackendGroup& fallback_group = fallback->GroupFor(NextRandom());
      choice = Choose(*fallback, fallback_group, facts, now_ms);
      if (choice) {
        r.cell = fallback;
        r.group = &fallback_group;
      }
    }
  }
  if (!choice) {
    const table::FallbackConfig& fb = cell.config().fallback;
    r.no_backend = true;
    r.status = fb.status;
    r.retry_after_s = fb.retry_after_s;
    r.body = "no backend available\n";
    return r;
  }
  r.to_backend = true;
  r.slot = slots_[choice->backend];
  r.set_cookie = std::move(choice->set_cookie);
  return r;
}

RouteResult BackendChooser::Route(const table::RouteTable& table,
                                  const table::RequestFacts& facts, uint64_t now_ms) {
  table::RouteDecision d = table.Resolve(facts, NextRandom());
  if (!d.routed) {
    RouteResult r;
    r.unknown_tenant = true;
    r.status = d.reject_status;
    r.body = d.reject_body;
    r.tenant = d.tenant_key;
    return r;
  }
  RouteResult r = FromCell(table, *d.cell, *d.group, facts, now_ms);
  r.tenant = d.tenant_key;
  return r;
}

RouteResult BackendChooser::Rechoose(const table::RouteTable& table,
                                     const table::CellRoute& cell,
                                     const table::BackendGroup& group,
                                     const table::RequestFacts& facts, uint64_t now_ms) {
  return FromCell(table, cell, group, facts, now_ms);
}

}  // namespace grid::router::proxy
