#pragma once
// vllm: what a default vLLM deployment does: round robin across replicas of one fixed worker
// shape, FCFS inside each. The shape is not the planner's choice but vLLM's default, see
// default_tp(); the harness reads the pinned deployment (shape, batching) from the registry.

#include <optional>
#include <string_view>

#include "placement/rr_policy.hpp"

namespace aladdin {

class vllm_policy final : public rr_policy {
 public:
  std::string_view name() const override { return "vllm"; }

  // The smallest TP degree (power of two, up to 8) whose weights leave at least 30% of the
  // workers' GPU memory for KV cache: how a user sizes a vLLM deployment (TP4 for Llama-2-70B
  // on A100-80GB). nullopt when the model or GPU is unknown or nothing fits.
  static std::optional<int> default_tp(std::string_view model, std::string_view gpu);
};

}  // namespace aladdin
