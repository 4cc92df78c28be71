#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite through ctest.
# Extra arguments go to ctest (e.g. -L unit, -R kv_).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build=${GRID_BUILD_DIR:-$root/build}
cd "$build"
ctest --output-on-failure --timeout 900 -j "${GRID_TEST_JOBS:-2}" "$@"
