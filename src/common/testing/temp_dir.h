// A directory for one test: created under $TMPDIR (or /tmp) with a unique name, removed with
// everything in it when the object goes away. For tests only.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/check.h"

namespace grid::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "grid_test") {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + ".XXXXXX";
    GRID_CHECK(mkdtemp(tmpl.data()) != nullptr) << "mkdtemp failed for " << tmpl;
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace grid::testing
