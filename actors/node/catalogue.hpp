#pragma once
// The state store's catalogue on a node: filled from the built-in models, GPU types and fitted
// profiles at first start (never overwriting what an operator stored), and read back when a
// worker registers, so that placement uses the profile the store holds for its shape.

#include <optional>
#include <string>
#include <string_view>

#include "model/latency_model.hpp"
#include "model/hardware.hpp"
#include "storage/state_store.hpp"

namespace aladdin::node {

// Stores every built-in model, GPU type and worker profile the store does not hold yet.
store_status seed_catalogue(state_store& store);

// canonical_model / canonical_gpu (names as the catalogue spells them): model/hardware.hpp.
using aladdin::canonical_gpu;
using aladdin::canonical_model;

// The stored profile of a shape (names canonicalised), if any.
std::optional<worker_profile> stored_profile(const state_store& store, std::string_view model,
                                             std::string_view gpu, int tp);

}  // namespace aladdin::node
