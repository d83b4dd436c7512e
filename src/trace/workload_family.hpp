#pragma once
// Workload families: seeded synthetic traces whose lengths and arrivals follow published
// statistics of a kind of service, so that a decision can be checked on more than the one trace
// it was tuned on. Nothing here was tuned on any result of aladdin.
//
// Lengths are drawn per query, input and output independently (the sources publish marginals
// only), each from a two-piece lognormal: x = median · exp(σ · z), z standard normal from
// aladdin::rng (clamped to ±4), σ = sigma_below for z < 0 and sigma_above for z ≥ 0, so the
// median is exact and the two sides fit a lower and an upper statistic separately. Rounded to
// whole tokens, at least 1, at most `max`. The fitted parameters, and the statistics they
// reproduce (checked on 200,000 draws in tests/unit/test_workload_family.cpp):
//
//   conversation   the built-in workload (src/trace/builtin_workload.hpp): quantile tables fitted
//                  to the Azure LLM inference trace 2023, conversation (Patel et al., Splitwise,
//                  ISCA 2024): prompts median 1,020, mean 1,155; answers median 129, mean 211.
//                  Poisson arrivals.
//   code           the Azure LLM inference trace 2023, code (AzureLLMInferenceTrace_code.csv,
//                  same source), as summarised in issue 8: prompts median ≈1.5k, mean ≈2k, p99
//                  ≈7.4k; answers median ≈13, mean ≈28.
//                    prompt  median 1,500, σ below 0.37 (fits the mean, 2,000), σ above 0.686
//                            (= ln(7,400 / 1,500) / z₀.₉₉: fits the p99), max 32,768
//                    answer  median 13, σ 1.239 both sides (= √(2 ln(28 / 13)): fits the mean),
//                            max 4,096.
//                  Poisson arrivals.
//   summarisation  prompts ≈2.5–4k, answers ≈150–300 tokens (issue 8's statistics), read as the
//                  5th–95th percentiles:
//                    prompt  median 3,200, σ below 0.150 (= ln(3,200 / 2,500) / 1.645), σ above
//                            0.136 (= ln(4,000 / 3,200) / 1.645), max 32,768
//                    answer  median 212 (≈ √(150 · 300)), σ 0.21 (= ln(300 / 212) / 1.645).
//                  Poisson arrivals.
//   long-context   a long-context production trace (issue 8: prompts median ≈7k, up to 126k
//                  tokens; answers a few hundred):
//                    prompt  median 7,000, σ 1.0 both sides (a heavy tail: p99 ≈ 72k, mean ≈
//                            11.5k), max 126,000 (the trace's largest prompt)
//                    answer  median 250, σ 0.6 (p5 ≈ 93, p95 ≈ 670), max 4,096.
//                  Poisson arrivals. Most of it is over a 4k- or 8k-context model: the intake
//                  rejects those queries (model_spec::fits_context), as it must.
//   bursty         conversation lengths, Gamma inter-arrival times with CV 4 (issue 8's figure). In
//                  the shared ServeGen m-small data (Xiang et al., arXiv 2505.09999) 90% of the
//                  per-client 10-minute windows have an inter-arrival CV above 1, the median is
//                  1.2, the p90 5.5 and the rate-weighted mean 3.6.
//
// Every family: arrivals at mean rate rate_per_s from time 0 while < duration_s, lengths and
// arrivals from separate streams of the seed (generate_synthetic_trace), so the same seed gives
// the same bytes everywhere.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/builtin_workload.hpp"
#include "trace/trace.hpp"
#include "util/rng.hpp"

namespace aladdin {

enum class workload_family : std::uint8_t { conversation, code, summarisation, long_context, bursty };

// Every family, in the order above.
const std::vector<workload_family>& workload_families();
std::string_view to_string(workload_family f);  // "long-context" etc.
std::optional<workload_family> parse_workload_family(std::string_view name);
std::string workload_family_names();  // "conversation, code, ..." for help and errors
std::string describe(workload_family f);  // one line: what it is and where its numbers come from

// A two-piece lognormal length distribution (see above).
struct length_law {
  double median = 1;
  double sigma_below = 0;
  double sigma_above = 0;
  int max = 1 << 20;
  int draw(rng& r) const;
};

// The fitted laws of a family (nullopt for the families that use the built-in tables).
struct family_lengths {
  length_law input, output;
};
std::optional<family_lengths> fitted_lengths(workload_family f);

// One query's lengths from the family's distribution.
length_sample sample_family_lengths(workload_family f, rng& r);

// The family's arrival process (bursty: Gamma CV 4; the others Poisson).
arrival_process family_arrivals(workload_family f);

// A seeded trace of the family; `arrivals` replaces the family's own process when given.
// Throws std::invalid_argument on bad arguments.
trace generate_family_trace(workload_family f, double rate_per_s, double duration_s, std::uint64_t seed,
                            std::optional<arrival_process> arrivals = std::nullopt);

}  // namespace aladdin
