#!/usr/bin/env bash
# Installs every Debian package aladdin needs to build, test and benchmark. Idempotent: packages
# already present are left alone, and the package lists are refreshed only when something is
# missing (once per run).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  # sanitizer runtimes (scripts/test.sh --sanitize) and clang with libFuzzer (scripts/fuzz.sh)
  libasan8 libubsan1 libtsan2 clang libclang-rt-14-dev
  # the pure core and its tests / benchmarks
  doctest-dev libbenchmark-dev
  # the control plane (actors, messages over the network, state store)
  libcaf-dev libzmq3-dev cppzmq-dev capnproto libcapnp-dev librocksdb-dev
  # the HTTP front door (Boost.Beast/Asio) and its OpenAI JSON; cpp-httplib only for bench/http
  libboost1.74-dev nlohmann-json3-dev libcpp-httplib-dev
  # find_package(CapnProto) and RocksDB's CMake config need these dev files
  libssl-dev zlib1g-dev libbz2-dev
  # aladdin serve's config file (TOML) and its Prometheus metrics
  libtomlplusplus-dev prometheus-cpp-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
