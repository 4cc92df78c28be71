#!/usr/bin/env bash
# Installs the Debian packages grid needs to build, test and benchmark, and only those
# that are missing. Safe to run again. Needs root (or sudo) on Debian 12.
set -euo pipefail

# Build toolchain and libraries.
build_pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libabsl-dev librocksdb-dev libjemalloc-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libssl-dev libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev libcpp-httplib-dev
  libnghttp2-dev
)
# Reference software and real clients the tests drive.
test_pkgs=(
  etcd-server etcd-client python3 python3-etcd3 golang-go golang-etcd-server-dev
  procps util-linux iproute2 curl wrk nginx haproxy chromium
)

want=("${build_pkgs[@]}")
if [[ "${1:-}" != "--build-only" ]]; then want+=("${test_pkgs[@]}"); fi
# npm (for the S3-compatible test server below) from Debian unless a Node.js with its own npm
# is already installed.
if [[ "${1:-}" != "--build-only" ]] && ! command -v npm >/dev/null 2>&1; then
  want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#want[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian starts etcd-server, nginx and haproxy as services on install; grid's tests and
  # benchmarks start their own on ports they choose, so the packaged services are stopped.
  if command -v systemctl >/dev/null 2>&1; then
    for svc in etcd nginx haproxy; do $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; done
  fi
fi

# npm packages the tests drive: s3rver, an S3-compatible server for the backup bucket tests.
if [[ "${1:-}" != "--build-only" ]] && ! command -v s3rver >/dev/null 2>&1; then
  echo "install-deps: installing s3rver from npm"
  $SUDO npm install -g --no-audit --no-fund s3rver@3.7.1
fi
# playwright-core drives headless Chromium in the console's browser test.
if [[ "${1:-}" != "--build-only" ]] && [[ ! -d "$(npm root -g)/playwright-core" ]]; then
  echo "install-deps: installing playwright-core from npm"
  $SUDO npm install -g --no-audit --no-fund playwright-core@1.65.1
fi
