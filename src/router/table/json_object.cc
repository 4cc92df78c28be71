#include "router/table/json_object.h"

#include <algorithm>
#include <vector>

#include "router/table/limits.h"

namespace grid::router::table {

Status FieldError(std::string_view path, std::string_view message) {
  if (path.empty()) return InvalidArgument(std::string(message));
  return InvalidArgument(std::string(path) + ": " + std::string(message));
}

std::string FieldPath(std::string_view parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  std::string out(parent);
  out += '.';
  out += child;
  return out;
}

std::string IndexPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string_view JsonTypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    case Json::value_t::number_float: return "number";
    default: return "binary";
  }
}

Result<Json> ParseJson(std::string_view text) {
  // The keys of each open object; a duplicate aborts the parse with a message. Objects here
  // have a handful of fields, so a linear search beats a tree (no node per key).
  std::vector<std::vector<std::string>> open;
  std::string problem;
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    if (!problem.empty()) return false;
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (static_cast<size_t>(depth) >= kMaxJsonDepth) {
          problem = "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels";
          return false;
        }
        if (event == Json::parse_event_t::object_start) open.emplace_back();
        return true;
      case Json::parse_event_t::object_end:
        open.pop_back();
        return true;
      case Json::parse_event_t::key: {
        const std::string& name = parsed.get_ref<const std::string&>();
        std::vector<std::string>& keys = open.back();
        if (std::find(keys.begin(), keys.end(), name) != keys.end()) {
          problem = "duplicate field \"" + name + "\"";
          return false;
        }
        keys.push_back(name);
        return true;
      }
      default:
        return true;
    }
  };
  try {
    Json value = Json::parse(text.begin(), text.end(), callback);
    if (!problem.empty()) return InvalidArgument("invalid JSON: " + problem);
    return value;
  } catch (const Json::exception& e) {
    if (!problem.empty()) return InvalidArgument("invalid JSON: " + problem);
    return InvalidArgument(std::string("invalid JSON: ") + e.what());
  }
}

Result<ObjectReader> ObjectReader::Make(const Json& value, std::string path) {
  if (!value.is_object()) {
    return FieldError(path, "must be an object, got " + std::string(JsonTypeName(value)));
  }
  return ObjectReader(value, std::move(path));
}

bool ObjectReader::Has(std::string_view name) const { return Get(name) != nullptr; }

const Json* ObjectReader::Get(std::string_view name) const {
  auto it = object_->find(name);
  return it == object_->end() ? nullptr : &*it;
}

Result<int64_t> ObjectReader::Int(std::string_view name, int64_t min, int64_t max,
                                  std::optional<int64_t> fallback) const {
  const Json* v = Get(name);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return FieldError(Child(name), "required");
  }
  const std::string range = std::to_string(min) + ".." + std::to_string(max);
  if (!v->is_number_integer()) {
    return FieldError(Child(name), "must be an integer " + range + ", got " +
                                       std::string(JsonTypeName(*v)) + " " + v->dump());
  }
  // Unsigned values above int64 are out of range whatever the bounds.
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return FieldError(Child(name), "must be " + range + ", got " + v->dump());
  }
  const int64_t x = v->get<int64_t>();
  if (x < min || x > max) {
    return FieldError(Child(name), "must be " + range + ", got " + std::to_string(x));
  }
  return x;
}

Result<bool> ObjectReader::Bool(std::string_view name, std::optional<bool> fallback) const {
  const Json* v = Get(name);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return FieldError(Child(name), "required");
  }
  if (!v->is_boolean()) {
    return FieldError(Child(name), "must be true or false, got " + std::string(JsonTypeName(*v)));
  }
  return v->get<bool>();
}

Result<std::string> ObjectReader::String(std::string_view name, size_t max_bytes,
                                         std::optional<std::string> fallback,
                                         bool allow_empty) const {
  const Json* v = Get(name);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return FieldError(Child(name), "required");
  }
  if (!v->is_string()) {
    return FieldError(Child(name), "must be a string, got " + std::string(JsonTypeName(*v)));
  }
  std::string s = v->get<std::string>();
  if (s.empty() && !allow_empty) return FieldError(Child(name), "must not be empty");
  if (s.size() > max_bytes) {
    return FieldError(Child(name), "is " + std::to_string(s.size()) + " bytes, limit " +
                                       std::to_string(max_bytes));
  }
  return s;
}

Result<const Json*> ObjectReader::Array(std::string_view name, size_t max_items) const {
  const Json* v = Get(name);
  if (v == nullptr) return FieldError(Child(name), "required");
  if (!v->is_array()) {
    return FieldError(Child(name), "must be an array, got " + std::string(JsonTypeName(*v)));
  }
  if (v->size() > max_items) {
    return FieldError(Child(name), "has " + std::to_string(v->size()) + " entries, limit " +
                                       std::to_string(max_items));
  }
  return v;
}

Status ObjectReader::OnlyFields(std::initializer_list<std::string_view> allowed) const {
  for (auto it = object_->begin(); it != object_->end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == it.key();
    if (known) continue;
    std::string expected;
    for (std::string_view a : allowed) {
      if (!expected.empty()) expected += ", ";
      expected += a;
    }
    return FieldError(Child(it.key()), "unknown field (expected one of: " + expected + ")");
  }
  return Status::Ok();
}

}  // namespace grid::router::table
