#!/usr/bin/env bash
# Sets up, builds and runs the tests through ctest.
#
#   scripts/test.sh                               every test, normal build (build/)
#   scripts/test.sh --sanitize address,undefined  every test under ASan+UBSan (build-asan/)
#   scripts/test.sh --sanitize thread             the actor, worker and http labels under TSan
#                                                 (build-tsan/; why not integration: below)
#
# Sanitized runs write every report to <build>/sanitizer-reports/ (child processes too: the
# node, the workers and the load generator that the tests start inherit the options), and the
# run fails if any report was written, even when the test that caused it passed. The one
# suppression is scripts/sanitizers/ubsan.supp (it says why).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

sanitize=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize="${2:-}"; shift 2 ;;
    --sanitize=*) sanitize="${1#--sanitize=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

jobs=$(nproc)
if [ -z "$sanitize" ]; then
  bash scripts/build.sh
  cd build
  exec ctest --output-on-failure -j "$jobs"
fi

case "$sanitize" in
  address,undefined|undefined,address|address|undefined)
    dir=build-asan; labels=""; targets=(all) ;;
  thread)
    # The actor, worker and http labels only, and only what they run: their test binaries and
    # the aladdin binary the worker tests start. The http label's server and client threads are
    # ours (Boost.Asio is header-only, so instrumented). Not integration: Debian's CAF and libzmq are not
    # built with TSan, and a real node hands every actor to CAF's scheduler threads through
    # libcaf_core's uninstrumented queues, so TSan reports each spawn as a race (the actor's
    # initialisation on a scheduler thread against its construction) that it cannot see the
    # other side of. The actor label runs the same actors on CAF's deterministic scheduler.
    dir=build-tsan; labels="actor|worker|http"
    targets=(aladdin aladdin_actor_tests aladdin_worker_tests aladdin_http_tests) ;;
  *) echo "test.sh: --sanitize takes 'address,undefined' or 'thread', not '$sanitize'" >&2; exit 2 ;;
esac

bash scripts/setup.sh
# -O1 and line tables only: sanitized code is compiled in a fraction of the time of -O2 -g and
# its reports still name file and line.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DALADDIN_SANITIZE="$sanitize" \
  -DALADDIN_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$jobs" --target "${targets[@]}"

reports="$root/$dir/sanitizer-reports"
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1:suppressions=$root/scripts/sanitizers/ubsan.supp"
# ignore_noninstrumented_modules: calls that libzmq, libcaf_core and librocksdb (Debian builds,
# no TSan) make into TSan's interceptors are not reported; TSan cannot see their locks.
export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1"

cd "$dir"
status=0
if [ -n "$labels" ]; then
  ctest --output-on-failure -j "$jobs" -L "$labels" || status=$?
else
  ctest --output-on-failure -j "$jobs" || status=$?
fi

shopt -s nullglob
found=("$reports"/*)
if [ ${#found[@]} -gt 0 ]; then
  echo "test.sh: ${#found[@]} sanitizer report(s) in $reports:" >&2
  for f in "${found[@]}"; do echo "==== $f" >&2; head -60 "$f" >&2; done
  exit 1
fi
exit "$status"
