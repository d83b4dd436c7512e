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
  // "vllm" (chunked prefill, as it ships today) or "vllm-v0" (prefill-first): the placement is
  // the same, the registry pins the batching.
  explicit vllm_policy(std::string_view name = "vllm") : name_(name) {}
  std::string_view name() const override { return name_; }

  // The smallest TP degree (power of two, up to 8) whose weights leave at least 30% of the
  // workers' GPU memory for KV cache: how a user sizes a vLLM deployment (TP4 for Llama-2-70B
  // on A100-80GB). nullopt when the model or GPU is unknown or nothing fits.
  static std::optional<int> default_tp(std::string_view model, std::string_view gpu);

 private:
  std::string_view name_;  // a literal of the registry's
};

}  // namespace aladdin
