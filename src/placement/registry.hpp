#pragma once
// Every placement policy by name.

#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "placement/policy.hpp"

namespace aladdin {

// A policy's knobs, by name, with their values as text ("comfort-tightness" → "0.9"), as a
// command line or a config file gives them. Every policy is built from one (make_policy).
using policy_config = std::map<std::string, std::string, std::less<>>;

// How a policy reads its knobs out of a policy_config. Constructed with every knob the policy
// accepts (none for a policy without knobs), it refuses any other; a value that is not a
// number in range is refused too. Refusals are std::invalid_argument naming the policy, the
// knob and the knobs the policy accepts.
class policy_knobs {
 public:
  policy_knobs(std::string_view policy, const policy_config& config,
               std::initializer_list<std::string_view> accepted = {});
  // The knob's value: a number in [low, high] ((low, high] when low_open), or `fallback` when
  // the config does not set it.
  double number(std::string_view knob, double fallback, double low, double high,
                bool low_open = false) const;

 private:
  [[noreturn]] void refuse(std::string_view knob, const std::string& why) const;
  std::string policy_;
  const policy_config& config_;
  std::vector<std::string> accepted_;
};

// What a baseline stands for beyond its placement rule: a deployment as it ships, which the
// harness (plan search) must run as such — said here, not inferred from another flag.
// The batching a deployment ships with, whatever the others are measured with.
enum class pinned_batching : std::uint8_t {
  as_measured,    // whatever the harness measures every policy with
  prefill_first,  // vLLM's classic (v0) scheduler: a batch is all prefill or all decode
  chunked,        // chunked prefill: vLLM's default since 0.6 and in the V1 engine
};
const char* to_string(pinned_batching b);

struct pinned_deployment {
  // On the default worker shape a user would deploy, not the shape the planner would pick.
  bool default_shape = false;
  pinned_batching batching = pinned_batching::as_measured;
};

struct policy_info {
  std::string name;
  std::string summary;
  // The harness gives this policy the true output lengths (the oracle) instead of predictions.
  bool uses_true_lengths = false;
  pinned_deployment pinned;
  // Builds the policy from its knobs; throws std::invalid_argument for a knob it does not
  // accept or a bad value (see policy_knobs).
  std::function<std::unique_ptr<placement_policy>(const policy_config&)> make;
};

const std::vector<policy_info>& policies();
const policy_info* find_policy(std::string_view name);
std::string policy_names();  // "aladdin,oracle,…" for help texts and errors

// "knob=value,knob=value" (as a command line gives it) as a policy_config. Throws
// std::invalid_argument naming the entry for an entry without '=', an empty knob or value, or a
// knob given twice. Whether the policy accepts the knobs is make_policy's to say.
policy_config parse_policy_config(std::string_view text);

// The policy `name` built from `config`. Throws std::invalid_argument for an unknown policy
// (naming it and the known ones), an unknown knob or a bad value.
std::unique_ptr<placement_policy> make_policy(std::string_view name,
                                              const policy_config& config = {});

}  // namespace aladdin
