#include "placement/vllm_policy.hpp"

#include "model/hardware.hpp"

namespace aladdin {

std::optional<int> vllm_policy::default_tp(std::string_view model, std::string_view gpu) {
  const auto m = find_model(model);
  const auto g = find_gpu(gpu);
  if (!m || !g) return std::nullopt;
  for (int tp = 1; tp <= 8; tp *= 2) {
    const double memory = tp * g->memory_bytes;
    if (m->weight_bytes() <= 0.7 * memory) return tp;
  }
  return std::nullopt;
}

}  // namespace aladdin
