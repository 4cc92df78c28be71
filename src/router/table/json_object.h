// Strict reading of the JSON values stored under the table's keys. Every error message starts
// with the path of the offending field ("groups[0].backends[2].weight: must be 1..100, got 0");
// the builder prefixes the key.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace grid::router::table {

using Json = nlohmann::json;

// Parses `text` as one JSON value. Refuses duplicate object keys (a typo-prone way to lose a
// setting) and nesting deeper than kMaxJsonDepth.
Result<Json> ParseJson(std::string_view text);

// "a.b" / "a[3]" path building. An empty parent gives the bare child.
std::string FieldPath(std::string_view parent, std::string_view child);
std::string IndexPath(std::string_view parent, size_t index);

// A JSON value's type for messages: "object", "string", "integer", ...
std::string_view JsonTypeName(const Json& value);

// Reads the fields of one JSON object. Absent optional fields take their default.
class ObjectReader {
 public:
  // Fails unless `value` is an object. `path` names it in messages ("" for the top level).
  static Result<ObjectReader> Make(const Json& value, std::string path);

  const std::string& path() const { return path_; }
  std::string Child(std::string_view name) const { return FieldPath(path_, name); }
  bool Has(std::string_view name) const;
  // nullptr when absent.
  const Json* Get(std::string_view name) const;

  // Integer in [min, max]; `fallback` when absent, or an error "required" when none is given.
  Result<int64_t> Int(std::string_view name, int64_t min, int64_t max,
                      std::optional<int64_t> fallback = std::nullopt) const;
  Result<bool> Bool(std::string_view name, std::optional<bool> fallback = std::nullopt) const;
  // String of 1..max_bytes bytes (or 0..max_bytes when allow_empty).
  Result<std::string> String(std::string_view name, size_t max_bytes,
                             std::optional<std::string> fallback = std::nullopt,
                             bool allow_empty = false) const;
  // The named field as an array of at most max_items elements (required).
  Result<const Json*> Array(std::string_view name, size_t max_items) const;

  // Refuses any field not in `allowed`, naming it and the allowed set.
  Status OnlyFields(std::initializer_list<std::string_view> allowed) const;

 private:
  ObjectReader(const Json& object, std::string path) : object_(&object), path_(std::move(path)) {}

  const Json* object_;
  std::string path_;
};

// Error helpers: "<path>: <message>".
Status FieldError(std::string_view path, std::string_view message);

}  // namespace grid::router::table
