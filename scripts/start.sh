#!/usr/bin/env bash
# Installs what is missing, builds, and starts a local grid on the embedded defaults:
#   - the control plane's store: one gridkv member on http://127.0.0.1:2379 (GRID_CLIENT_PORT);
#   - gridmas, the control plane, API on http://127.0.0.1:7070 (GRID_MAS_PORT), running its
#     instances from ~/.local/share/grid/mas (GRID_DATA_DIR/mas);
#   - declared as specs (examples/local-grid.yaml) and brought up by gridmas: KVCluster "main"
#     (3 gridkv members) and RouterFleet "edge" (2 gridrouters behind an L4 front on
#     127.0.0.1:8080, GRID_ROUTER_PORT, reading their route table under /grid/routes);
#   - two demo backends in two cells, and a route table sending tenant "acme" to cell c1 and
#     "globex" to cell c2 (header X-Tenant).
# Ctrl-C stops everything; the data stays and the next start resumes it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" gridkv gridrouter gridmas gridctl
build=${GRID_BUILD_DIR:-$root/build}
port=${GRID_CLIENT_PORT:-2379}
peer_port=${GRID_PEER_PORT:-2380}
mas_port=${GRID_MAS_PORT:-7070}
router_port=${GRID_ROUTER_PORT:-8080}
data=${GRID_DATA_DIR:-${HOME:-/root}/.local/share/grid}
mkdir -p "$data"

pids=()
stop() {
  # gridmas first (it stops the instances it runs), then the store and the demo backends.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT TERM

wait_until() {  # wait_until SECONDS WHAT COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then echo "start: $what did not happen within the deadline" >&2; exit 1; fi
    sleep 0.2
  done
}

"$build/cmd/gridkv/gridkv" --name control --data-dir "$data/control" \
  --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "control=http://127.0.0.1:$peer_port" >>"$data/control.log" 2>&1 &
pids=($! "${pids[@]}")
etcdctl() { ETCDCTL_API=3 command etcdctl --endpoints="http://127.0.0.1:$port" --command-timeout=2s "$@"; }
wait_until 60 "the control-plane store answering on port $port" etcdctl endpoint health

"$build/cmd/gridmas/gridmas" --endpoints "127.0.0.1:$port" --listen "127.0.0.1:$mas_port" \
  --root "$data/mas" --replica local --stop-instances-on-exit 2>>"$data/gridmas.log" >/dev/null &
pids=($! "${pids[@]}")
gridctl() { "$build/cmd/gridctl/gridctl" --server "http://127.0.0.1:$mas_port" "$@"; }
wait_until 60 "gridmas answering on port $mas_port" gridctl get kv

# Demo backends, one per cell, and the route table the fleet serves.
backend_ports=()
for cell in c1 c2; do
  log="$data/backend-$cell.out"
  python3 "$root/tests/router/backend.py" --name "$cell" >"$log" 2>&1 &
  pids=($! "${pids[@]}")
  wait_until 20 "the $cell backend listening" grep -q "listening on" "$log"
  backend_ports+=("$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$log" | head -1)")
done
etcdctl put /grid/routes/router '{"tenant_key_sources":[{"type":"header","name":"X-Tenant"}]}' >/dev/null
etcdctl put /grid/routes/cells/c1 "{\"backends\":[{\"address\":\"127.0.0.1:${backend_ports[0]}\"}]}" >/dev/null
etcdctl put /grid/routes/cells/c2 "{\"backends\":[{\"address\":\"127.0.0.1:${backend_ports[1]}\"}]}" >/dev/null
etcdctl put /grid/routes/tenants/acme '{"cell":"c1"}' >/dev/null
etcdctl put /grid/routes/tenants/globex '{"cell":"c2"}' >/dev/null

sed "s/127.0.0.1:8080/127.0.0.1:$router_port/" "$root/examples/local-grid.yaml" | gridctl apply -f -
gridctl wait kv main --for phase=Run --timeout 120s
gridctl wait rf edge --for phase=Run --timeout 120s
gridctl get kv
gridctl get rf
endpoints=$(gridctl get kv main -o json | python3 -c \
  'import json,sys; print(",".join(m["clientURL"] for m in json.load(sys.stdin)["status"]["members"]))')

cat <<MSG

grid started (logs and data: $data)
  control plane:  gridmas  http://127.0.0.1:$mas_port   store http://127.0.0.1:$port
  console:        http://127.0.0.1:$mas_port/console
  KVCluster main: $endpoints
  RouterFleet edge: http://127.0.0.1:$router_port  (tenants by header X-Tenant: acme -> c1, globex -> c2)
  try:
    $build/cmd/gridctl/gridctl describe kv main
    ETCDCTL_API=3 etcdctl --endpoints=$endpoints endpoint status -w table
    curl -H 'X-Tenant: acme' http://127.0.0.1:$router_port/
    curl -H 'X-Tenant: globex' http://127.0.0.1:$router_port/
    $build/cmd/gridctl/gridctl scale kv main --members 5 --wait
    $build/cmd/gridctl/gridctl inspect kv main
  Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
