#pragma once
// Online output-length predictor.
//
// Learns from completed queries: for each input-length bucket it keeps the distribution of
// observed output lengths; a bucket with too little history borrows from the global
// distribution (a prior weighted by pseudo-counts), so early predictions are not noise.
// Predictions are the mean and quantiles of the (blended) distribution; the correction for a
// running query conditions that distribution on "longer than n tokens so far". A query that has
// outlived every observation is never treated as about to finish: its remaining estimate grows
// with its age.
//
// Deterministic: no clocks, no randomness; the same observations give the same predictions.
//
// Layout (see the .cpp for the reasons):
//   * input buckets are geometric: `input_buckets_per_doubling` per power of two, from 1 token;
//   * output lengths go into histogram bins that are exact up to 64 tokens and about 3% wide
//     above, up to max_output_tokens; quantiles interpolate inside a bin;
//   * a bucket's distribution is its own counts plus pseudo-counts spread like the global
//     distribution; the global distribution is in turn its own counts plus pseudo-counts of the
//     cold-start prior (exponential with mean cold_start_mean). There are prior_weight
//     pseudo-counts while a histogram is empty, fading as prior_weight² / (prior_weight + n)
//     once it holds n observations, so well-observed buckets stand on their own evidence.
//     The global prior seen by the buckets is re-taken at observation counts fixed in advance
//     (each count up to 64, then every ~3% growth), which keeps bucket caches warm;
//   * remaining length after n tokens: with T the blended mass above n (in observations),
//       (T · E[L − n | L > n] + c) / (T + 1),   c = max(1, mean − n, n / (α − 1)),
//     i.e. the conditional estimate plus one pseudo-observation of a Pareto continuation whose
//     index α = ln 10 / ln(p99 / p90) is clamped to [1.5, 11]. Deep in the history c is
//     negligible; past all of it the estimate is c ≥ n / 10, growing with the query's age.
//     remaining_quantile mixes the conditional quantile and the Pareto one the same way.
//
// Cost: observe() is O(log bins) (Fenwick trees); predict() is O(1) while the bucket's cached
// summary is current and O(log bins) after an observation in that bucket; the remaining-length
// queries are O(log bins). About 0.1 µs each on one core. The caches make even the const
// methods unsafe to call concurrently.

#include <cstdint>
#include <memory>
#include <vector>

namespace aladdin {

struct length_prediction {
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
};

struct length_predictor_options {
  int max_output_tokens = 32768;   // lengths above are clamped into the last histogram bin
  double prior_weight = 20;        // pseudo-observations of the global prior in an empty bucket
  // Used before any query has completed: a broad prior so that the first decisions are sane.
  double cold_start_mean = 256;
  // Input-length buckets per doubling of the input length: 2 gives √2-wide buckets.
  // 4 (~19% wide) beat 2 and 1 clearly on the Azure conversation trace, with little more to
  // gain from finer buckets (see aladdin predict-eval --buckets-per-doubling).
  int input_buckets_per_doubling = 4;
};

class length_predictor {
 public:
  explicit length_predictor(length_predictor_options options = {});
  ~length_predictor();
  length_predictor(length_predictor&&) noexcept;
  length_predictor& operator=(length_predictor&&) noexcept;

  // Learn from a completed query.
  void observe(int input_tokens, int output_tokens);

  // Prediction of the total output length of a new query.
  length_prediction predict(int input_tokens) const;

  // E[L − n | L > n]: expected tokens still to come for a query that has generated n so far.
  // Always ≥ 1 while the query runs; never shrinks towards 0 past the history (see above).
  double expected_remaining(int input_tokens, int generated_tokens) const;

  // Quantile of the remaining length given L > n (q in (0,1)).
  double remaining_quantile(int input_tokens, int generated_tokens, double q) const;

  // The same prediction ignoring the input length: the global distribution of every
  // observation (blended with the cold-start prior while there are few). For planners that
  // size for the whole mix, and as the baseline that shows what bucketing buys.
  length_prediction predict_global() const;

  // Any quantile (q in (0,1)) of the total output length for this input length.
  double quantile(int input_tokens, double q) const;

  const length_predictor_options& options() const;

  std::uint64_t observations() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace aladdin
