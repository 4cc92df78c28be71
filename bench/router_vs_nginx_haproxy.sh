#!/usr/bin/env bash
# gridrouter against nginx and HAProxy as HTTP/1.1 reverse proxies, with wrk.
#
# usage: router_vs_nginx_haproxy.sh [--threads N] [--seconds S] [--connections C]
#                                   [--rounds R] GRIDROUTER_BINARY
#   --threads N       worker threads/processes of every proxy (default 1)
#   --seconds S       wrk duration per run (default 8)
#   --connections C   wrk connections (default 64); wrk runs one thread
#   --rounds R        runs per proxy, interleaved (default 1); the table shows the best
#
# One upstream for all: nginx answering every request with a 1 KiB body (keep-alive).
# Proxies keep upstream connections alive: nginx with an upstream keepalive pool,
# proxy_http_version 1.1 and an empty Connection header; HAProxy in http mode with
# http-reuse always; gridrouter pools by itself. Logging off everywhere. Everything on
# loopback ports chosen at start; every process is stopped at the end.
set -euo pipefail

threads=1
seconds=8
connections=64
rounds=1
router=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) router=$1; shift ;;
  esac
done
[[ -x "$router" ]] || { echo "usage: $0 [options] GRIDROUTER_BINARY" >&2; exit 2; }
for tool in nginx haproxy wrk python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
done
NGINX=$(command -v nginx)
HAPROXY=$(command -v haproxy)
READY_DEADLINE_S=10
HAPROXY_MAXCONN=4000

work=$(mktemp -d /tmp/router-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  local port=$1 end=$((SECONDS + READY_DEADLINE_S))
  until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do
    (( SECONDS < end )) || { echo "port $port not ready" >&2; exit 1; }
    sleep 0.05
  done
}

# ---- upstream: nginx with a 1 KiB answer ----
up_port=$(free_port)
body=$(head -c 1024 /dev/zero | tr '\0' 'x')
mkdir -p "$work/upstream"
cat > "$work/upstream/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/upstream/nginx.pid;
error_log $work/upstream/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/upstream;
  proxy_temp_path $work/upstream;
  fastcgi_temp_path $work/upstream;
  uwsgi_temp_path $work/upstream;
  scgi_temp_path $work/upstream;
  server {
    listen 127.0.0.1:$up_port;
    location / { default_type text/plain; return 200 "$body"; }
  }
}
CONF
"$NGINX" -p "$work/upstream" -c "$work/upstream/nginx.conf" &
pids+=($!)
wait_port "$up_port"

# ---- nginx proxy ----
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $threads;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  upstream backend { server 127.0.0.1:$up_port; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
wait_port "$nginx_port"

# ---- HAProxy ----
haproxy_port=$(free_port)
cat > "$work/haproxy.cfg" <<CONF
global
  nbthread $threads
  maxconn $HAPROXY_MAXCONN
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend fe
  bind 127.0.0.1:$haproxy_port
  default_backend be
backend be
  server up 127.0.0.1:$up_port
CONF
"$HAPROXY" -f "$work/haproxy.cfg" -db &
pids+=($!)
wait_port "$haproxy_port"

# ---- gridrouter ----
cat > "$work/routes.yaml" <<CONF
router:
  unknown_tenant: {cell: bench}
cells:
  bench:
    backends: [{address: "127.0.0.1:$up_port"}]
tenants: {}
CONF
"$router" --config "$work/routes.yaml" --listen 127.0.0.1:0 --threads "$threads" \
  > "$work/router.out" 2> "$work/router.err" &
pids+=($!)
router_pid=$!
end=$((SECONDS + READY_DEADLINE_S))
until grep -q '^listening on' "$work/router.out" 2>/dev/null; do
  (( SECONDS < end )) || { echo "gridrouter did not start" >&2; cat "$work/router.err" >&2; exit 1; }
  sleep 0.05
done
router_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/router.out")

# ---- runs ----
declare -A best_rps best_p99
run() {  # name port
  local out rps p99
  out=$(wrk -t1 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$2/")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: non-2xx answers" >&2; fi
  # p99 in ms whatever unit wrk chose.
  p99=$(python3 -c "
v='$p99'
for u, f in (('us', 1e-3), ('ms', 1.0), ('s', 1e3)):
    if v.endswith(u):
        print(round(float(v[:-len(u)]) * f, 3)); break")
  echo "  $1: $rps req/s, p99 $p99 ms" >&2
  if [[ -z "${best_rps[$1]:-}" ]] || python3 -c "import sys; sys.exit(0 if $rps > ${best_rps[$1]} else 1)"; then
    best_rps[$1]=$rps
    best_p99[$1]=$p99
  fi
}
# Warm every proxy's upstream pool.
for p in "$nginx_port" "$haproxy_port" "$router_port"; do
  wrk -t1 -c"$connections" -d1s "http://127.0.0.1:$p/" >/dev/null
done
for ((r = 1; r <= rounds; r++)); do
  echo "round $r" >&2
  run gridrouter "$router_port"
  run nginx "$nginx_port"
  run haproxy "$haproxy_port"
done
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$router_pid/status")

printf '\n%-11s %12s %10s %14s %14s\n' proxy req/s p99_ms rps_vs_router p99_vs_router
for name in gridrouter nginx haproxy; do
  python3 -c "
r, p = ${best_rps[$name]}, ${best_p99[$name]}
gr, gp = ${best_rps[gridrouter]}, ${best_p99[gridrouter]}
print(f'%-11s %12.0f %10.3f %14.2f %14.2f' % ('$name', r, p, r / gr, p / gp if gp else 0))"
done
echo "threads $threads, wrk -t1 -c$connections -d${seconds}s, 1 KiB responses; gridrouter VmHWM $((hwm / 1024)) MiB"
