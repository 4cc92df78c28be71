#include "router/table/route_table.h"

#include "common/check.h"
#include "router/table/limits.h"
#include "router/table/names.h"

namespace grid::router::table {
namespace {

std::optional<std::string_view> Lookup(const FieldLookup* fields, std::string_view name) {
  if (fields == nullptr) return std::nullopt;
  return fields->Get(name);
}

// The path without query or fragment.
std::string_view PathOnly(std::string_view path) {
  const size_t end = path.find_first_of("?#");
  return end == std::string_view::npos ? path : path.substr(0, end);
}

// The first key found per request, kept for a decision that names an unknown tenant.
struct KeyTrail {
  std::string_view first_key;
  KeySource first_source = KeySource::kNone;

  void Note(std::string_view key, KeySource source) {
    if (first_source == KeySource::kNone && !key.empty()) {
      first_key = key;
      first_source = source;
    }
  }
};

const TenantRoute* FindTenantIn(const TenantIndex& index, std::string_view key) {
  auto it = index.by_name.find(key);
  return it == index.by_name.end() ? nullptr : it->second.get();
}

// Host rules: an exact tenant host wins; then the longest wildcard suffix the host ends with,
// whose tenant key is the label just left of the suffix ("www.acme.example.com" with
// "*.example.com" gives "acme").
const TenantRoute* MatchHost(std::string_view raw_host, const TenantIndex& tenants,
                             const StringSet& suffixes, KeyTrail* trail) {
  char buffer[kMaxHostBytes];
  std::optional<std::string_view> host = NormalizeRequestHost(raw_host, buffer, sizeof buffer);
  if (!host) return nullptr;
  if (auto it = tenants.by_host.find(*host); it != tenants.by_host.end()) return it->second;
  if (suffixes.empty()) return nullptr;
  size_t label_start = 0;
  for (size_t dot = host->find('.'); dot != std::string_view::npos;
       label_start = dot + 1, dot = host->find('.', dot + 1)) {
    if (!suffixes.contains(host->substr(dot + 1))) continue;
    const std::string_view label = host->substr(label_start, dot - label_start);
    if (const TenantRoute* t = FindTenantIn(tenants, label)) return t;
    // The normalised host starts where the raw one does, so the label's offsets carry over.
    trail->Note(raw_host.substr(label_start, label.size()), KeySource::kHost);
    return nullptr;
  }
  return nullptr;
}

const TenantRoute* MatchPath(std::string_view raw_path, const TenantKeySource& source,
                             const TenantIndex& tenants, KeyTrail* trail) {
  const std::string_view path = PathOnly(raw_path);
  for (const std::string& prefix : source.path_prefixes) {  // longest first
    if (!path.starts_with(prefix)) continue;
    std::string_view segment = path.substr(prefix.size());
    segment = segment.substr(0, segment.find('/'));
    if (const TenantRoute* t = FindTenantIn(tenants, segment)) return t;
    trail->Note(segment, KeySource::kPath);
    return nullptr;
  }
  return nullptr;
}

const TenantRoute* MatchField(const FieldLookup* fields, const TenantKeySource& source,
                              KeySource kind, const TenantIndex& tenants, KeyTrail* trail) {
  std::optional<std::string_view> value = Lookup(fields, source.name);
  if (!value || value->empty()) return nullptr;
  if (const TenantRoute* t = FindTenantIn(tenants, *value)) return t;
  trail->Note(*value, kind);
  return nullptr;
}

}  // namespace

std::string_view KeySourceName(KeySource source) {
  switch (source) {
    case KeySource::kNone: return "none";
    case KeySource::kHost: return "host";
    case KeySource::kHeader: return "header";
    case KeySource::kPath: return "path";
    case KeySource::kCookie: return "cookie";
  }
  GRID_UNREACHABLE();
  return "";
}

// ---- BackendGroup ----

BackendGroup::BackendGroup(GroupConfig config) : config_(std::move(config)) {
  balancer_ = balance::NewBalancer(config_.policy, config_.backends,
                                   {.maglev_table_size = config_.maglev_table_size});
  if (!config_.session_cookie.name.empty()) {
    session_.emplace(config_.session_cookie.name, config_.backends,
                     config_.session_cookie.max_age_s);
  }
}

std::string_view BackendGroup::HashKey(const RequestFacts& facts) const {
  std::optional<std::string_view> v;
  switch (config_.hash_key.source) {
    case HashKeySource::kNone: return {};
    case HashKeySource::kHeader: v = Lookup(facts.headers, config_.hash_key.name); break;
    case HashKeySource::kCookie: v = Lookup(facts.cookies, config_.hash_key.name); break;
  }
  return v.value_or(std::string_view());
}

std::optional<BackendGroup::Choice> BackendGroup::Choose(
    const RequestFacts& facts, std::span<const balance::BackendState> states,
    uint64_t random) const {
  balance::PickContext ctx;
  ctx.backends = states;
  ctx.client_ip = facts.client_ip;
  ctx.hash_key = HashKey(facts);
  ctx.random = random;
  if (session_) {
    std::optional<balance::SessionDecision> d =
        session_->Decide(Lookup(facts.cookies, session_->cookie_name()), *balancer_, ctx);
    if (!d) return std::nullopt;
    return Choice{d->backend, std::move(d->set_cookie)};
  }
  std::optional<size_t> picked = balancer_->Pick(ctx);
  if (!picked) return std::nullopt;
  return Choice{*picked, std::nullopt};
}

// ---- CellRoute ----

CellRoute::CellRoute(std::string name, CellConfig config)
    : name_(std::move(name)), config_(std::move(config)) {
  GRID_CHECK(!config_.groups.empty() && config_.groups.size() <= kMaxGroupsPerCell);
  for (GroupConfig& g : config_.groups) groups_.push_back(std::make_unique<BackendGroup>(g));
}

const BackendGroup& CellRoute::GroupFor(uint64_t split_roll) const {
  if (groups_.size() == 1) return *groups_[0];
  return split_roll % 100 < groups_[0]->weight_percent() ? *groups_[0] : *groups_[1];
}

// ---- RouteTable ----

RouteTable::RouteTable(Parts parts) : parts_(std::move(parts)) {
  GRID_CHECK(parts_.router != nullptr && parts_.tenants != nullptr);
  GRID_CHECK_EQ(parts_.router->wildcard_suffixes.size(), parts_.router->settings.sources.size());
}

const CellRoute* RouteTable::FindCell(std::string_view name) const {
  auto it = parts_.cells.find(name);
  return it == parts_.cells.end() ? nullptr : it->second.get();
}

const TenantRoute* RouteTable::FindTenant(std::string_view name) const {
  return FindTenantIn(*parts_.tenants, name);
}

const CellRoute* RouteTable::FallbackCell(const CellRoute& cell) const {
  const std::string& name = cell.config().fallback.cell;
  if (name.empty()) return nullptr;
  const CellRoute* fallback = FindCell(name);
  GRID_CHECK(fallback != nullptr) << "fallback cell " << name << " of " << cell.name();
  return fallback;
}

RouteDecision RouteTable::Resolve(const RequestFacts& facts, uint64_t split_roll) const {
  const RouterIndex& router = *parts_.router;
  const TenantIndex& tenants = *parts_.tenants;
  KeyTrail trail;
  const TenantRoute* tenant = nullptr;
  KeySource source = KeySource::kNone;
  for (size_t i = 0; i < router.settings.sources.size() && tenant == nullptr; ++i) {
    const TenantKeySource& s = router.settings.sources[i];
    switch (s.type) {
      case KeySourceType::kHost:
        tenant = MatchHost(facts.host, tenants, router.wildcard_suffixes[i], &trail);
        source = KeySource::kHost;
        break;
      case KeySourceType::kHeader:
        tenant = MatchField(facts.headers, s, KeySource::kHeader, tenants, &trail);
        source = KeySource::kHeader;
        break;
      case KeySourceType::kPath:
        tenant = MatchPath(facts.path, s, tenants, &trail);
        source = KeySource::kPath;
        break;
      case KeySourceType::kCookie:
        tenant = MatchField(facts.cookies, s, KeySource::kCookie, tenants, &trail);
        source = KeySource::kCookie;
        break;
    }
  }

  RouteDecision d;
  const CellRoute* cell = nullptr;
  if (tenant != nullptr) {
    d.tenant = tenant;
    d.tenant_key = tenant->name;
    d.key_source = source;
    cell = FindCell(tenant->config.cell);
    GRID_CHECK(cell != nullptr) << "tenant " << tenant->name << " cell " << tenant->config.cell;
  } else {
    d.tenant_key = trail.first_key;
    d.key_source = trail.first_source;
    const UnknownTenantPolicy& unknown = router.settings.unknown_tenant;
    if (unknown.cell.empty()) {
      d.reject_status = unknown.reject.status;
      d.reject_body = unknown.reject.body;
      return d;
    }
    cell = FindCell(unknown.cell);
    GRID_CHECK(cell != nullptr) << "default cell " << unknown.cell;
  }
  d.routed = true;
  d.cell = cell;
  d.group = &cell->GroupFor(split_roll);
  return d;
}

}  // namespace grid::router::table
