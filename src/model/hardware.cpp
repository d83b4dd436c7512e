#include "model/hardware.hpp"

#include <algorithm>
#include <cctype>

namespace aladdin {

namespace {

std::string normalise(std::string_view s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const std::vector<model_spec>& builtin_models() {
  // Architecture numbers from the published model configurations (config.json of each model);
  // the context is its max_position_embeddings (seq_length for BLOOM), as the model cards give it.
  static const std::vector<model_spec> models = {
      // Llama-2-70B: 80 layers, 64 query heads, 8 KV heads (GQA), head dim 128, 69.0e9 params;
      // context 4,096.
      {"llama2-70b", 80, 8, 128, 2, 68.98e9, 4096},
      // Llama-2-13B: 40 layers, 40 heads (MHA), head dim 128; context 4,096.
      {"llama2-13b", 40, 40, 128, 2, 13.02e9, 4096},
      // Llama-2-7B: 32 layers, 32 heads (MHA), head dim 128; context 4,096.
      {"llama2-7b", 32, 32, 128, 2, 6.74e9, 4096},
      // BLOOM-176B: 70 layers, 112 heads (MHA), hidden 14336 -> head dim 128; trained on 2,048.
      {"bloom-176b", 70, 112, 128, 2, 176.25e9, 2048},
      // Llama-3-8B: 32 layers, 8 KV heads (GQA), head dim 128, 8.03e9 params; context 8,192.
      {"llama3-8b", 32, 8, 128, 2, 8.03e9, 8192},
      // Llama-3-70B: 80 layers, 8 KV heads (GQA), head dim 128, 70.6e9 params; context 8,192.
      {"llama3-70b", 80, 8, 128, 2, 70.55e9, 8192},
      // CodeLlama-34B: 48 layers, 8 KV heads (GQA), head dim 128, 33.7e9 params; context 16,384.
      {"codellama-34b", 48, 8, 128, 2, 33.74e9, 16384},
  };
  return models;
}

const std::vector<gpu_spec>& builtin_gpus() {
  static const std::vector<gpu_spec> gpus = {
      {"a100-80gb", 80.0 * 1024 * 1024 * 1024},
      {"a100-40gb", 40.0 * 1024 * 1024 * 1024},
      {"h100-80gb", 80.0 * 1024 * 1024 * 1024},
  };
  return gpus;
}

std::optional<model_spec> find_model(std::string_view name) {
  std::string n = normalise(name);
  if (n.size() > 2 && n.substr(n.size() - 2) == "hf") n.resize(n.size() - 2);
  for (const auto& m : builtin_models())
    if (normalise(m.name) == n) return m;
  return std::nullopt;
}

std::optional<gpu_spec> find_gpu(std::string_view name) {
  const std::string n = normalise(name);
  for (const auto& g : builtin_gpus())
    if (normalise(g.name) == n) return g;
  // "a100" means the 80 GB part, the one the built-in profiles were measured on.
  if (n == "a100") return find_gpu("a100-80gb");
  if (n == "h100") return find_gpu("h100-80gb");
  return std::nullopt;
}

std::string canonical_model(std::string_view name) {
  const auto m = find_model(name);
  return m ? m->name : std::string(name);
}

std::string canonical_gpu(std::string_view name) {
  const auto g = find_gpu(name);
  return g ? g->name : std::string(name);
}

}  // namespace aladdin
