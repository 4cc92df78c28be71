#!/usr/bin/env bash
# Configures and builds grid into build/ (or $GRID_BUILD_DIR). Extra arguments are ninja
# targets (default: everything).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GRID_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${GRID_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
ninja -C "$build" "$@"
