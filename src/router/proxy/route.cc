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

bool UsesLoopConnectSkip(const table::CellRoute& cell) {
  const table::OutlierConfig& outlier = cell.config().outlier;
  return !outlier.enabled || outlier.consecutive_connect_failures == 0;
}

BackendChooser::BackendChooser(UpstreamPool* pool, ProcessProtection* protection, uint64_t seed)
    : pool_(pool), protection_(protection), rng_(seed) {}

uint64_t BackendChooser::NextRandom() {
  rng_ += 0x9e3779b97f4a7c15ULL;
  return balance::Mix64(rng_);
}

std::optional<table::BackendGroup::Choice> BackendChooser::Choose(
    const ServingState& state, const table::CellRoute& cell, const table::BackendGroup& group,
    const table::RequestFacts& facts, const BackendSlot* failed, uint64_t now_ms,
    RouteResult* out) {
  std::span<const balance::BackendSpec> backends = group.backends();
  states_.resize(backends.size());
  slots_.resize(backends.size());
  size_t group_index = 0;
  while (group_index + 1 < cell.group_count() && &cell.group(group_index) != &group) ++group_index;
  health::GroupHealth* health = state.health->Find(group);
  const protect::ConcurrencyLimit* limit = state.limits->Find(cell);
  if (health != nullptr) health->Fill(states_, LoopTimePoint(now_ms));
  if (limit != nullptr) limit->FillConnections(group_index, states_);
  const bool loop_skip = UsesLoopConnectSkip(cell);
  bool passed_over_full = false;
  full_.assign(backends.size(), 0);
  for (size_t i = 0; i < backends.size(); ++i) {
    BackendSlot* slot = pool_->Slot(backends[i].address, state.addresses.get());
    slots_[i] = slot;
    if (health == nullptr) states_[i].healthy = true;
    if (limit == nullptr) states_[i].active_connections = slot->active;
    states_[i].healthy = states_[i].healthy && slot != failed && slot->resolve_status.ok() &&
                         (!loop_skip || slot->ejected_until_ms <= now_ms);
    // Like nginx's max_conns: a backend at its per-backend cap is passed over while another
    // has room, so one busy backend does not refuse requests its group could serve.
    if (states_[i].healthy && limit != nullptr &&
        limit->BackendFull(group_index, i, slot->idle.empty())) {
      states_[i].healthy = false;
      full_[i] = 1;
      passed_over_full = true;
    }
  }
  std::optional<table::BackendGroup::Choice> choice = group.Choose(facts, states_, NextRandom());
  if (!choice && passed_over_full) {
    // Every available backend is full: choose among them anyway, and the attempt is refused
    // with the cap that is reached (503, X-Grid-Refused), not "no backend available".
    for (size_t i = 0; i < backends.size(); ++i) states_[i].healthy = full_[i] != 0;
    choice = group.Choose(facts, states_, NextRandom());
  }
  if (choice) {
    out->cell = &cell;
    out->group = &group;
    out->group_index = group_index;
    out->backend_index = choice->backend;
    out->slot = slots_[choice->backend];
    out->health = health;
    out->limit = limit;
  }
  return choice;
}

RouteResult BackendChooser::FromCell(const ServingState& state, const table::CellRoute& cell,
                                     const table::BackendGroup& group,
                                     const table::RequestFacts& facts, const BackendSlot* failed,
                                     uint64_t now_ms) {
  RouteResult r;
  r.cell = &cell;
  r.group = &group;
  std::optional<table::BackendGroup::Choice> choice =
      Choose(state, cell, group, facts, failed, now_ms, &r);
  if (!choice) {
    if (const table::CellRoute* fallback = state.table->FallbackCell(cell)) {
      const table::BackendGroup& fallback_group = fallback->GroupFor(NextRandom());
      choice = Choose(state, *fallback, fallback_group, facts, failed, now_ms, &r);
    }
  }
  if (!choice) {
    const table::FallbackConfig& fb = cell.config().fallback;
    r.cell = &cell;
    r.no_backend = true;
    r.status = fb.status;
    r.retry_after_s = fb.retry_after_s;
    r.body = "no backend available\n";
    return r;
  }
  r.to_backend = true;
  r.set_cookie = std::move(choice->set_cookie);
  return r;
}

RouteResult BackendChooser::Route(const ServingState& state, const table::RequestFacts& facts,
                                  uint64_t now_ms) {
  table::RouteDecision d = state.table->Resolve(facts, NextRandom());
  if (!d.routed) {
    RouteResult r;
    r.unknown_tenant = true;
    r.status = d.reject_status;
    r.body = d.reject_body;
    r.tenant = d.tenant_key;
    return r;
  }
  if (protection_ != nullptr && d.tenant != nullptr && d.tenant->config.rate_limit) {
    protect::TenantRateLimiter::Verdict v = protection_->rate_limiter.Allow(
        d.tenant->name, *d.tenant->config.rate_limit, LoopTimePoint(now_ms));
    if (!v.allowed) {
      RouteResult r;
      r.rate_limited = true;
      r.status = 429;
      r.retry_after_s = v.retry_after_s;
      r.body = "rate limit exceeded\n";
      r.tenant = d.tenant_key;
      r.cell = d.cell;
      return r;
    }
  }
  RouteResult r = FromCell(state, *d.cell, *d.group, facts, nullptr, now_ms);
  r.tenant = d.tenant_key;
  return r;
}

RouteResult BackendChooser::Rechoose(const ServingState& state, const table::CellRoute& cell,
                                     const table::BackendGroup& group,
                                     const table::RequestFacts& facts, const BackendSlot* failed,
                                     uint64_t now_ms) {
  return FromCell(state, cell, group, facts, failed, now_ms);
}

}  // namespace grid::router::proxy
