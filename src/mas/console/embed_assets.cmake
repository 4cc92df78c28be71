# Writes a C++ header holding the console's files as string constants.
#   cmake -DOUTPUT=<header> -DASSETS="name=path|name=path" -P embed_assets.cmake
# Each file becomes `inline constexpr std::string_view k<name> = R"grid_console(...)grid_console";`
# A file containing the raw-string terminator is refused.
set(text "// Generated from src/mas/console/assets by embed_assets.cmake. Do not edit.\n")
string(APPEND text "#pragma once\n\n#include <string_view>\n\nnamespace grid::mas::console {\n\n")
string(REPLACE "|" ";" assets "${ASSETS}")
foreach(entry IN LISTS assets)
  string(FIND "${entry}" "=" eq)
  string(SUBSTRING "${entry}" 0 ${eq} name)
  math(EXPR start "${eq} + 1")
  string(SUBSTRING "${entry}" ${start} -1 path)
  file(READ "${path}" content)
  string(FIND "${content}" ")grid_console\"" bad)
  if(NOT bad EQUAL -1)
    message(FATAL_ERROR "${path} contains the raw-string terminator")
  endif()
  string(APPEND text "inline constexpr std::string_view k${name} = R\"grid_console(${content})grid_console\";\n\n")
endforeach()
string(APPEND text "}  // namespace grid::mas::console\n")
# Rewrite only on change, so that dependents are not rebuilt for nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${text}")
