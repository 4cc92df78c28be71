// The pure parts of gridctl: kind aliases, documents of an apply file, durations, and the
// rendering of objects as tables, descriptions and YAML. No I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "mas/resource/resource.h"

namespace grid::gridctl {

// kvcluster|kvclusters|kv|routerfleet|routerfleets|rf, case-insensitive. InvalidArgument
// naming the accepted spellings otherwise.
Result<mas::Kind> ParseKindAlias(std::string_view text);
// "kvcluster", "routerfleet": the singular used in messages ("kvcluster/orders created").
std::string KindSingular(mas::Kind kind);

// Splits YAML text into its documents at lines that are exactly "---" (trailing blanks
// allowed); documents holding only blanks and comments are dropped. JSON text (first
// non-blank byte '{') is one document.
std::vector<std::string> SplitDocuments(std::string_view text);

// "120s", "2m", "1h", "500ms", or a plain number of seconds. InvalidArgument otherwise.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// "45s", "12m", "5h", "3d" between an RFC 3339 UTC timestamp and `now`; "<unknown>" when the
// timestamp does not parse.
std::string FormatAge(std::string_view rfc3339, std::chrono::system_clock::time_point now);

// The table of `get`: NAME PHASE MEMBERS|REPLICAS VERSION AGE, columns padded, one row per
// object (API JSON form).
std::string RenderTable(mas::Kind kind, const std::vector<nlohmann::json>& objects,
                        std::chrono::system_clock::time_point now);

// The text of `describe`: spec summary, phase, conditions, members, the running operation
// and its recorded steps, then the history of finished operations (newest first: name,
// result, started -> finished, and its steps one per line, indented).
std::string RenderDescribe(const nlohmann::json& object);

// Block-style YAML of a JSON value (strings quoted when they would not read back as such).
std::string ToYaml(const nlohmann::json& value);

}  // namespace grid::gridctl
