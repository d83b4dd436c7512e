#pragma once
// The state store's catalogue on a node: filled from the built-in models, GPU types and fitted
// profiles at first start (never overwriting what an operator stored), and read back when a
// worker registers, so that placement uses the profile the store holds for its shape.

#include <optional>
#include <string>
#include <string_view>

#include "model/latency_model.hpp"
#include "storage/state_store.hpp"

namespace aladdin::node {

// Stores every built-in model, GPU type and worker profile the store does not hold yet.
store_status seed_catalogue(state_store& store);

// The canonical spelling of a model or GPU name ("Llama-2-70b-hf" → "llama2-70b"); the name
// itself when the built-in catalogue does not know it.
std::string canonical_model(std::string_view name);
std::string canonical_gpu(std::string_view name);

// The stored profile of a shape (names canonicalised), if any.
std::optional<worker_profile> stored_profile(const state_store& store, std::string_view model,
                                             std::string_view gpu, int tp);

}  // namespace aladdin::node
