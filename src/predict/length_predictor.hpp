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
  double prior_weight = 20;        // pseudo-observations of the global prior in each bucket
  // Used before any query has completed: a broad prior so that the first decisions are sane.
  double cold_start_mean = 256;
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
  // Always ≥ 1 while the query runs.
  double expected_remaining(int input_tokens, int generated_tokens) const;

  // Quantile of the remaining length given L > n (q in (0,1)).
  double remaining_quantile(int input_tokens, int generated_tokens, double q) const;

  std::uint64_t observations() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace aladdin
