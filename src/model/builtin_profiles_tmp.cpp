// TEMPORARY stand-in for builtin_profiles.cpp (being written on another branch) so that this
// branch links. Approximate Llama-2-70B / A100-80GB coefficients. Deleted before merge.

#include "model/builtin_profiles.hpp"

#include "model/hardware.hpp"

namespace aladdin {

namespace {

worker_profile make(int tp, prefill_coefficients p, decode_coefficients d) {
  worker_profile w;
  w.config = {"llama2-70b", "a100-80gb", tp};
  w.prefill = p;
  w.decode = d;
  w.kv = kv_model::from_hardware(*find_model("llama2-70b"), *find_gpu("a100-80gb"), tp);
  w.source = "temporary approximate coefficients";
  return w;
}

}  // namespace

const std::vector<worker_profile>& builtin_profiles() {
  static const std::vector<worker_profile> all = {
      make(2, {3.4e-4, 1.5e-9, 0.0, 0.03}, {5.3e-8, 4.8e-4, 0.0565}),
      make(4, {2.1e-4, 1.2e-8, 0.02, 0.01}, {2.2e-7, 1.8e-4, 0.044}),
      make(8, {1.3e-4, 8e-9, 0.02, 0.01}, {2.4e-7, 2.4e-4, 0.0444}),
  };
  return all;
}

std::optional<worker_profile> find_builtin_profile(std::string_view model, std::string_view gpu,
                                                   int tp) {
  for (const auto& p : builtin_shapes(model, gpu))
    if (p.config.tp == tp) return p;
  return std::nullopt;
}

std::vector<worker_profile> builtin_shapes(std::string_view model, std::string_view gpu) {
  std::vector<worker_profile> out;
  const auto m = find_model(model);
  const auto g = find_gpu(gpu);
  if (!m || !g) return out;
  for (const auto& p : builtin_profiles())
    if (p.config.model == m->name && p.config.gpu == g->name) out.push_back(p);
  return out;
}

}  // namespace aladdin
