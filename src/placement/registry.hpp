#pragma once
// Every placement policy by name.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "placement/policy.hpp"

namespace aladdin {

struct policy_info {
  std::string name;
  std::string summary;
  // The harness gives this policy the true output lengths (the oracle) instead of predictions.
  bool uses_true_lengths = false;
  // The policy runs on the fixed default worker shape a user would deploy (vllm), not the
  // shape the planner would pick.
  bool fixed_default_shape = false;
  std::function<std::unique_ptr<placement_policy>()> make;
};

const std::vector<policy_info>& policies();
const policy_info* find_policy(std::string_view name);
std::string policy_names();  // "aladdin,oracle,…" for help texts and errors

}  // namespace aladdin
