#include "router/table/yaml_source.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "router/table/json_object.h"
#include "router/table/limits.h"

namespace grid::router::table {
namespace {

Status YamlError(std::string_view path, std::string_view message) {
  return InvalidArgument("yaml: " + std::string(path.empty() ? "top level" : path) + ": " +
                         std::string(message));
}

std::string Where(const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  if (m.line < 0) return "";
  return " (line " + std::to_string(m.line + 1) + ")";
}

Json ScalarToJson(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  int64_t i = 0;
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  const char* end = text.data() + text.size();
  if (auto [p, ec] = std::from_chars(begin, end, i); ec == std::errc() && p == end) return i;
  double d = 0;
  if (auto [p, ec] = std::from_chars(begin, end, d); ec == std::errc() && p == end) return d;
  return text;
}

Result<Json> ToJson(const YAML::Node& node, const std::string& path, size_t depth) {
  if (depth > kMaxJsonDepth) {
    return YamlError(path, "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Json(nullptr);
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      size_t i = 0;
      for (const YAML::Node& item : node) {
        GRID_ASSIGN_OR_RETURN(Json v, ToJson(item, IndexPath(path, i++), depth + 1));
        out.push_back(std::move(v));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return YamlError(path, "mapping keys must be scalars" + Where(kv.first));
        const std::string key = kv.first.Scalar();
        if (out.contains(key)) {
          return YamlError(FieldPath(path, key), "duplicate key" + Where(kv.first));
        }
        GRID_ASSIGN_OR_RETURN(Json v, ToJson(kv.second, FieldPath(path, key), depth + 1));
        out[key] = std::move(v);
      }
      return out;
    }
  }
  return YamlError(path, "unsupported node");
}

// Adds one key per entry of the `section` mapping.
Status AddSection(const YAML::Node& section, std::string_view name, const std::string& key_dir,
                  TableSource* out) {
  if (section.IsNull()) return Status::Ok();
  if (!section.IsMap()) return YamlError(name, "must be a mapping of name to settings" + Where(section));
  std::set<std::string> seen;
  for (const auto& kv : section) {
    if (!kv.first.IsScalar()) return YamlError(name, "names must be scalars" + Where(kv.first));
    const std::string entry = kv.first.Scalar();
    if (!seen.insert(entry).second) {
      return YamlError(FieldPath(name, entry), "duplicate key" + Where(kv.first));
    }
    GRID_ASSIGN_OR_RETURN(Json v, ToJson(kv.second, FieldPath(name, entry), 0));
    out->kvs.insert_or_assign(key_dir + entry, v.dump());
  }
  return Status::Ok();
}

}  // namespace

Result<TableSource> YamlToSource(std::string_view yaml_text, const std::string& prefix) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("yaml: ") + e.what());
  }
  TableSource source;
  source.prefix = prefix;
  if (root.IsNull()) return source;
  if (!root.IsMap()) return YamlError("", "must be a mapping with router, cells, tenants");
  std::set<std::string> seen;
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (!seen.insert(key).second) return YamlError(key, "duplicate key" + Where(kv.first));
    if (key == "router") {
      GRID_ASSIGN_OR_RETURN(Json v, ToJson(kv.second, "router", 0));
      source.kvs.insert_or_assign(prefix + "/router", v.dump());
    } else if (key == "cells") {
      GRID_RETURN_IF_ERROR(AddSection(kv.second, "cells", prefix + "/cells/", &source));
    } else if (key == "tenants") {
      GRID_RETURN_IF_ERROR(AddSection(kv.second, "tenants", prefix + "/tenants/", &source));
    } else {
      return YamlError(key, "unknown field (expected one of: router, cells, tenants)" + Where(kv.first));
    }
  }
  return source;
}

Result<TableSource> LoadYamlFile(const std::string& path, const std::string& prefix) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus("open " + path, errno);
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return ErrnoStatus("size of " + path, errno);
  if (static_cast<uint64_t>(size) > kMaxYamlFileBytes) {
    return InvalidArgument(path + ": " + std::to_string(size) + " bytes, limit " +
                           std::to_string(kMaxYamlFileBytes));
  }
  in.seekg(0);
  std::string text(static_cast<size_t>(size), '\0');
  if (!in.read(text.data(), size)) return ErrnoStatus("read " + path, errno);
  Result<TableSource> source = YamlToSource(text, prefix);
  if (!source.ok()) return source.status().WithContext(path);
  return source;
}

}  // namespace grid::router::table
