#!/usr/bin/env bash
# Runs etcd 3.4's own end-to-end `etcdctl` tests (go.etcd.io/etcd/tests/e2e)
# against a server binary, unchanged: the harness spawns "<bin-dir>/etcd" and
# drives it with the real etcdctl 3.4.
#
# usage: run_etcd_e2e.sh [options] [SERVER_BINARY]
#   SERVER_BINARY        server under test (default: etcd on PATH)
#   --build-dir DIR      where e2e.test is built and cached (default: ./e2e-build)
#   --etcdctl PATH       etcdctl 3.4 client (default: etcdctl on PATH)
#   --etcd-src DIR       etcd 3.4 Go source tree
#                        (default: /usr/share/gocode/src/go.etcd.io/etcd, from
#                        Debian's golang-etcd-server-dev)
#   --timeout SECONDS    per-test limit (default: 120)
#   --run REGEX          only tests whose name matches REGEX
#   --members N          only tests that start N members (1 or 3)
#   --keep               keep the work dir (logs of every test) after the run
#   --known-failures F   pass iff exactly the tests listed in F fail (see known_failures.txt)
#
# Output: one "PASS name (secs)" / "FAIL name (secs): first error" line per
# test, then "passed/total". Exit status 0 iff every selected test passed.
#
# Which tests: tests/e2e/select_ctl_tests.py reads the e2e sources and keeps
# the TestCtlV3* tests, single-member and 3-member, that use neither client
# TLS nor auth (see its docstring for the exact rule). A selection
# "Test/Sub" runs only the subtests of Test whose name contains the word Sub.
# Real etcd 3.4.23 passes all 77 (69 single-member, 8 three-member).
#
# What the harness passes to each member i (cluster_test.go,
# etcdServerProcessConfigs): name testnameI, client port P = 20000 + 5*i,
# peer port P+1, on "localhost". Single-member tests start testname0 only
# (20000/20001); 3-member tests (withQuorum(), move-leader) start
# testname0..2 on 20000/20001, 20005/20006 and 20010/20011. The ports are
# fixed, so two runs on one host would collide: this script takes a
# host-wide lock file (/tmp, not $TMPDIR) and checks that the ports are free
# before each test.
#   --name testnameI
#   --listen-client-urls http://localhost:P
#   --advertise-client-urls http://localhost:P
#   --listen-peer-urls SCHEME://localhost:P+1
#   --initial-advertise-peer-urls SCHEME://localhost:P+1
#   --initial-cluster-token new
#   --data-dir <tmp>/testnameI.etcdNNNN       (created by the harness)
#   --snapshot-count 100000
#   --initial-cluster testname0=SCHEME://localhost:20001[,testname1=...:20006,testname2=...:20011]
#   --peer-auto-tls            only for tests without withCfg(...) (harness
#                              default config); SCHEME is then "https"
#   --peer-cert-file F --peer-key-file F --peer-trusted-ca-file F
#                              only configPeerTLS; SCHEME is then "https",
#                              otherwise "http"
#   --strict-reconfig-check=false  only the MemberRemove tests
#   --experimental-initial-corrupt-check   every testCtl test
#   --quota-backend-bytes N    only TestCtlV3Alarm (N = 13 pages = 53248)
# Readiness: the harness starts the members concurrently, reads each one's
# stdout+stderr through a pty and waits until two lines have been printed
# that contain "enabled capabilities for version" or "published".
# It stops the server with SIGKILL (expect.ExpectProcess default), and some
# tests restart it on the same data dir (e.g. TestCtlV3Snapshot restore
# flow runs `etcdctl snapshot restore`, an etcd-format offline tool).
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=$PWD/e2e-build
etcdctl_bin=$(command -v etcdctl || true)
etcd_src=/usr/share/gocode/src/go.etcd.io/etcd
per_test_seconds=120
run_regex=
members=
keep=0
server=
known_failures_file=

while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --etcdctl) etcdctl_bin=$2; shift 2 ;;
    --etcd-src) etcd_src=$2; shift 2 ;;
    --timeout) per_test_seconds=$2; shift 2 ;;
    --run) run_regex=$2; shift 2 ;;
    --members) members=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --known-failures) known_failures_file=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) server=$1; shift ;;
  esac
done
[[ -n $server ]] || server=$(command -v etcd || true)
[[ -x $server ]] || { echo "server binary not found: '$server'" >&2; exit 2; }
[[ -x $etcdctl_bin ]] || { echo "etcdctl not found: '$etcdctl_bin'" >&2; exit 2; }
[[ -d $etcd_src/tests/e2e ]] || { echo "etcd source not found in '$etcd_src'" >&2; exit 2; }
server=$(readlink -f "$server")
etcdctl_bin=$(readlink -f "$etcdctl_bin")
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)

# --- build (cached) -------------------------------------------------------
e2e_bin=$build_dir/e2e.test
if [[ ! -x $e2e_bin ]]; then
  gopath_root=${etcd_src%/src/go.etcd.io/etcd}
  echo "building $e2e_bin (GOPATH=$gopath_root) ..." >&2
  GO111MODULE=off GOFLAGS= GOPATH=$gopath_root \
    go test -c go.etcd.io/etcd/tests/e2e -o "$e2e_bin.tmp"
  mv "$e2e_bin.tmp" "$e2e_bin"
fi

# --- one run at a time per host (fixed ports, see above) ------------------
# The ports are host-wide, so the lock is too: it does not follow $TMPDIR.
harness_ports=(20000 20001 20005 20006 20010 20011)
lock_file=/tmp/etcd-e2e-ports.lock
exec 9>>"$lock_file"
# Another run takes 2-4 min; wait well below the ctest TIMEOUT (1800 s).
if ! flock -w 900 9; then echo "could not take $lock_file within 900 s" >&2; exit 2; fi

# --- work dir: fixtures at ../../integration/fixtures from the test cwd ---
work=$(mktemp -d "${TMPDIR:-/tmp}/etcd-e2e.XXXXXX")
cleanup() {
  kill_leftovers
  if [[ $keep == 1 ]]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
# Servers the harness started run in their own session (pty); their data
# dirs live under $work/tmp, which identifies them.
# One grep over all command lines (a fork per process is slow on a busy
# host); the pattern comes from a file so that grep's own command line does
# not match.
kill_leftovers() {
  local f pid
  for f in $(grep -alsF -f <(printf '%s\n' "$work/tmp/") /proc/[0-9]*/cmdline || true); do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [[ $pid != "$$" ]] && kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
mkdir -p "$work/integration" "$work/tests/e2e" "$work/bin" "$work/tmp" "$work/logs"
cp -r "$etcd_src/integration/fixtures" "$work/integration/fixtures"
ln -s "$server" "$work/bin/etcd"
ln -s "$etcdctl_bin" "$work/bin/etcdctl"

# Waits (up to 30 s) until nothing listens on the harness ports: a port
# still held by another program would make the next test fail obscurely.
# Without `ss` (iproute2) the check is skipped.
wait_ports_free() {
  local deadline=$(( $(date +%s) + 30 )) busy
  command -v ss >/dev/null || return 0
  while :; do
    busy=$(ss -Htln 2>/dev/null | awk '{print $4}' | grep -oE '[0-9]+$' |
           grep -xF -f <(printf '%s\n' "${harness_ports[@]}") | sort -u | tr '\n' ' ' || true)
    [[ -z $busy ]] && return 0
    if (( $(date +%s) >= deadline )); then
      echo "harness ports still in use by another program: $busy" >&2
      return 1
    fi
    sleep 1
  done
}

select_args=()
[[ -z $members ]] || select_args=(--members "$members")
tests=$(/usr/bin/python3 "$script_dir/select_ctl_tests.py" "$etcd_src/tests/e2e" \
          "${select_args[@]+"${select_args[@]}"}")
compiled=$("$e2e_bin" -test.list '^TestCtlV3')
# Keep selections whose top-level test is compiled in (the coverage build
# tag picks one of two watch test files).
tests=$(awk -F/ 'NR == FNR { have[$0] = 1; next } ($1 in have)' <(echo "$compiled") - <<<"$tests" | sort -u)
if [[ -n $run_regex ]]; then tests=$(grep -E -- "$run_regex" <<<"$tests" || true); fi

echo "server under test: $server" >&2
passed=0 total=0 failures=()
for t in $tests; do
  total=$((total + 1))
  top=${t%%/*}
  pattern="^${top}\$"
  # "Test/Sub": subtests named "..._Sub" or "Sub_..." (Go turns spaces into _).
  [[ $t == */* ]] && pattern+="/(^|_)${t#*/}(\$|_)"
  log=$work/logs/${t//\//.}.log
  wait_ports_free || exit 2
  start=$(date +%s)
  rc=0
  (cd "$work/tests/e2e" && TMPDIR=$work/tmp timeout -k 10 $((per_test_seconds + 15)) \
     "$e2e_bin" -test.run "$pattern" -test.v -test.count=1 \
       -test.timeout "${per_test_seconds}s" -bin-dir="$work/bin" \
       -cert-dir="$work/integration/fixtures") >"$log" 2>&1 || rc=$?
  secs=$(( $(date +%s) - start ))
  kill_leftovers
  ran=1
  [[ $t == */* ]] && ! grep -q -- "--- PASS: $top/" "$log" && ran=0
  if [[ $rc == 0 && $ran == 1 ]] && grep -q "^--- PASS: $top " "$log"; then
    passed=$((passed + 1))
    echo "PASS $t (${secs}s)"
  else
    why=$(grep -m1 -E '_test\.go:[0-9]+:|panic:|timed out' "$log" | sed 's/^[[:space:]]*//' | cut -c1-200 || true)
    [[ -n $why ]] || why="exit status $rc"
    [[ $rc == 124 || $rc == 137 ]] && why="killed after ${per_test_seconds}s; $why"
    failures+=("FAIL $t (${secs}s): $why")
    echo "FAIL $t (${secs}s): $why"
  fi
done

echo
echo "$passed/$total"
for f in "${failures[@]+"${failures[@]}"}"; do echo "$f"; done

if [[ -z $known_failures_file ]]; then
  [[ $passed == "$total" && $total -gt 0 ]]
  exit
fi
# With a list of known failures (one test name per line, then its reason; '#' comments), the
# run passes when exactly the listed tests fail: a new failure is a regression, and a listed
# test that now passes must leave the list.
mapfile -t known < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$known_failures_file" | awk '{print $1}')
status=0
for f in "${failures[@]+"${failures[@]}"}"; do
  name=$(awk '{print $2}' <<<"$f")
  if ! printf '%s\n' "${known[@]+"${known[@]}"}" | grep -qx -- "$name"; then
    echo "regression: $name fails and is not a known failure"
    status=1
  fi
done
for name in "${known[@]+"${known[@]}"}"; do
  if ! grep -qxF -- "$name" <<<"$tests"; then continue; fi
  if ! printf '%s\n' "${failures[@]+"${failures[@]}"}" | grep -q -- " $name "; then
    echo "now passes: $name (remove it from $(basename "$known_failures_file"))"
    status=1
  fi
done
echo "$passed passed, $((total - passed)) failed (known failures: ${#known[@]})"
exit $status
