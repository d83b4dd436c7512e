#pragma once
// What the engine agent reads from a vLLM engine's Prometheus `/metrics` (the text exposition
// format), under vLLM's own names:
//   vllm:kv_cache_usage_perc      KV cache use, 0..1 (vLLM V1)
//   vllm:gpu_cache_usage_perc     the same under its older name (V0); used when the new one is absent
//   vllm:num_requests_running     sequences running now
//   vllm:num_requests_waiting     requests queued
//   vllm:cache_config_info{block_size="16",num_gpu_blocks="24188",...} 1   the KV cache's size
// A sample's labels (model_name, engine) are ignored; several samples of one name (one per
// engine of a data-parallel server) are summed, the usage fraction averaged. Unknown metrics,
// comments, HELP and TYPE lines are skipped; a malformed line is skipped and counted, never
// fatal (an engine's exposition is outside input).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace aladdin::worker {

struct vllm_metrics {
  std::optional<double> kv_usage;  // 0..1
  std::optional<double> running;
  std::optional<double> waiting;
  std::optional<std::uint64_t> num_gpu_blocks;
  std::optional<std::uint32_t> block_size;
  std::size_t malformed_lines = 0;
};

vllm_metrics parse_vllm_metrics(std::string_view exposition);

}  // namespace aladdin::worker
