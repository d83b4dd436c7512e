#include "actors/node/catalogue.hpp"

#include "model/builtin_profiles.hpp"
#include "model/hardware.hpp"

namespace aladdin::node {

store_status seed_catalogue(state_store& store) {
  for (const auto& m : builtin_models()) {
    if (store.get_model(m.name)) continue;
    if (auto s = store.put_model(m); !s) return s;
  }
  for (const auto& g : builtin_gpus()) {
    if (store.get_gpu(g.name)) continue;
    if (auto s = store.put_gpu(g); !s) return s;
  }
  for (const auto& p : builtin_profiles()) {
    if (store.get_worker_config(p.config)) continue;
    if (auto s = store.put_worker_config(p); !s) return s;
  }
  return {};
}

std::optional<worker_profile> stored_profile(const state_store& store, std::string_view model,
                                             std::string_view gpu, int tp) {
  worker_config shape{canonical_model(model), canonical_gpu(gpu), tp};
  auto p = store.get_worker_config(shape);
  if (!p) return std::nullopt;
  return std::move(p).value();
}

}  // namespace aladdin::node
