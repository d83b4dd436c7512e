#include "placement/registry.hpp"

#include "placement/aladdin_policy.hpp"
#include "placement/jsq_policy.hpp"
#include "placement/least_kv_policy.hpp"
#include "placement/p2c_policy.hpp"
#include "placement/rr_policy.hpp"
#include "placement/vllm_policy.hpp"

namespace aladdin {

const std::vector<policy_info>& policies() {
  static const std::vector<policy_info> all = {
      {"aladdin", "best fit over KV and latency headroom among workers that meet every SLO",
       false, false, [] { return std::make_unique<aladdin_policy>("aladdin"); }},
      {"oracle", "aladdin given the true output lengths: the ceiling", true, false,
       [] { return std::make_unique<aladdin_policy>("oracle"); }},
      {"jsq", "join the shortest queue (fewest outstanding queries)", false, false,
       [] { return std::make_unique<jsq_policy>(); }},
      {"p2c", "power of two choices on outstanding queries (seeded)", false, false,
       [] { return std::make_unique<p2c_policy>(); }},
      {"rr", "round robin", false, false, [] { return std::make_unique<rr_policy>(); }},
      {"least-kv", "lowest KV-cache use", false, false,
       [] { return std::make_unique<least_kv_policy>(); }},
      {"vllm", "a default vLLM deployment: round robin over the default worker shape", false, true,
       [] { return std::make_unique<vllm_policy>(); }},
  };
  return all;
}

const policy_info* find_policy(std::string_view name) {
  for (const auto& p : policies())
    if (p.name == name) return &p;
  return nullptr;
}

std::string policy_names() {
  std::string s;
  for (const auto& p : policies()) s += (s.empty() ? "" : ",") + p.name;
  return s;
}

}  // namespace aladdin
