#!/usr/bin/env bash
# gridrouter against nginx and HAProxy as keep-alive HTTP/1.1 reverse proxies, with wrk.
#
# usage: router_vs_nginx_haproxy.sh [--threads "1 2"] [--sizes "1k 64k"] [--rounds R]
#            [--duration 8s] [--warmup 1s] [--connections 64] [--wrk-threads 1]
#            [--out DIR] GRIDROUTER_BINARY
#   --threads LIST      worker counts to measure; each proxy gets the same count
#                       (gridrouter --threads N, nginx worker_processes N, HAProxy nbthread N)
#   --sizes LIST        response body sizes (bytes, or with a k suffix: KiB)
#   --rounds R          measured runs per program and configuration (default 3); the
#                       programs alternate round by round, in a rotating order
#   --duration D        wrk -d of a measured run (default 8s)
#   --warmup D          wrk -d of the warm-up run before every measured run (default 1s)
#   --connections C     wrk -c (default 64)
#   --wrk-threads T     wrk -t (default 1)
#   --out DIR           where the table (summary.txt), per-run records (runs.jsonl), raw wrk
#                       output, the generated configs and the proxies' logs go
#                       (default: a new temp dir)
#
# Upstream (one for the whole run): nginx, one worker, serving static files of each size
# from a temp dir on its own loopback port, keep-alive without a request limit.
# References: nginx proxy with an upstream block (keepalive pool), proxy_http_version 1.1,
# an empty Connection header, no access log, no disk buffering of responses, no request
# limit per connection; HAProxy in http mode with http-reuse always, nbthread N, no log
# target, maxconn below the open-file limit. gridrouter: a YAML table sending every request
# (unknown_tenant -> the cell) to the upstream; no access log. For every (threads, size)
# the three proxies are started fresh (so the peak RSS belongs to that configuration),
# each answer is checked (status 200, body length) and then measured. CPU seconds of each
# proxy over its measured run give cpu us/req. Ports are chosen free at start; every
# process started here is stopped on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
threads_list="1 2"
sizes="1k 64k"
rounds=3
duration=8s
warmup=1s
connections=64
wrk_threads=1
out=
router=
usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads_list=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --wrk-threads) wrk_threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
    *) router=$1; shift ;;
  esac
done
[[ -n "$router" && -x "$router" ]] || { usage >&2; exit 2; }
router=$(cd "$(dirname "$router")" && pwd)/$(basename "$router")
for tool in nginx haproxy wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
done
NGINX=$(command -v nginx)
HAPROXY=$(command -v haproxy)
READY_DEADLINE_S=15
STOP_DEADLINE_S=10
HAPROXY_MAXCONN=4096
PROXY_WORKER_CONNECTIONS=4096
ROUTER_DRAIN_DEADLINE_MS=1000
open_files=$(ulimit -n)
if [[ "$open_files" != unlimited ]] && (( 2 * HAPROXY_MAXCONN + 100 > open_files )); then
  echo "open-file limit $open_files too low for HAProxy maxconn $HAPROXY_MAXCONN" >&2
  exit 2
fi

bytes_of() {  # 1k -> 1024, 512 -> 512
  case "$1" in
    *[kK]) echo $(( ${1%[kK]} * 1024 )) ;;
    *[mM]) echo $(( ${1%[mM]} * 1024 * 1024 )) ;;
    *) echo $(( $1 )) ;;
  esac
}

pids=()
work=
stop_pid() {  # TERM, then KILL after the deadline; reaps the child.
  local pid=$1 end
  kill -TERM "$pid" 2>/dev/null || return 0
  end=$((SECONDS + STOP_DEADLINE_S))
  while [[ -e /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; do
    if (( SECONDS >= end )); then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.02
  done
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local p
  for p in "${pids[@]}"; do stop_pid "$p"; done
  [[ -z "$work" ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
work=$(mktemp -d "${TMPDIR:-/tmp}/router-bench.XXXXXX")
chmod 755 "$work"  # nginx workers run as another user when started as root
[[ -n "$out" ]] || out=$(mktemp -d "${TMPDIR:-/tmp}/router-bench-out.XXXXXX")
mkdir -p "$out/raw" "$out/configs" "$out/logs"
: > "$out/runs.jsonl"

free_ports() {  # N distinct free loopback ports
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

wait_port() {  # port pid name logfile: until the port accepts, the process alive, the deadline
  local port=$1 pid=$2 name=$3 log=$4 end=$((SECONDS + READY_DEADLINE_S))
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before listening; its log:" >&2; cat "$log" >&2; exit 1
    fi
    (( SECONDS < end )) || { echo "$name: port $port not ready in ${READY_DEADLINE_S}s" >&2; cat "$log" >&2; exit 1; }
    sleep 0.02
  done
}

nginx_common() {  # dir: settings every nginx here shares (paths inside its own prefix)
  local dir=$1 user_line=
  (( EUID != 0 )) || user_line="user root root;"
  cat <<CONF
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
$user_line
CONF
}
nginx_temp_paths() {
  local dir=$1
  cat <<CONF
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
CONF
}
start_nginx() {  # dir -> pid in $started_pid
  local dir=$1
  "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" > "$dir/stdout.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
}

# ---- upstream: nginx, one worker, static files ----
mkdir -p "$work/upstream" "$work/www"
for size in $sizes; do
  head -c "$(bytes_of "$size")" /dev/zero | tr '\0' 'x' > "$work/www/$size"
done
chmod 755 "$work/www"; chmod 644 "$work/www"/*
read -r up_port <<<"$(free_ports 1)"
common=$(nginx_common "$work/upstream")
temp_paths=$(nginx_temp_paths "$work/upstream")
cat > "$work/upstream/nginx.conf" <<CONF
worker_processes 1;
$common
events { worker_connections $PROXY_WORKER_CONNECTIONS; }
http {
  access_log off;
$temp_paths
  sendfile on;
  tcp_nopush on;
  open_file_cache max=64 inactive=600s;
  open_file_cache_valid 600s;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$up_port;
    root $work/www;
  }
}
CONF
cp "$work/upstream/nginx.conf" "$out/configs/upstream-nginx.conf"
start_nginx "$work/upstream"
upstream_pid=$started_pid
wait_port "$up_port" "$upstream_pid" upstream "$work/upstream/error.log"

# ---- the proxies of one configuration ----
start_proxies() {  # threads
  local n=$1 dir
  read -r nginx_port haproxy_port <<<"$(free_ports 2)"

  dir="$work/nginx-$n"; mkdir -p "$dir"
  local common temp_paths
  common=$(nginx_common "$dir")
  temp_paths=$(nginx_temp_paths "$dir")
  cat > "$dir/nginx.conf" <<CONF
worker_processes $n;
$common
events { worker_connections $PROXY_WORKER_CONNECTIONS; }
http {
  access_log off;
$temp_paths
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  upstream backend {
    server 127.0.0.1:$up_port;
    keepalive 128;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }
  }
}
CONF
  cp "$dir/nginx.conf" "$out/configs/nginx-t$n.conf"
  start_nginx "$dir"
  nginx_pid=$started_pid
  nginx_log="$dir/error.log"

  dir="$work/haproxy-$n"; mkdir -p "$dir"
  cat > "$dir/haproxy.cfg" <<CONF
global
  nbthread $n
  maxconn $HAPROXY_MAXCONN
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
  http-reuse always
frontend fe
  bind 127.0.0.1:$haproxy_port
  default_backend be
backend be
  server up 127.0.0.1:$up_port
CONF
  cp "$dir/haproxy.cfg" "$out/configs/haproxy-t$n.cfg"
  "$HAPROXY" -db -f "$dir/haproxy.cfg" > "$dir/haproxy.log" 2>&1 &
  haproxy_pid=$!
  pids+=("$haproxy_pid")
  haproxy_log="$dir/haproxy.log"

  dir="$work/gridrouter-$n"; mkdir -p "$dir"
  cat > "$dir/routes.yaml" <<CONF
router:
  unknown_tenant: {cell: bench}
cells:
  bench:
    backends: [{address: "127.0.0.1:$up_port"}]
tenants: {}
CONF
  cp "$dir/routes.yaml" "$out/configs/gridrouter-routes.yaml"
  "$router" --config "$dir/routes.yaml" --listen 127.0.0.1:0 --threads "$n" \
    --drain-deadline-ms "$ROUTER_DRAIN_DEADLINE_MS" > "$dir/stdout.log" 2> "$dir/stderr.log" &
  router_pid=$!
  pids+=("$router_pid")
  local end=$((SECONDS + READY_DEADLINE_S))
  until grep -q '^listening on' "$dir/stdout.log" 2>/dev/null; do
    if ! kill -0 "$router_pid" 2>/dev/null; then
      echo "gridrouter exited:" >&2; cat "$dir/stderr.log" >&2; exit 1
    fi
    (( SECONDS < end )) || { echo "gridrouter did not start" >&2; cat "$dir/stderr.log" >&2; exit 1; }
    sleep 0.02
  done
  router_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$dir/stdout.log")

  wait_port "$nginx_port" "$nginx_pid" nginx "$nginx_log"
  wait_port "$haproxy_port" "$haproxy_pid" haproxy "$haproxy_log"
  wait_port "$router_port" "$router_pid" gridrouter "$dir/stderr.log"
}

stop_proxies() {  # size: stops the three proxies and keeps their logs
  local p keep=() tag="t$n-$1"
  for p in "$nginx_pid" "$haproxy_pid" "$router_pid"; do stop_pid "$p"; done
  cp "$work/nginx-$n/error.log" "$out/logs/nginx-$tag.log"
  cp "$work/haproxy-$n/haproxy.log" "$out/logs/haproxy-$tag.log"
  cp "$work/gridrouter-$n/stderr.log" "$out/logs/gridrouter-$tag.log"
  for p in "${pids[@]}"; do
    [[ $p == "$nginx_pid" || $p == "$haproxy_pid" || $p == "$router_pid" ]] || keep+=("$p")
  done
  pids=("${keep[@]}")
}

port_of() { case "$1" in gridrouter) echo "$router_port" ;; nginx) echo "$nginx_port" ;; haproxy) echo "$haproxy_port" ;; esac; }
pid_of() { case "$1" in gridrouter) echo "$router_pid" ;; nginx) echo "$nginx_pid" ;; haproxy) echo "$haproxy_pid" ;; esac; }
procs_of() {  # the process and its children (nginx workers)
  local pid; pid=$(pid_of "$1")
  # shellcheck disable=SC2046  # one word per child pid
  echo "$pid" $(cat "/proc/$pid/task/"*/children 2>/dev/null)
}
cpu_ticks() {  # utime + stime of all threads of the program's processes
  local p total=0 t
  for p in $(procs_of "$1"); do
    t=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}
vmhwm_kib() {
  local p total=0 n=0 k
  for p in $(procs_of "$1"); do
    k=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${k:-0})); n=$((n + 1))
  done
  echo "$total $n"
}
TICKS_PER_S=$(getconf CLK_TCK)

check_answer() {  # program size: status 200 and the whole body through the proxy
  local got want
  want=$(bytes_of "$2")
  got=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$(port_of "$1")/$2")
  [[ "$got" == "200 $want" ]] || { echo "$1 answers /$2 with '$got', want '200 $want'" >&2; exit 1; }
}

cat > "$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %.1f, "p99_us": %.1f, ' ..
    '"p999_us": %.1f, "mean_us": %.1f, "max_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
LUA

programs=(gridrouter nginx haproxy)
started=$SECONDS
{
  echo "gridrouter vs nginx vs HAProxy: wrk -t$wrk_threads -c$connections -d$duration --latency"
  echo "(warm-up $warmup before each measured run), $rounds round(s), programs alternating;"
  echo "upstream: nginx (1 worker) serving static files; $(nproc) CPU(s) shared by wrk, upstream and proxy;"
  echo "$($NGINX -v 2>&1 | sed 's/^nginx version: //'), $($HAPROXY -v | head -1 | awk '{print "HAProxy " $3}'), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$work/meta.txt"
python3 -c 'import json,sys; print(json.dumps({"kind": "meta", "text": open(sys.argv[1]).read().rstrip()}))' \
  "$work/meta.txt" >> "$out/runs.jsonl"
cat "$work/meta.txt" >&2

for n in $threads_list; do
  for size in $sizes; do
    start_proxies "$n"
    for prog in "${programs[@]}"; do check_answer "$prog" "$size"; done
    for ((r = 1; r <= rounds; r++)); do
      for ((i = 0; i < ${#programs[@]}; i++)); do
        prog=${programs[$(( (i + r - 1) % ${#programs[@]} ))]}
        url="http://127.0.0.1:$(port_of "$prog")/$size"
        wrk -t"$wrk_threads" -c"$connections" -d"$warmup" "$url" > /dev/null
        before=$(cpu_ticks "$prog")
        raw="$out/raw/t$n-$size-$prog-r$r.txt"
        wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$work/report.lua" "$url" > "$raw"
        after=$(cpu_ticks "$prog")
        json=$(sed -n 's/^WRKJSON //p' "$raw")
        [[ -n "$json" ]] || { echo "no wrk report in $raw" >&2; cat "$raw" >&2; exit 1; }
        cpu_s=$(python3 -c "print(($after - $before) / $TICKS_PER_S)")
        printf '{"kind": "run", "threads": %d, "size": "%s", "program": "%s", "round": %d, "cpu_s": %s, "wrk": %s}\n' \
          "$n" "$size" "$prog" "$r" "$cpu_s" "$json" >> "$out/runs.jsonl"
        echo "threads $n size $size round $r $prog: $(awk '/^Requests\/sec:/ {print $2}' "$raw") req/s" >&2
      done
    done
    for prog in "${programs[@]}"; do
      read -r kib count <<<"$(vmhwm_kib "$prog")"
      printf '{"kind": "rss", "threads": %d, "size": "%s", "program": "%s", "vmhwm_kib": %d, "processes": %d}\n' \
        "$n" "$size" "$prog" "$kib" "$count" >> "$out/runs.jsonl"
    done
    stop_proxies "$size"
  done
done
elapsed=$((SECONDS - started))

echo >&2
status=0
python3 "$here/router_bench_summary.py" "$out/runs.jsonl" "$out/summary.txt" || status=$?
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); measuring took ${elapsed}s" | tee -a "$out/summary.txt"
cp "$work/upstream/error.log" "$out/logs/upstream-nginx.log"
echo "table: $out/summary.txt (raw wrk output in $out/raw, configs in $out/configs, logs in $out/logs)"
exit "$status"
