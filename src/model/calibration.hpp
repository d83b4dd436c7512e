#pragma once
// Online calibration of a worker shape's latency model from the iterations workers report.
//
// The fitted model is linear in batch size and tokens, while real engines are not (on the A100
// data a decode step at batch 64 takes 13% longer than the linear fit says, and placement packs
// workers exactly to where that matters). Rather than trusting the offline fit where it is
// weakest, every reported iteration updates a correction factor — measured / predicted — kept
// per batch-size bucket for decode steps and per token-count bucket for prefills (powers of two,
// exponentially weighted in log space, interpolated linearly within each octave). Placement multiplies the
// model's prediction by the factor. Buckets with too few observations keep the neutral factor 1.
//
// Deterministic: the factors depend only on the sequence of observations.

#include <array>
#include <bit>
#include <cstdint>

namespace aladdin {

// Where x falls among power-of-two buckets: bucket k covers [2^k, 2^(k+1)), and the weight of
// bucket k + 1 grows linearly across it. Bit operations only (no logarithm, no libm call):
// placement evaluates this for every worker it screens.
struct calibration_position {
  std::size_t lo = 0;
  double frac = 0;  // weight of lo + 1
};

inline calibration_position locate_bucket(double x, std::size_t buckets) {
  if (!(x > 1)) return {0, 0};
  // x = (1 + m / 2^52) · 2^k for a finite x > 1: read k and m off the bits.
  const auto bits = std::bit_cast<std::uint64_t>(x);
  const int k = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  if (k >= static_cast<int>(buckets) - 1) return {buckets - 1, 0};
  const double frac = static_cast<double>(bits & ((std::uint64_t{1} << 52) - 1)) * 0x1p-52;
  return {static_cast<std::size_t>(k), frac};
}

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
  // A prefill of one prompt: corrects the model by prompt size.
  void observe_prefill(double tokens, double predicted_s, double measured_s);
  // A prefill batch of `sequences` prompts against the sum of their single (size-corrected)
  // predictions: what batching adds or saves. Engines batch the prompts that wait together, and
  // measured tables charge a batch of n prompts g(n) times their single costs (≈1.27 at n = 9 on
  // the A100 data), which no per-prompt correction sees.
  void observe_prefill_batch(double sequences, double predicted_singles_s, double measured_s);

  // Multipliers for the model's prediction (1 where nothing has been learnt).
  double decode_factor(double batch) const { return factor(decode_, batch); }
  double prefill_factor(double tokens) const { return factor(prefill_, tokens / 64.0); }
  double prefill_batch_factor(double sequences) const { return factor(prefill_batch_, sequences); }

  std::uint64_t observations() const { return observations_; }

 private:
  static constexpr std::size_t kBuckets = 16;  // 1 .. 32768 (× 64 tokens for prefill)
  struct bucket {
    double log_ratio = 0;
    std::uint32_t samples = 0;
    double factor = 1;  // exp(log_ratio) once trusted, kept ready for the hot path
  };
  using table = std::array<bucket, kBuckets>;

  void observe(table& t, double x, double predicted_s, double measured_s);
  static double factor(const table& t, double x) {
    const calibration_position p = locate_bucket(x, kBuckets);
    if (p.frac == 0) return t[p.lo].factor;
    return t[p.lo].factor * (1 - p.frac) + t[p.lo + 1].factor * p.frac;
  }
  void refresh(bucket& b) const;

  calibration_options options_;
  table decode_{};
  table prefill_{};
  table prefill_batch_{};  // by sequences in the batch; bucket 0 (one prompt) stays neutral
  std::uint64_t observations_ = 0;
};

}  // namespace aladdin
