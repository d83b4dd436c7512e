#include "placement/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <type_traits>

#include "placement/aladdin_policy.hpp"
#include "placement/jsq_policy.hpp"
#include "placement/least_kv_policy.hpp"
#include "placement/p2c_policy.hpp"
#include "placement/rr_policy.hpp"
#include "placement/vllm_policy.hpp"

namespace aladdin {

namespace {

// make of a policy without knobs: it refuses any.
template <class Policy>
auto without_knobs(std::string_view name) {
  return [name](const policy_config& config) -> std::unique_ptr<placement_policy> {
    const policy_knobs none(name, config);
    if constexpr (std::is_constructible_v<Policy, std::string_view>)
      return std::make_unique<Policy>(name);  // one class under several names (vllm, vllm-v0)
    else
      return std::make_unique<Policy>();
  };
}

std::string format_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

}  // namespace

const std::vector<policy_info>& policies() {
  static const std::vector<policy_info> all = {
      {"aladdin", "best fit over KV and latency headroom among workers that meet every SLO",
       false, {},
       [](const policy_config& c) {
         return std::make_unique<aladdin_policy>("aladdin", aladdin_policy_options::from("aladdin", c));
       }},
      {"oracle", "aladdin given the true output lengths: the ceiling", true, {},
       [](const policy_config& c) {
         return std::make_unique<aladdin_policy>("oracle", aladdin_policy_options::from("oracle", c));
       }},
      {"jsq", "join the shortest queue (fewest outstanding queries)", false, {},
       without_knobs<jsq_policy>("jsq")},
      {"p2c", "power of two choices on outstanding queries (seeded)", false, {},
       without_knobs<p2c_policy>("p2c")},
      {"rr", "round robin", false, {}, without_knobs<rr_policy>("rr")},
      {"least-kv", "lowest KV-cache use", false, {}, without_knobs<least_kv_policy>("least-kv")},
      // vLLM as it ships today (0.6 onwards, and the V1 engine): chunked prefill on.
      {"vllm", "a default vLLM deployment today: round robin over the default worker shape, chunked prefill",
       false, {.default_shape = true, .batching = pinned_batching::chunked},
       without_knobs<vllm_policy>("vllm")},
      // The paper's baseline: vLLM's classic scheduler (prefill-first) on its default shape.
      {"vllm-v0", "the paper's vLLM baseline: round robin over the default worker shape, prefill-first",
       false, {.default_shape = true, .batching = pinned_batching::prefill_first},
       without_knobs<vllm_policy>("vllm-v0")},
  };
  return all;
}

const char* to_string(pinned_batching b) {
  switch (b) {
    case pinned_batching::as_measured: return "as measured";
    case pinned_batching::prefill_first: return "prefill-first";
    case pinned_batching::chunked: return "chunked";
  }
  return "?";
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

policy_config parse_policy_config(std::string_view text) {
  policy_config config;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view entry = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == entry.size())
      throw std::invalid_argument("'" + std::string(entry) + "' is not knob=value");
    if (!config.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1))).second)
      throw std::invalid_argument("knob '" + std::string(entry.substr(0, eq)) + "' is given twice");
  }
  return config;
}

std::unique_ptr<placement_policy> make_policy(std::string_view name, const policy_config& config) {
  const policy_info* info = find_policy(name);
  if (info == nullptr)
    throw std::invalid_argument("unknown policy '" + std::string(name) + "' (known: " + policy_names() +
                                ")");
  return info->make(config);
}

policy_knobs::policy_knobs(std::string_view policy, const policy_config& config,
                           std::initializer_list<std::string_view> accepted)
    : policy_(policy), config_(config), accepted_(accepted.begin(), accepted.end()) {
  for (const auto& [knob, value] : config_)
    if (std::find(accepted_.begin(), accepted_.end(), knob) == accepted_.end())
      refuse(knob, "is not a knob of this policy");
}

double policy_knobs::number(std::string_view knob, double fallback, double low, double high,
                            bool low_open) const {
  const auto it = config_.find(knob);
  if (it == config_.end()) return fallback;
  const std::string& text = it->second;
  double v = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
  const bool in_range = (low_open ? v > low : v >= low) && v <= high;
  if (text.empty() || error != std::errc{} || end != text.data() + text.size() || !in_range)
    refuse(knob, "must be a number in " + std::string(low_open ? "(" : "[") + format_number(low) +
                     ", " + format_number(high) + "], not '" + text + "'");
  return v;
}

void policy_knobs::refuse(std::string_view knob, const std::string& why) const {
  std::string accepted;
  for (const auto& a : accepted_) accepted += (accepted.empty() ? "" : ",") + a;
  throw std::invalid_argument("policy '" + policy_ + "': knob '" + std::string(knob) + "' " + why +
                              " (accepted knobs: " + (accepted.empty() ? "none" : accepted) + ")");
}

}  // namespace aladdin
