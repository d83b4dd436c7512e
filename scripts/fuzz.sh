#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang, ASan+UBSan) into build-fuzz/ and runs each
# for SECONDS, one after the other, starting from its committed seeds
# (tests/fuzz/corpus/<target>/; what a run adds goes to build-fuzz/corpus/<target>/, never
# into the repo). Prints the executions of each target and their total; a crash, leak, timeout
# or violated property leaves its input in build-fuzz/findings/ and fails the run.
#
#   scripts/fuzz.sh SECONDS [TARGET...]      e.g. scripts/fuzz.sh 15, scripts/fuzz.sh 600 worker_frame
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ $# -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh SECONDS [TARGET...]  (SECONDS: a whole number >= 1)" >&2
  exit 2
fi
seconds=$1
shift

bash scripts/setup.sh
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DALADDIN_FUZZ=ON -DALADDIN_BUILD_TESTS=OFF \
  -DALADDIN_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target aladdin_fuzz -j "$(nproc)"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(client_frame worker_frame trace_azure trace_mooncake trace_csv profile_csv serve_config openai)
fi

mkdir -p build-fuzz/findings build-fuzz/logs
total=0
failed=()
printf '%-16s %14s %10s\n' target executions exec/s
for t in "${targets[@]}"; do
  bin="$root/build-fuzz/fuzz_$t"
  if [ ! -x "$bin" ]; then echo "fuzz.sh: no target '$t'" >&2; exit 2; fi
  seeds="$root/tests/fuzz/corpus/$t"
  work="$root/build-fuzz/corpus/$t"
  mkdir -p "$work"
  log="$root/build-fuzz/logs/$t.log"
  rc=0
  "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$root/build-fuzz/findings/$t-" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  execs=${execs:-0}
  total=$((total + execs))
  printf '%-16s %14s %10s\n' "$t" "$execs" "${rate:-?}"
  if [ "$rc" -ne 0 ]; then failed+=("$t"); fi
done
printf '%-16s %14s\n' total "$total"

if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "==== fuzz_$t failed (build-fuzz/logs/$t.log):" >&2
    grep -E 'ERROR|SUMMARY|fuzz property|Test unit written|uncaught|terminate' "build-fuzz/logs/$t.log" | head -20 >&2
  done
  exit 1
fi
