#include "trace/workload_family.hpp"

#include <algorithm>
#include <cmath>

namespace aladdin {

namespace {

struct family_entry {
  workload_family family;
  const char* name;
  const char* description;
};

constexpr family_entry kFamilies[] = {
    {workload_family::conversation, "conversation",
     "chat: Azure LLM inference trace 2023 (conversation) lengths, Poisson arrivals"},
    {workload_family::code, "code",
     "code completion: Azure 2023 code trace statistics (prompts median 1.5k, mean 2k, p99 7.4k; answers median 13, "
     "mean 28), Poisson"},
    {workload_family::summarisation, "summarisation",
     "summarisation: prompts 2.5-4k, answers 150-300 tokens (p5-p95), Poisson"},
    {workload_family::long_context, "long-context",
     "long context: prompts median 7k with a tail to 126k, answers a few hundred, Poisson"},
    {workload_family::bursty, "bursty", "conversation lengths, Gamma inter-arrivals with CV 4"},
};

const family_entry& entry(workload_family f) {
  for (const auto& e : kFamilies)
    if (e.family == f) return e;
  return kFamilies[0];
}

}  // namespace

const std::vector<workload_family>& workload_families() {
  static const std::vector<workload_family> all = [] {
    std::vector<workload_family> v;
    for (const auto& e : kFamilies) v.push_back(e.family);
    return v;
  }();
  return all;
}

std::string_view to_string(workload_family f) { return entry(f).name; }

std::optional<workload_family> parse_workload_family(std::string_view name) {
  for (const auto& e : kFamilies)
    if (name == e.name) return e.family;
  return std::nullopt;
}

std::string workload_family_names() {
  std::string out;
  for (const auto& e : kFamilies) out += (out.empty() ? "" : ", ") + std::string(e.name);
  return out;
}

std::string describe(workload_family f) { return entry(f).description; }

int length_law::draw(rng& r) const {
  const double z = std::clamp(r.normal(), -4.0, 4.0);
  const double x = median * std::exp(z * (z < 0 ? sigma_below : sigma_above));
  return static_cast<int>(std::clamp<double>(std::round(x), 1.0, max));
}

std::optional<family_lengths> fitted_lengths(workload_family f) {
  switch (f) {
    case workload_family::conversation:
    case workload_family::bursty: return std::nullopt;
    case workload_family::code: return family_lengths{{1500, 0.37, 0.686, 32768}, {13, 1.239, 1.239, 4096}};
    case workload_family::summarisation:
      return family_lengths{{3200, 0.150, 0.136, 32768}, {212, 0.21, 0.21, 4096}};
    case workload_family::long_context:
      return family_lengths{{7000, 1.0, 1.0, 126000}, {250, 0.6, 0.6, 4096}};
  }
  return std::nullopt;
}

length_sample sample_family_lengths(workload_family f, rng& r) {
  const auto laws = fitted_lengths(f);
  if (!laws) return sample_builtin_lengths(r);
  length_sample s;
  s.input_tokens = laws->input.draw(r);
  s.output_tokens = laws->output.draw(r);
  return s;
}

arrival_process family_arrivals(workload_family f) {
  return f == workload_family::bursty ? arrival_process::gamma(4.0) : arrival_process::poisson();
}

trace generate_family_trace(workload_family f, double rate_per_s, double duration_s, std::uint64_t seed,
                            std::optional<arrival_process> arrivals) {
  return generate_synthetic_trace(rate_per_s, duration_s, arrivals.value_or(family_arrivals(f)), seed,
                                  [f](rng& r) { return sample_family_lengths(f, r); });
}

}  // namespace aladdin
