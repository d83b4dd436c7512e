#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "trace/builtin_workload.hpp"

using namespace aladdin;

namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

bool within(double got, double want, double rel) { return std::abs(got - want) <= rel * want; }

}  // namespace

TEST_CASE("built-in lengths are deterministic per seed") {
  const auto a = builtin_length_samples(500, 7);
  const auto b = builtin_length_samples(500, 7);
  const auto c = builtin_length_samples(500, 8);
  bool same = true, differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    same = same && a[i].input_tokens == b[i].input_tokens &&
           a[i].output_tokens == b[i].output_tokens;
    differs = differs || a[i].input_tokens != c[i].input_tokens ||
              a[i].output_tokens != c[i].output_tokens;
  }
  CHECK(same);
  CHECK(differs);

  rng r1(3), r2(3);
  for (int i = 0; i < 100; ++i) {
    const auto x = sample_builtin_lengths(r1), y = sample_builtin_lengths(r2);
    REQUIRE(x.input_tokens == y.input_tokens);
    REQUIRE(x.output_tokens == y.output_tokens);
  }
}

TEST_CASE("built-in lengths stay within the source trace's range") {
  for (const auto& s : builtin_length_samples(20000, 1)) {
    REQUIRE(s.input_tokens >= 1);
    REQUIRE(s.input_tokens <= 14050);
    REQUIRE(s.output_tokens >= 1);
    REQUIRE(s.output_tokens <= 1000);
  }
}

TEST_CASE("built-in lengths match the Azure conversation trace's statistics") {
  const auto samples = builtin_length_samples(100000, 1);
  std::vector<double> in, out;
  double sum_in = 0, sum_out = 0;
  for (const auto& s : samples) {
    in.push_back(s.input_tokens);
    out.push_back(s.output_tokens);
    sum_in += s.input_tokens;
    sum_out += s.output_tokens;
  }
  const double n = static_cast<double>(samples.size());
  using f = builtin_source_facts;
  CHECK(within(sum_in / n, f::input_mean, 0.03));
  CHECK(within(median_of(in), f::input_median, 0.03));
  CHECK(within(sum_out / n, f::output_mean, 0.03));
  CHECK(within(median_of(out), f::output_median, 0.03));

  const auto w = summarize_workload(samples, "test");
  CHECK(within(w.input_p99, f::input_p99, 0.05));
  CHECK(within(w.output_p99, f::output_p99, 0.05));
  // The correlation the strata keep: queries with ~1,000-token prompts get long answers.
  double mid = 0, mid_n = 0, rest = 0, rest_n = 0;
  for (const auto& s : samples) {
    if (s.input_tokens >= 1020 && s.input_tokens < 1130) {
      mid += s.output_tokens;
      ++mid_n;
    } else {
      rest += s.output_tokens;
      ++rest_n;
    }
  }
  CHECK(mid / mid_n > 2 * (rest / rest_n));
}

TEST_CASE("workload statistics of a known set") {
  const std::vector<length_sample> s = {{100, 10}, {300, 30}};
  const auto w = summarize_workload(s, "two");
  CHECK(w.queries == 2);
  CHECK(w.mean_input == doctest::Approx(200));
  CHECK(w.mean_output == doctest::Approx(20));
  CHECK(w.mean_input_sq == doctest::Approx((1e4 + 9e4) / 2));
  CHECK(w.mean_input_4 == doctest::Approx((1e8 + 81e8) / 2));
  CHECK(w.mean_output_sq == doctest::Approx(500));
  CHECK(w.mean_input_output == doctest::Approx((1000 + 9000) / 2.0));
  // Iteration-weighted: (E[in·o] + (E[o²] + E[o]) / 2) / E[o] = (5000 + 260) / 20.
  CHECK(w.mean_decode_context == doctest::Approx(263));
  // E[(in+o)·o] / E[o] = (110·10 + 330·30) / 40.
  CHECK(w.kv_reserved_mean == doctest::Approx(275));
  CHECK(w.input_p50 == doctest::Approx(200));
  CHECK(w.input_max == doctest::Approx(300));
  CHECK(w.input_grid.size() == 400);
  CHECK(std::is_sorted(w.input_grid.begin(), w.input_grid.end()));

  CHECK_THROWS_AS(summarize_workload(std::vector<length_sample>{}, "none"),
                  std::invalid_argument);
}

TEST_CASE("built-in statistics are the same for the same seed") {
  const auto a = builtin_workload_stats(5000, 11);
  const auto b = builtin_workload_stats(5000, 11);
  CHECK(a.mean_input == b.mean_input);
  CHECK(a.mean_output_sq == b.mean_output_sq);
  CHECK(a.input_grid == b.input_grid);
}

TEST_CASE("generated traces: rate, order, determinism") {
  const trace a = generate_builtin_trace(20, 500, arrival_process::poisson(), 42);
  const trace b = generate_builtin_trace(20, 500, arrival_process::poisson(), 42);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].arrival_s == b[i].arrival_s);
    REQUIRE(a[i].input_tokens == b[i].input_tokens);
  }
  CHECK(a.front().arrival_s == 0);
  CHECK(a.back().arrival_s < 500);
  CHECK(std::is_sorted(a.begin(), a.end(),
                       [](const auto& x, const auto& y) { return x.arrival_s < y.arrival_s; }));
  // 10,000 expected arrivals: Poisson sd 100, so 5% is far outside chance.
  CHECK(within(static_cast<double>(a.size()), 10000, 0.05));

  // Lengths do not depend on the arrival process.
  const trace g = generate_builtin_trace(20, 500, arrival_process::gamma(3), 42);
  for (std::size_t i = 0; i < std::min(g.size(), a.size()); ++i) {
    REQUIRE(g[i].input_tokens == a[i].input_tokens);
    REQUIRE(g[i].output_tokens == a[i].output_tokens);
  }
}

TEST_CASE("gamma arrivals have the asked coefficient of variation") {
  for (double cv : {0.5, 1.0, 2.0}) {
    const trace t = generate_builtin_trace(10, 4000, arrival_process::gamma(cv), 9);
    double sum = 0, sum_sq = 0;
    const double n = static_cast<double>(t.size() - 1);
    for (std::size_t i = 1; i < t.size(); ++i) {
      const double gap = t[i].arrival_s - t[i - 1].arrival_s;
      sum += gap;
      sum_sq += gap * gap;
    }
    const double mean = sum / n;
    const double sd = std::sqrt(sum_sq / n - mean * mean);
    CHECK(within(mean, 0.1, 0.05));
    CHECK(within(sd / mean, cv, 0.1));
  }
  CHECK_THROWS_AS(generate_builtin_trace(0, 10, arrival_process::poisson(), 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(generate_builtin_trace(1, 10, arrival_process::gamma(0), 1),
                  std::invalid_argument);
}
