// Strict reading of JSON objects with field paths: every error names the path of the field
// it is about ("spec.members: must be an integer, got string"), and fields nobody read are
// refused as unknown. Plain values; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace grid::mas {

// "a" + "b" -> "a.b"; "" + "b" -> "b".
std::string JoinPath(std::string_view path, std::string_view field);
// "a" + 2 -> "a[2]".
std::string IndexPath(std::string_view path, size_t index);

// Errors found while decoding or validating one object, in the order found.
class FieldErrors {
 public:
  void Add(std::string_view path, std::string_view message);
  bool empty() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  // OK when empty, else InvalidArgument with the errors joined by "; ".
  Status ToStatus() const;

 private:
  std::vector<std::string> errors_;
};

// Reads the fields of one JSON object. A null field counts as absent. Reporting unknown
// fields happens in Finish(), which must be called once after every field was read.
// REQUIRES: `object` and `errors` outlive the reader.
class ObjectReader {
 public:
  // Adds "<path>: must be an object, got <type>" when `object` is not an object (then every
  // read returns nothing).
  ObjectReader(const nlohmann::json& object, std::string path, FieldErrors* errors);

  std::optional<std::string> String(std::string_view field, bool required = false);
  std::optional<int64_t> Int(std::string_view field, bool required = false);
  std::optional<bool> Bool(std::string_view field, bool required = false);
  // Returns the field when it is an object (or, for Array, an array); nullptr otherwise.
  const nlohmann::json* Object(std::string_view field, bool required = false);
  const nlohmann::json* Array(std::string_view field, bool required = false);
  // Any JSON value, unchecked.
  const nlohmann::json* Value(std::string_view field);

  std::string PathOf(std::string_view field) const { return JoinPath(path_, field); }
  // Adds "<path>.<field>: unknown field" for every field not read.
  void Finish();

 private:
  const nlohmann::json* Take(std::string_view field, bool required);
  bool TypeError(std::string_view field, const nlohmann::json& value, const char* want);

  const nlohmann::json& object_;
  const std::string path_;
  FieldErrors* const errors_;
  const bool is_object_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace grid::mas
