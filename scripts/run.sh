#!/usr/bin/env bash
# Sets up, builds, and runs aladdin's main job on built-in defaults: how many GPUs each placement
# policy needs to serve the built-in workload (Azure-conversation lengths, 20 queries/s) at 99%
# SLO attainment (TTFT 2 s, ATGT 100 ms), found by simulation — aladdin against vLLM's default
# deployment and the other baselines. Extra arguments are passed on, for example:
#   bash scripts/run.sh --trace ../shared/data/traces/AzureLLMInferenceTrace_conv.csv --rate-scale 4
set -euo pipefail
cd "$(dirname "$0")/.."
echo "aladdin: installing and building (the first run takes a few minutes)..." >&2
bash scripts/build.sh >/dev/null
exec ./build/aladdin plan "$@"
