#pragma once
// Facts about models and GPUs that the latency and memory models need. These are public
// architecture numbers (model cards / papers), not measurements.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aladdin {

struct model_spec {
  std::string name;          // as in profiles: "llama2-70b"
  int layers = 0;
  int kv_heads = 0;          // key/value heads (GQA); equals attention heads for MHA models
  int head_dim = 0;
  int bytes_per_value = 2;   // fp16/bf16 weights and KV cache
  double parameters = 0;     // number of weights
  // Longest sequence (prompt + output tokens) the model was trained for, from its model card:
  // a query over it cannot be served (0: unknown, nothing is checked).
  int context_tokens = 0;

  // KV-cache bytes per token: a key and a value vector per layer and KV head.
  double kv_bytes_per_token() const {
    return 2.0 * layers * kv_heads * head_dim * bytes_per_value;
  }
  double weight_bytes() const { return parameters * bytes_per_value; }
  // Whether a query of `prompt` tokens that asks for `output` more fits the context.
  bool fits_context(double prompt, double output) const {
    return context_tokens <= 0 || prompt + output <= context_tokens;
  }
};

struct gpu_spec {
  std::string name;          // as in profiles: "a100-80gb"
  double memory_bytes = 0;
};

// Built-in catalogue. Lookups accept the profile spelling and common aliases
// ("llama2-70b", "Llama-2-70b-hf"; "a100", "a100-80gb"), case-insensitively.
const std::vector<model_spec>& builtin_models();
const std::vector<gpu_spec>& builtin_gpus();
std::optional<model_spec> find_model(std::string_view name);
std::optional<gpu_spec> find_gpu(std::string_view name);
// The catalogue's spelling of a name or alias ("Llama-2-70b-hf" → "llama2-70b"); names the
// catalogue does not know are returned as given.
std::string canonical_model(std::string_view name);
std::string canonical_gpu(std::string_view name);

}  // namespace aladdin
