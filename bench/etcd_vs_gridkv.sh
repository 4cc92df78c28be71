#!/usr/bin/env bash
# Compares a server under test with real etcd using etcd 3.4's own
# `benchmark` tool (tools/benchmark), same flags for both.
#
# usage: etcd_vs_gridkv.sh [options] SERVER_BINARY
#   SERVER_BINARY          server under test (pass etcd itself to check the script)
#   --etcd PATH            reference etcd (default: etcd on PATH)
#   --build-dir DIR        cache for the built benchmark tool (default: ./bench-build)
#   --rounds N             etcd/gridkv pairs per test, alternating (default: 2)
#   --seconds N            target duration of each run (default: 15); the
#                          request totals are sized from a short calibration
#                          run against etcd and then used for both servers
#   --tests "a b .."       subset of: put range-l range-s txn-put watch-latency
#                          lease-keepalive stm
#   --members 1|3          members per server cluster (default: 1)
#   --floor PATH           also run the build's grpc_floor (an etcd KV endpoint that
#                          stores nothing) answering inline and from another thread,
#                          for put, range-l, range-s and txn-put: the gRPC ceiling of
#                          this machine, in the same rounds (one member only)
#   --h2-floor PATH        also run the build's h2_floor (the same endpoint on
#                          nghttp2 and an epoll loop per CPU, no gRPC library),
#                          inline and handoff, for the same tests: what a server of
#                          the project's own could reach (one member only)
#   --keep                 keep logs and data dirs
#
# Every run gets a fresh server (with --members 3: a fresh 3-member cluster,
# the benchmark tool given all three client endpoints) on free loopback ports
# and temp data dirs; runs alternate etcd, server under test, etcd, ... (one
# pair per test). Common flags: 10 conns, 100 clients, 8-byte keys, 256-byte
# values. Output: a table with req/s and p99 latency of both servers and
# their ratios (under-test / etcd), and VmHWM/VmRSS of each server after its
# run (with 3 members: the largest member's and the sum over members). With
# --floor, a second table: both floors' req/s and p99 and gridkv's ratio to each;
# with --h2-floor, a third: h2_floor's req/s and p99 against etcd and grpc_floor.
#
# Building the tool: it is not in golang-etcd-server-dev, so the script adds
# deb-src entries mirroring the machine's deb entries to a PRIVATE apt
# configuration (temp dir; the system's apt state is not touched), fetches
# the etcd source package, unpacks tools/benchmark into a temp GOPATH as
# go.etcd.io/etcd/tools/benchmark and builds it in GOPATH mode against the
# packaged Go sources (GOPATH=<tmp>:/usr/share/gocode). Needs dpkg-dev.
set -euo pipefail

etcd_bin=$(command -v etcd || true)
build_dir=$PWD/bench-build
target_seconds=15
rounds=2
tests="put range-l range-s txn-put watch-latency lease-keepalive stm"
members=1
floor=
h2_floor=
keep=0
server=
gocode=/usr/share/gocode
CONNS=10
CLIENTS=100
KEY_BYTES=8
VALUE_BYTES=256
CALIBRATION_SECONDS_MIN=2
READY_DEADLINE_SECONDS=30

while [[ $# -gt 0 ]]; do
  case $1 in
    --etcd) etcd_bin=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --seconds) target_seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    --members) members=$2; shift 2 ;;
    --floor) floor=$2; shift 2 ;;
    --h2-floor) h2_floor=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) server=$1; shift ;;
  esac
done
[[ -n $server && -x $server ]] || { echo "usage: $0 [options] SERVER_BINARY" >&2; exit 2; }
[[ -x $etcd_bin ]] || { echo "etcd not found: '$etcd_bin'" >&2; exit 2; }
[[ $members == 1 || $members == 3 ]] || { echo "--members must be 1 or 3" >&2; exit 2; }
if [[ -n $floor ]]; then
  [[ -x $floor ]] || { echo "--floor: not an executable: '$floor'" >&2; exit 2; }
  [[ $members == 1 ]] || { echo "--floor needs --members 1" >&2; exit 2; }
fi
if [[ -n $h2_floor ]]; then
  [[ -x $h2_floor ]] || { echo "--h2-floor: not an executable: '$h2_floor'" >&2; exit 2; }
  [[ $members == 1 ]] || { echo "--h2-floor needs --members 1" >&2; exit 2; }
fi
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/etcd-bench.XXXXXX")
server_pids=()

cleanup() {
  stop_server
  if [[ $keep == 1 ]]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- build the benchmark tool (cached) ------------------------------------
bench=$build_dir/etcd-benchmark
build_benchmark() {
  local t=$work/src apt_opts
  mkdir -p "$t/sources.d" "$t/lists/partial" "$t/cache/archives/partial" "$t/pkg"
  local n=0 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -e $f ]] || continue
    sed -e 's/^Types:.*$/Types: deb-src/' "$f" > "$t/sources.d/src$n.sources"; n=$((n + 1))
  done
  if [[ -f /etc/apt/sources.list ]]; then
    grep -E '^deb ' /etc/apt/sources.list | sed -e 's/^deb /deb-src /' > "$t/sources.d/src.list" || true
  fi
  apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$t/sources.d"
            -o "Dir::State::Lists=$t/lists" -o "Dir::Cache=$t/cache" -o "Debug::NoLocking=1")
  echo "fetching the etcd source package ..." >&2
  apt-get -q "${apt_opts[@]}" update >"$t/apt.log" 2>&1
  (cd "$t/pkg" && apt-get -q "${apt_opts[@]}" source --download-only etcd >>"$t/apt.log" 2>&1)
  command -v dpkg-source >/dev/null || { echo "dpkg-source missing: install dpkg-dev" >&2; exit 2; }
  (cd "$t/pkg" && dpkg-source -x ./*.dsc etcd-src >>"$t/apt.log" 2>&1)
  mkdir -p "$t/gopath/src/go.etcd.io/etcd/tools"
  cp -r "$t/pkg/etcd-src/tools/benchmark" "$t/gopath/src/go.etcd.io/etcd/tools/"
  echo "building the benchmark tool ..." >&2
  (cd "$t/gopath/src/go.etcd.io/etcd/tools/benchmark" &&
     GO111MODULE=off GOFLAGS= GOPATH="$t/gopath:$gocode" go build -o "$bench.tmp" .)
  mv "$bench.tmp" "$bench"
}
[[ -x $bench ]] || build_benchmark

# --- servers --------------------------------------------------------------
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server BINARY LABEL: starts $members members (bench0..), sets server_pids and
# endpoint (all members' client addresses, comma-separated); waits until each is healthy.
start_server() {
  local bin=$1 label=$2 dir i cluster=
  local -a cports=() pports=()
  dir=$work/$label.$RANDOM
  for ((i = 0; i < members; i++)); do
    cports[i]=$(free_port); pports[i]=$(free_port)
    cluster+="${cluster:+,}bench$i=http://127.0.0.1:${pports[i]}"
  done
  endpoint=
  for ((i = 0; i < members; i++)); do
    mkdir -p "$dir/$i"
    "$bin" --name "bench$i" --data-dir "$dir/$i/data" \
      --listen-client-urls "http://127.0.0.1:${cports[i]}" --advertise-client-urls "http://127.0.0.1:${cports[i]}" \
      --listen-peer-urls "http://127.0.0.1:${pports[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${pports[i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token bench --log-level error >"$dir/$i/server.log" 2>&1 &
    server_pids+=($!)
    endpoint+="${endpoint:+,}127.0.0.1:${cports[i]}"
  done
  local deadline=$((SECONDS + READY_DEADLINE_SECONDS)) pid
  for ((i = 0; i < members; i++)); do
    until ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:${cports[i]}" --command-timeout 2s endpoint health >/dev/null 2>&1; do
      for pid in "${server_pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null || (( SECONDS > deadline )); then
          echo "$label did not become healthy; log:" >&2; tail -20 "$dir"/*/server.log >&2; exit 1
        fi
      done
      sleep 0.1
    done
  done
}

stop_server() {
  local pid
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  server_pids=()
}

# start_floor MODE: one grpc_floor answering MODE (inline|handoff), or with MODE
# h2-inline|h2-handoff one h2_floor; sets server_pids, endpoint.
start_floor() {
  local port dir=$work/floor-$1.$RANDOM deadline=$((SECONDS + READY_DEADLINE_SECONDS))
  port=$(free_port); mkdir -p "$dir"
  if [[ $1 == h2-* ]]; then
    "$h2_floor" --listen-client-urls "http://127.0.0.1:$port" --answer "${1#h2-}" >"$dir/server.log" 2>&1 &
  else
    "$floor" --listen-client-urls "http://127.0.0.1:$port" --answer "$1" >"$dir/server.log" 2>&1 &
  fi
  server_pids+=($!)
  endpoint=127.0.0.1:$port
  until ETCDCTL_API=3 etcdctl --endpoints "$endpoint" --command-timeout 2s endpoint health >/dev/null 2>&1; do
    if ! kill -0 "${server_pids[0]}" 2>/dev/null || (( SECONDS > deadline )); then
      echo "floor ($1) did not become healthy; log:" >&2; tail -20 "$dir/server.log" >&2; exit 1
    fi
    sleep 0.1
  done
}

# memory_mb: "HWM/RSS" in MiB of the running server; with several members, of the largest
# (each figure its own maximum), then " HWM/RSS" summed over members.
memory_mb() {
  local pid
  for pid in "${server_pids[@]}"; do cat "/proc/$pid/status"; done |
    awk -v n="$members" '/^VmHWM/ {h = $2; sh += h; if (h > mh) mh = h}
                         /^VmRSS/ {r = $2; sr += r; if (r > mr) mr = r}
                         END {printf "%.0f/%.0f", mh/1024, mr/1024
                              if (n > 1) printf " %.0f/%.0f", sh/1024, sr/1024}'
}

# --- one benchmark run ----------------------------------------------------
bench_args() {  # bench_args TEST TOTAL
  local common=(--endpoints "$endpoint" --conns "$CONNS" --clients "$CLIENTS")
  case $1 in
    put) echo "${common[*]} put --key-size $KEY_BYTES --val-size $VALUE_BYTES --sequential-keys --key-space-size 1000000 --total $2" ;;
    range-l) echo "${common[*]} range benchkey --consistency l --total $2" ;;
    range-s) echo "${common[*]} range benchkey --consistency s --total $2" ;;
    txn-put) echo "${common[*]} txn-put --key-size $KEY_BYTES --val-size $VALUE_BYTES --key-space-size 1000000 --total $2" ;;
    watch-latency) echo "${common[*]} watch-latency --key-size $KEY_BYTES --val-size $VALUE_BYTES --put-rate 1000 --total $2" ;;
    lease-keepalive) echo "${common[*]} lease-keepalive --total $2" ;;
    stm) echo "${common[*]} stm --keys 1000 --keys-per-txn 2 --val-size $VALUE_BYTES --total $2" ;;
    *) echo "unknown test $1" >&2; exit 2 ;;
  esac
}

# run_one TEST TOTAL LOG: prints "reqs p99ms secs"
run_one() {
  local value
  value=$(head -c "$VALUE_BYTES" /dev/zero | tr '\0' v)
  ETCDCTL_API=3 etcdctl --endpoints "$endpoint" put benchkey "$value" >/dev/null
  # shellcheck disable=SC2046
  "$bench" $(bench_args "$1" "$2") >"$3" 2>&1
  awk '/Requests\/sec:/ {r=$2} /^ *99% in/ {p=$3*1000} /^ *Total:/ {t=$2}
       END {printf "%s %.2f %s\n", r, p, t}' "$3"
}

# --- main -----------------------------------------------------------------
declare -A total
echo "calibrating totals for ~${target_seconds}s runs against etcd ..." >&2
start_server "$etcd_bin" calibrate
for t in $tests; do
  cal=2000
  while :; do
    read -r _ _ secs < <(run_one "$t" "$cal" "$work/cal-$t.log")
    if awk -v s="$secs" -v m="$CALIBRATION_SECONDS_MIN" 'BEGIN {exit !(s >= m)}'; then break; fi
    cal=$((cal * 4))
  done
  total[$t]=$(awk -v c="$cal" -v s="$secs" -v g="$target_seconds" 'BEGIN {printf "%d", c * g / s}')
done
stop_server

# Each round runs every test on etcd and then on the server under test (then on the two
# floors); the table shows the mean over rounds (memory: the last round's).
floor_tests=" put range-l range-s txn-put "
declare -A res mem
for ((round = 1; round <= rounds; round++)); do
  for t in $tests; do
    sides="etcd sut"
    if [[ -n $floor && $floor_tests == *" $t "* ]]; then sides+=" floor-inline floor-handoff"; fi
    if [[ -n $h2_floor && $floor_tests == *" $t "* ]]; then sides+=" floor-h2-inline floor-h2-handoff"; fi
    for side in $sides; do
      case $side in
        etcd) start_server "$etcd_bin" "$side-$t-$round" ;;
        sut) start_server "$server" "$side-$t-$round" ;;
        floor-*) start_floor "${side#floor-}" ;;
      esac
      one=$(run_one "$t" "${total[$t]}" "$work/$side-$t-$round.log")
      res[$side,$t]="${res[$side,$t]:-} $one"
      mem[$side,$t]=$(memory_mb)
      stop_server
      echo "  round $round $t $side: $one (req/s p99ms secs), HWM/RSS MiB ${mem[$side,$t]}" >&2
    done
  done
done
# "r1 p1 s1 r2 p2 s2 ..." -> "mean_r mean_p"
mean() { awk '{ for (i = 1; i <= NF; i += 3) { r += $i; p += $(i + 1); n++ } } END { if (n) printf "%.1f %.2f", r / n, p / n }' <<<"$1"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }'; }
echo
echo "etcd: $etcd_bin"
echo "under test: $server"
cluster_note=
mem_head=("etcd MiB h/r" "gridkv MiB h/r")
mem_width=13
if (( members > 1 )); then
  cluster_note=" members=$members (memory: largest member, sum over members)"
  mem_head=("etcd max h/r" "gridkv max h/r" "etcd sum h/r" "gridkv sum h/r")
  mem_width=14
fi
echo "conns=$CONNS clients=$CLIENTS key=${KEY_BYTES}B value=${VALUE_BYTES}B rounds=$rounds (means)$cluster_note"
mem_fmt=$(printf " | %%${mem_width}s%.0s" "${mem_head[@]}")
printf "%-16s | %9s | %12s | %12s | %6s | %11s | %13s | %6s${mem_fmt}\n" \
  test total "etcd req/s" "gridkv req/s" ratio "etcd p99 ms" "gridkv p99 ms" ratio "${mem_head[@]}"
for t in $tests; do
  read -r er ep <<<"$(mean "${res[etcd,$t]}")"
  read -r gr gp <<<"$(mean "${res[sut,$t]}")"
  read -r emax esum <<<"${mem[etcd,$t]}"
  read -r gmax gsum <<<"${mem[sut,$t]}"
  mem_cols=("$emax" "$gmax")
  if (( members > 1 )); then mem_cols+=("$esum" "$gsum"); fi
  printf "%-16s | %9s | %12.0f | %12.0f | %6s | %11s | %13s | %6s${mem_fmt}\n" \
    "$t" "${total[$t]}" "${er:-0}" "${gr:-0}" "$(ratio "${er:-0}" "${gr:-0}")" "${ep:--}" "${gp:--}" "$(ratio "${ep:-0}" "${gp:-0}")" \
    "${mem_cols[@]}"
done
if [[ -n $floor ]]; then
  echo
  echo "gRPC floor: grpc_floor, an etcd KV endpoint that stores nothing, answering on the gRPC"
  echo "thread (inline) or from one other thread (handoff, as a store answering after a log sync)"
  printf "%-16s | %14s | %13s | %15s | %14s | %13s | %14s\n" \
    test "inline req/s" "inline p99 ms" "handoff req/s" "handoff p99 ms" "gridkv/inline" "gridkv/handoff"
  for t in $tests; do
    [[ $floor_tests == *" $t "* ]] || continue
    read -r ir ip <<<"$(mean "${res[floor-inline,$t]}")"
    read -r hr hp <<<"$(mean "${res[floor-handoff,$t]}")"
    read -r gr _ <<<"$(mean "${res[sut,$t]}")"
    printf "%-16s | %14.0f | %13s | %15.0f | %14s | %13s | %14s\n" \
      "$t" "${ir:-0}" "${ip:--}" "${hr:-0}" "${hp:--}" "$(ratio "${ir:-0}" "${gr:-0}")" "$(ratio "${hr:-0}" "${gr:-0}")"
  done
fi
if [[ -n $h2_floor ]]; then
  echo
  echo "HTTP/2 floor: h2_floor, the same endpoint on nghttp2 and one epoll loop per CPU, no gRPC"
  echo "library, answering on the loop (inline) or after a round trip through one other thread"
  echo "(handoff); the ratios to grpc_floor compare the same answering mode"
  printf "%-16s | %10s | %9s | %11s | %10s | %9s | %10s | %11s | %11s\n" \
    test "h2i req/s" "h2i p99" "h2h req/s" "h2h p99" "h2i/etcd" "h2h/etcd" "h2i/inline" "h2h/handoff"
  for t in $tests; do
    [[ $floor_tests == *" $t "* ]] || continue
    read -r xr xp <<<"$(mean "${res[floor-h2-inline,$t]}")"
    read -r yr yp <<<"$(mean "${res[floor-h2-handoff,$t]}")"
    read -r er _ <<<"$(mean "${res[etcd,$t]}")"
    read -r ir _ <<<"$(mean "${res[floor-inline,$t]:-}")"
    read -r hr _ <<<"$(mean "${res[floor-handoff,$t]:-}")"
    printf "%-16s | %10.0f | %9s | %11.0f | %10s | %9s | %10s | %11s | %11s\n" \
      "$t" "${xr:-0}" "${xp:--}" "${yr:-0}" "${yp:--}" "$(ratio "${er:-0}" "${xr:-0}")" \
      "$(ratio "${er:-0}" "${yr:-0}")" "$(ratio "${ir:-0}" "${xr:-0}")" "$(ratio "${hr:-0}" "${yr:-0}")"
  done
fi
