#include "model/calibration.hpp"

#include <algorithm>
#include <cmath>

namespace aladdin {


void latency_calibration::refresh(bucket& b) const {
  b.factor = b.samples < options_.min_samples
                 ? 1.0
                 : std::clamp(std::exp(b.log_ratio), options_.min_factor, options_.max_factor);
}

void latency_calibration::observe(table& t, double x, double predicted_s, double measured_s) {
  if (!(predicted_s > 0) || !(measured_s > 0)) return;
  ++observations_;
  const double r = std::log(measured_s / predicted_s);
  // The observation updates the two buckets around it, in proportion to its closeness.
  const calibration_position p = locate_bucket(x, kBuckets);
  const std::size_t hi = std::min(p.lo + 1, kBuckets - 1);
  for (auto [index, weight] : {std::pair{p.lo, 1.0 - p.frac}, std::pair{hi, p.frac}}) {
    if (weight <= 0) continue;
    bucket& b = t[index];
    // Early on, a plain running mean; then exponential forgetting.
    const double alpha = std::max(options_.smoothing, 1.0 / (b.samples + 1.0)) * weight;
    b.log_ratio += alpha * (r - b.log_ratio);
    ++b.samples;
    refresh(b);
  }
}

void latency_calibration::observe_decode(double batch, double predicted_s, double measured_s) {
  observe(decode_, batch, predicted_s, measured_s);
}

void latency_calibration::observe_prefill(double tokens, double predicted_s, double measured_s) {
  observe(prefill_, tokens / 64.0, predicted_s, measured_s);
}

void latency_calibration::observe_prefill_batch(double sequences, double predicted_singles_s,
                                                double measured_s) {
  if (sequences < 2) return;
  observe(prefill_batch_, sequences, predicted_singles_s, measured_s);
}

}  // namespace aladdin
