#include "model/latency_model.hpp"

#include <algorithm>

namespace aladdin {

kv_model kv_model::from_hardware(const model_spec& m, const gpu_spec& g, int tp,
                                 double memory_utilisation) {
  kv_model kv;
  kv.bytes_per_token = m.kv_bytes_per_token();
  const double free_bytes = tp * g.memory_bytes * memory_utilisation - m.weight_bytes();
  kv.capacity_tokens = std::max(0.0, free_bytes / kv.bytes_per_token);
  return kv;
}

}  // namespace aladdin
