#pragma once
// The latency and memory model of one worker configuration (model, GPU type, GPUs per worker).
// All times are seconds; token counts are tokens. The same model serves placement, planning and
// the scheduler side of the simulator (the simulator's ground truth is a separate model).
//
//   prefill of a batch P:        t_pre = k1·Σl_in + q1·Σl_in² + s1·|P| + c1
//   one decode iteration of D:   t_dec = k2·Σ(l_in + n) + c2·|D| + c3
//   KV cache:                    kv(query) = l_in + n tokens; capacity in tokens per worker
//
// q1 (attention's quadratic cost) and s1 (a per-sequence cost in a batched prefill) are
// optional: a fit keeps them only where the data supports them, otherwise they are zero.

#include <string>

#include "model/hardware.hpp"

namespace aladdin {

struct worker_config {
  std::string model;  // "llama2-70b"
  std::string gpu;    // "a100-80gb"
  int tp = 1;         // GPUs per worker (tensor-parallel degree)

  friend bool operator==(const worker_config&, const worker_config&) = default;
  std::string label() const { return model + "/" + gpu + "/tp" + std::to_string(tp); }
};

struct prefill_coefficients {
  double k1 = 0;  // s per prompt token
  double q1 = 0;  // s per squared prompt token (per sequence)
  double s1 = 0;  // s per sequence in the batch
  double c1 = 0;  // s per batch

  double time(double sum_tokens, double sum_tokens_squared, double sequences) const {
    return k1 * sum_tokens + q1 * sum_tokens_squared + s1 * sequences + c1;
  }
  // Prefill of a single prompt of l tokens.
  double time_one(double l) const { return time(l, l * l, 1.0); }

  friend bool operator==(const prefill_coefficients&, const prefill_coefficients&) = default;
};

struct decode_coefficients {
  double k2 = 0;  // s per token of context held by the batch
  double c2 = 0;  // s per sequence in the batch
  double c3 = 0;  // s per iteration

  double time(double sum_context_tokens, double batch) const {
    return k2 * sum_context_tokens + c2 * batch + c3;
  }

  friend bool operator==(const decode_coefficients&, const decode_coefficients&) = default;
};

struct kv_model {
  double bytes_per_token = 0;
  double capacity_tokens = 0;  // per worker, after weights and reserve

  // Capacity from GPU memory: tp·memory·utilisation − weights, in tokens. Utilisation 0.9 is
  // vLLM's default gpu_memory_utilization, the fraction an engine lets itself use.
  static kv_model from_hardware(const model_spec& m, const gpu_spec& g, int tp,
                                double memory_utilisation = 0.9);
};

struct worker_profile {
  worker_config config;
  prefill_coefficients prefill;
  decode_coefficients decode;
  kv_model kv;
  std::string source;  // where the coefficients came from

  int gpus() const { return config.tp; }
};

}  // namespace aladdin
