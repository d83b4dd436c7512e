#!/usr/bin/env bash
# Sets up, builds, and runs aladdin's main job on built-in defaults: how many GPUs, and of
# which worker shape, the built-in workload needs under the default SLOs. Extra arguments are
# passed on (for example: bash scripts/run.sh --rate 50 --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
exec ./build/aladdin size "$@"
