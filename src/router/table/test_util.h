// Helpers shared by the table tests.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "router/table/route_table.h"
#include "router/table/table_builder.h"

namespace grid::router::table::testing {

inline constexpr char kPrefix[] = "/grid/routes";

// A FieldLookup over a map. Header lookups in tests use lowercase names, as the table asks.
class MapLookup final : public FieldLookup {
 public:
  MapLookup() = default;
  MapLookup(std::initializer_list<std::pair<const std::string, std::string>> init) : fields_(init) {}
  std::optional<std::string_view> Get(std::string_view name) const override {
    auto it = fields_.find(std::string(name));
    if (it == fields_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  std::map<std::string, std::string> fields_;
};

// Builds a TableSource under kPrefix.
class Source {
 public:
  Source() { source_.prefix = kPrefix; }
  Source& Router(const std::string& json) { return Put("/router", json); }
  Source& Cell(const std::string& name, const std::string& json) { return Put("/cells/" + name, json); }
  Source& Tenant(const std::string& name, const std::string& json) {
    return Put("/tenants/" + name, json);
  }
  Source& Put(const std::string& suffix, const std::string& json) {
    source_.kvs[std::string(kPrefix) + suffix] = json;
    return *this;
  }
  const TableSource& get() const { return source_; }

 private:
  TableSource source_;
};

// A one-group cell with backends 10.0.0.1..n:8080.
inline std::string SimpleCell(int backends = 2, const std::string& extra = "") {
  std::string json = R"({"backends": [)";
  for (int i = 1; i <= backends; ++i) {
    if (i > 1) json += ", ";
    json += R"({"address": "10.0.0.)" + std::to_string(i) + R"(:8080"})";
  }
  json += "]";
  if (!extra.empty()) json += ", " + extra;
  return json + "}";
}

inline std::string TenantIn(const std::string& cell) { return R"({"cell": ")" + cell + R"("})"; }

// The message of a failed build, or "" when it succeeded.
inline std::string BuildError(const TableSource& source) {
  auto r = BuildTable(source, 1);
  return r.ok() ? "" : r.status().message();
}

inline std::shared_ptr<const RouteTable> MustBuild(const TableSource& source, int64_t revision = 1) {
  auto r = BuildTable(source, revision);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : nullptr;
}

}  // namespace grid::router::table::testing
