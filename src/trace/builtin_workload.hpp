#pragma once
// The built-in synthetic workload, so that planning and simulation run without ../shared/data,
// and the summary statistics of a workload that the planner consumes.
//
// Lengths follow the Azure LLM inference trace 2023 (conversation): input lengths by inverse
// CDF over an empirical quantile table, output lengths from one of ten input-length strata,
// each with its own output quantile table. The strata matter: in that trace the output length
// depends strongly (and not monotonically) on the input length — prompts of ~1,000 tokens get
// ~400-token answers, the rest ~100 — and ignoring it overstates E[in·out], the KV a decoding
// query holds, by about 9%. The tables and how they were derived are in the .cpp.
//
// Everything here is deterministic: draws come from the aladdin::rng passed in (or seeded from
// the seed given), never from std distributions, whose algorithms differ between libraries.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "trace/trace.hpp"
#include "util/rng.hpp"

namespace aladdin {

struct length_sample {
  int input_tokens = 0;
  int output_tokens = 0;
};

// One query's lengths from the built-in distribution: two uniforms from r, always ≥ 1 token
// each, inputs ≤ 14,050 and outputs ≤ 1,000 (the trace's maxima).
length_sample sample_builtin_lengths(rng& r);

// How arrivals are spaced. Gamma inter-arrival times with coefficient of variation cv (> 0):
// cv = 1 is Poisson-like, cv > 1 burstier, cv < 1 smoother.
struct arrival_process {
  enum class kind { poisson, gamma };
  kind type = kind::poisson;
  double cv = 1.0;  // used by gamma only

  static arrival_process poisson() { return {}; }
  static arrival_process gamma(double cv) { return {kind::gamma, cv}; }
};

// A synthetic trace: arrivals at mean rate rate_per_s (> 0) from time 0 (the first arrival)
// while the arrival time is < duration_s, lengths from sample_builtin_lengths. Arrivals and
// lengths use separate streams derived from seed, so changing the arrival process does not
// change the sequence of lengths. Throws std::invalid_argument on bad arguments.
trace generate_builtin_trace(double rate_per_s, double duration_s, arrival_process arrivals,
                             std::uint64_t seed);

// The same with lengths from any sampler (a workload family's, src/trace/workload_family.hpp):
// the arrival rules above, the sampler called once per query on the lengths' own stream.
trace generate_synthetic_trace(double rate_per_s, double duration_s, arrival_process arrivals,
                               std::uint64_t seed, const std::function<length_sample(rng&)>& lengths);

// n (≥ 1) lengths from the built-in distribution, seeded: the same lengths, in the same order,
// as generate_builtin_trace with that seed.
std::vector<length_sample> builtin_length_samples(std::size_t n, std::uint64_t seed);

// ---------------------------------------------------------------------------------------------
// What the planner needs to know about a workload's lengths. Computed from a set of samples;
// moments are exact sample moments, quantiles use linear interpolation between order statistics
// (the "type 7" definition of R and numpy).
struct workload_stats {
  std::string source;          // where the lengths came from, for reports
  std::size_t queries = 0;

  double mean_input = 0;       // E[in]
  double mean_output = 0;      // E[out] (> 0 for any workload the planner accepts)
  double input_p50 = 0, input_p90 = 0, input_p99 = 0, input_max = 0;
  double output_p50 = 0, output_p90 = 0, output_p99 = 0, output_max = 0;

  // Raw moments of the input length, E[in^k] for k = 2, 3, 4: the mean and second moment of
  // a prefill time with a quadratic term need them.
  double mean_input_sq = 0, mean_input_cube = 0, mean_input_4 = 0;
  double mean_output_sq = 0;   // E[out²]
  double mean_input_output = 0;  // E[in·out]

  // Mean context of a decoding query, averaged over decode iterations rather than queries: a
  // query with output o is in o iterations, so long outputs count more (length bias).
  //   (E[in·out] + (E[out²] + E[out]) / 2) / E[out]
  double mean_decode_context = 0;

  // KV tokens reserved by a decoding query (its whole in + out, as placement reserves it at
  // admission), averaged over decode iterations: first and second moments
  //   E[(in+out)·out] / E[out],   E[(in+out)²·out] / E[out].
  double kv_reserved_mean = 0;
  double kv_reserved_sq = 0;
  double total_p99 = 0;        // p99 of in + out: a worker must hold such a query alone

  // Input-length quantiles at probabilities (i + 0.5) / input_grid.size(): an equally weighted
  // stand-in for the input distribution, for tail (percentile) calculations.
  std::vector<double> input_grid;
  // The same for output lengths: per-query ATGT depends on how many tokens share the stalls.
  std::vector<double> output_grid;
};

// Throws std::invalid_argument when samples is empty or any length is negative.
workload_stats summarize_workload(std::span<const length_sample> samples, std::string source);
workload_stats summarize_workload(const trace& t, std::string source);

// Statistics of n seeded built-in samples (the planner's default workload).
workload_stats builtin_workload_stats(std::size_t n = 20000, std::uint64_t seed = 1);

// Statistics of the source trace the built-in workload was fitted to, for comparison.
struct builtin_source_facts {
  static constexpr double input_median = 1020, input_mean = 1154.7, input_p99 = 4142;
  static constexpr double output_median = 129, output_mean = 211.1, output_p99 = 601;
};

}  // namespace aladdin
