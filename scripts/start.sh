#!/usr/bin/env bash
# Installs what is missing, builds, and starts a local grid on the embedded defaults:
# one gridkv member serving the etcd v3 API on http://127.0.0.1:2379 (GRID_CLIENT_PORT),
# data in ~/.local/share/grid/gridkv (GRID_DATA_DIR). Ctrl-C stops it; the data stays.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" gridkv
build=${GRID_BUILD_DIR:-$root/build}
port=${GRID_CLIENT_PORT:-2379}
peer_port=${GRID_PEER_PORT:-2380}
data=${GRID_DATA_DIR:-${HOME:-/root}/.local/share/grid/gridkv}
mkdir -p "$(dirname "$data")"
cat <<MSG

gridkv starting
  endpoint:  http://127.0.0.1:$port
  data dir:  $data
  try:       ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:$port put greeting hello
             ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:$port get greeting
             ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:$port endpoint status -w table

MSG
exec "$build/cmd/gridkv/gridkv" --name grid --data-dir "$data" \
  --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "grid=http://127.0.0.1:$peer_port"
