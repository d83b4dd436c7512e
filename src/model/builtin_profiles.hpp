#pragma once
// Worker profiles built into aladdin, so that everything runs without ../shared/data.
// Coefficients were fitted by `aladdin fit` from the Splitwise A100 profile (see the .cpp for
// the source and the command); KV capacity follows from the hardware catalogue.

#include <optional>
#include <string_view>
#include <vector>

#include "model/latency_model.hpp"

namespace aladdin {

// Llama-2-70B on A100-80GB at TP 2, 4, 8 and BLOOM-176B on A100-80GB at TP 8.
const std::vector<worker_profile>& builtin_profiles();

// Looks a profile up by model, GPU and TP; names accept the aliases of find_model/find_gpu.
std::optional<worker_profile> find_builtin_profile(std::string_view model, std::string_view gpu,
                                                   int tp);

// Every built-in profile of one model on one GPU type, in increasing TP.
std::vector<worker_profile> builtin_shapes(std::string_view model, std::string_view gpu);

}  // namespace aladdin
