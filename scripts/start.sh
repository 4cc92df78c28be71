#!/usr/bin/env bash
# Installs what is missing, builds, and starts a local grid on the embedded defaults:
#   - one gridkv member serving the etcd v3 API on http://127.0.0.1:2379 (GRID_CLIENT_PORT),
#     data in ~/.local/share/grid/gridkv (GRID_DATA_DIR);
#   - gridrouter following its route table under /grid/routes in that store, serving on
#     127.0.0.1:8080 (GRID_ROUTER_PORT), admin on 127.0.0.1:9901 (GRID_ROUTER_ADMIN_PORT).
#     It listens once the store has answered; the example below puts a table.
# Ctrl-C stops both; the data stays.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" gridkv gridrouter
build=${GRID_BUILD_DIR:-$root/build}
port=${GRID_CLIENT_PORT:-2379}
peer_port=${GRID_PEER_PORT:-2380}
router_port=${GRID_ROUTER_PORT:-8080}
admin_port=${GRID_ROUTER_ADMIN_PORT:-9901}
data=${GRID_DATA_DIR:-${HOME:-/root}/.local/share/grid/gridkv}
mkdir -p "$(dirname "$data")"

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

"$build/cmd/gridkv/gridkv" --name grid --data-dir "$data" \
  --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "grid=http://127.0.0.1:$peer_port" &
pids+=($!)
deadline=$((SECONDS + 60))
until ETCDCTL_API=3 etcdctl --endpoints="http://127.0.0.1:$port" --command-timeout=1s \
    endpoint health >/dev/null 2>&1; do
  if ((SECONDS > deadline)) || ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "gridkv did not come up on port $port" >&2
    exit 1
  fi
  sleep 0.2
done

"$build/cmd/gridrouter/gridrouter" --endpoints "127.0.0.1:$port" --prefix /grid/routes \
  --listen "127.0.0.1:$router_port" --admin "127.0.0.1:$admin_port" &
pids+=($!)

ctl="ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:$port"
cat <<MSG

grid started
  gridkv:      http://127.0.0.1:$port   (data: $data)
  gridrouter:  http://127.0.0.1:$router_port   admin: http://127.0.0.1:$admin_port/routes /cells /metrics
  try:         $ctl put greeting hello
               $ctl endpoint status -w table
  route a tenant:
               $ctl put /grid/routes/router '{"tenant_key_sources":[{"type":"header","name":"X-Tenant"}]}'
               $ctl put /grid/routes/cells/c1 '{"backends":[{"address":"127.0.0.1:8000"}]}'
               $ctl put /grid/routes/tenants/acme '{"cell":"c1"}'
               python3 -m http.server --bind 127.0.0.1 8000 &
               curl -H 'X-Tenant: acme' http://127.0.0.1:$router_port/

MSG
wait -n "${pids[@]}"
