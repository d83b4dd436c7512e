// Workload families: the fitted laws reproduce the statistics their header cites, and every
// family is deterministic per seed.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "trace/workload_family.hpp"

using namespace aladdin;

namespace {

struct stats {
  double median = 0, mean = 0, p05 = 0, p95 = 0, p99 = 0;
};

stats of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  stats s;
  const auto at = [&](double p) { return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))]; };
  s.median = at(0.5);
  s.p05 = at(0.05);
  s.p95 = at(0.95);
  s.p99 = at(0.99);
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  return s;
}

bool near(double got, double want, double rel) { return std::abs(got - want) <= rel * want; }

// Input and output statistics of n draws of a family.
std::pair<stats, stats> draws(workload_family f, std::size_t n = 200000) {
  rng r(11);
  std::vector<double> in, out;
  for (std::size_t i = 0; i < n; ++i) {
    const length_sample s = sample_family_lengths(f, r);
    in.push_back(s.input_tokens);
    out.push_back(s.output_tokens);
  }
  return {of(in), of(out)};
}

}  // namespace

TEST_CASE("workload family: code reproduces the Azure 2023 code trace's medians, means and p99") {
  // Fitted: prompt median 1,500, σ 0.37 below / 0.686 above; answer median 13, σ 1.239.
  const auto laws = fitted_lengths(workload_family::code);
  REQUIRE(laws);
  CHECK(laws->input.median == 1500);
  CHECK(laws->input.sigma_above == doctest::Approx(std::log(7400.0 / 1500.0) / 2.3263).epsilon(0.01));
  CHECK(laws->output.sigma_above == doctest::Approx(std::sqrt(2 * std::log(28.0 / 13.0))).epsilon(0.01));
  const auto [in, out] = draws(workload_family::code);
  CHECK(near(in.median, 1500, 0.02));
  CHECK(near(in.mean, 2000, 0.03));
  CHECK(near(in.p99, 7400, 0.05));
  CHECK(near(out.median, 13, 0.08));
  CHECK(near(out.mean, 28, 0.05));
}

TEST_CASE("workload family: summarisation has prompts of 2.5-4k and answers of 150-300 (p5-p95)") {
  const auto [in, out] = draws(workload_family::summarisation);
  CHECK(near(in.p05, 2500, 0.03));
  CHECK(near(in.p95, 4000, 0.03));
  CHECK(near(out.p05, 150, 0.05));
  CHECK(near(out.p95, 300, 0.05));
}

TEST_CASE("workload family: long-context prompts have a median of 7k and a heavy tail capped at 126k") {
  const auto [in, out] = draws(workload_family::long_context);
  CHECK(near(in.median, 7000, 0.02));
  CHECK(in.p99 > 50000);
  CHECK(in.p99 <= 126000);
  CHECK(out.median > 100);
  CHECK(out.median < 500);
}

TEST_CASE("workload family: conversation and bursty use the built-in Azure-conversation lengths") {
  const trace conv = generate_family_trace(workload_family::conversation, 5, 200, 3);
  const trace plain = generate_builtin_trace(5, 200, arrival_process::poisson(), 3);
  REQUIRE(conv.size() == plain.size());
  for (std::size_t i = 0; i < conv.size(); ++i) {
    CHECK(conv[i].arrival_s == plain[i].arrival_s);
    CHECK(conv[i].input_tokens == plain[i].input_tokens);
  }
  const trace bursty = generate_family_trace(workload_family::bursty, 5, 2000, 3);
  const trace gamma = generate_builtin_trace(5, 2000, arrival_process::gamma(4), 3);
  REQUIRE(bursty.size() == gamma.size());
  CHECK(bursty.back().arrival_s == gamma.back().arrival_s);
  // Gamma CV 4: the gaps' coefficient of variation is about 4.
  std::vector<double> gaps;
  for (std::size_t i = 1; i < bursty.size(); ++i) gaps.push_back(bursty[i].arrival_s - bursty[i - 1].arrival_s);
  double mean = 0, sq = 0;
  for (double g : gaps) mean += g;
  mean /= static_cast<double>(gaps.size());
  for (double g : gaps) sq += (g - mean) * (g - mean);
  const double cv = std::sqrt(sq / static_cast<double>(gaps.size())) / mean;
  CHECK(cv > 3.0);
  CHECK(cv < 5.0);
}

TEST_CASE("workload family: the same seed gives the same trace, names round-trip, bad names are refused") {
  for (const workload_family f : workload_families()) {
    CAPTURE(std::string(to_string(f)));
    CHECK(parse_workload_family(to_string(f)) == f);
    const trace a = generate_family_trace(f, 4, 100, 9), b = generate_family_trace(f, 4, 100, 9);
    REQUIRE(a.size() == b.size());
    bool same = true;
    for (std::size_t i = 0; i < a.size(); ++i)
      same = same && a[i].arrival_s == b[i].arrival_s && a[i].input_tokens == b[i].input_tokens &&
             a[i].output_tokens == b[i].output_tokens;
    CHECK(same);
    const trace c = generate_family_trace(f, 4, 100, 10);
    CHECK((c.size() != a.size() || c.front().input_tokens != a.front().input_tokens ||
           c.back().input_tokens != a.back().input_tokens));
  }
  CHECK_FALSE(parse_workload_family("chat"));
  CHECK_THROWS_AS(generate_family_trace(workload_family::code, 0, 10, 1), std::invalid_argument);
}
