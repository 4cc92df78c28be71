// Standalone mode: the whole table in one YAML file, turned into the same TableSource the
// store would hold (one JSON value per key), so the same validation applies.
//
//   router:  {...}          -> <prefix>/router
//   cells:   {<cell>: {...}} -> <prefix>/cells/<cell>
//   tenants: {<tenant>: {...}} -> <prefix>/tenants/<tenant>
//
// YAML scalars become JSON values: quoted scalars are strings; plain scalars are null (~,
// null, empty), booleans (true, false), integers, floats, or else strings. Duplicate mapping
// keys are refused.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "router/table/table_builder.h"

namespace grid::router::table {

Result<TableSource> YamlToSource(std::string_view yaml_text, const std::string& prefix);

// Reads a file of at most kMaxYamlFileBytes and converts it.
Result<TableSource> LoadYamlFile(const std::string& path, const std::string& prefix);

}  // namespace grid::router::table
