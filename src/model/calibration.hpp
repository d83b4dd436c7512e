#pragma once
// Online calibration of a worker shape's latency model from the iterations workers report.
//
// The fitted model is linear in batch size and tokens, while real engines are not (on the A100
// data a decode step at batch 64 takes 13% longer than the linear fit says, and placement packs
// workers exactly to where that matters). Rather than trusting the offline fit where it is
// weakest, every reported iteration updates a correction factor — measured / predicted — kept
// per batch-size bucket for decode steps and per token-count bucket for prefills (powers of two,
// exponentially weighted in log space, interpolated between buckets). Placement multiplies the
// model's prediction by the factor. Buckets with too few observations keep the neutral factor 1.
//
// Deterministic: the factors depend only on the sequence of observations.

#include <array>
#include <cstdint>

namespace aladdin {

struct calibration_options {
  double smoothing = 0.02;        // weight of each new observation in its bucket
  std::uint32_t min_samples = 20; // before a bucket's factor is used
  double min_factor = 0.5;
  double max_factor = 2.0;
};

class latency_calibration {
 public:
  explicit latency_calibration(calibration_options options = {}) : options_(options) {}

  void observe_decode(double batch, double predicted_s, double measured_s);
  void observe_prefill(double tokens, double predicted_s, double measured_s);

  // Multipliers for the model's prediction (1 where nothing has been learnt).
  double decode_factor(double batch) const { return factor(decode_, batch); }
  double prefill_factor(double tokens) const { return factor(prefill_, tokens / 64.0); }

  std::uint64_t observations() const { return observations_; }

 private:
  static constexpr std::size_t kBuckets = 16;  // 1 .. 32768 (× 64 tokens for prefill)
  struct bucket {
    double log_ratio = 0;
    std::uint32_t samples = 0;
  };
  using table = std::array<bucket, kBuckets>;

  void observe(table& t, double x, double predicted_s, double measured_s);
  double factor(const table& t, double x) const;
  double bucket_factor(const bucket& b) const;

  calibration_options options_;
  table decode_{};
  table prefill_{};
  std::uint64_t observations_ = 0;
};

}  // namespace aladdin
