#include "mas/resource/fields.h"

#include <string>

namespace grid::mas {

std::string JoinPath(std::string_view path, std::string_view field) {
  if (path.empty()) return std::string(field);
  std::string out(path);
  out += '.';
  out += field;
  return out;
}

std::string IndexPath(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

void FieldErrors::Add(std::string_view path, std::string_view message) {
  std::string e(path);
  e += ": ";
  e += message;
  errors_.push_back(std::move(e));
}

Status FieldErrors::ToStatus() const {
  if (errors_.empty()) return Status::Ok();
  std::string joined;
  for (const auto& e : errors_) {
    if (!joined.empty()) joined += "; ";
    joined += e;
  }
  return InvalidArgument(std::move(joined));
}

ObjectReader::ObjectReader(const nlohmann::json& object, std::string path, FieldErrors* errors)
    : object_(object), path_(std::move(path)), errors_(errors), is_object_(object.is_object()) {
  if (!is_object_) {
    errors_->Add(path_.empty() ? "<root>" : path_,
                 std::string("must be an object, got ") + object.type_name());
  }
}

const nlohmann::json* ObjectReader::Take(std::string_view field, bool required) {
  if (!is_object_) return nullptr;
  read_.emplace(field);
  auto it = object_.find(std::string(field));
  if (it == object_.end() || it->is_null()) {
    if (required) errors_->Add(PathOf(field), "required");
    return nullptr;
  }
  return &*it;
}

bool ObjectReader::TypeError(std::string_view field, const nlohmann::json& value,
                             const char* want) {
  errors_->Add(PathOf(field), std::string("must be ") + want + ", got " + value.type_name());
  return false;
}

std::optional<std::string> ObjectReader::String(std::string_view field, bool required) {
  const nlohmann::json* v = Take(field, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    TypeError(field, *v, "a string");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<int64_t> ObjectReader::Int(std::string_view field, bool required) {
  const nlohmann::json* v = Take(field, required);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) {
    const auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) {
      errors_->Add(PathOf(field), "integer out of range");
      return std::nullopt;
    }
    return static_cast<int64_t>(u);
  }
  if (!v->is_number_integer()) {
    TypeError(field, *v, "an integer");
    return std::nullopt;
  }
  return v->get<int64_t>();
}

std::optional<bool> ObjectReader::Bool(std::string_view field, bool required) {
  const nlohmann::json* v = Take(field, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) {
    TypeError(field, *v, "a boolean");
    return std::nullopt;
  }
  return v->get<bool>();
}

const nlohmann::json* ObjectReader::Object(std::string_view field, bool required) {
  const nlohmann::json* v = Take(field, required);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    TypeError(field, *v, "an object");
    return nullptr;
  }
  return v;
}

const nlohmann::json* ObjectReader::Array(std::string_view field, bool required) {
  const nlohmann::json* v = Take(field, required);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    TypeError(field, *v, "a list");
    return nullptr;
  }
  return v;
}

const nlohmann::json* ObjectReader::Value(std::string_view field) { return Take(field, false); }

void ObjectReader::Finish() {
  if (!is_object_) return;
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (read_.find(it.key()) == read_.end()) errors_->Add(PathOf(it.key()), "unknown field");
  }
}

}  // namespace grid::mas
