#include "model/calibration.hpp"

#include <algorithm>
#include <cmath>

namespace aladdin {

namespace {
// Position on the log2 axis, clamped to the table: x = 1 → 0, x = 2 → 1, …
double position(double x, std::size_t buckets) {
  return std::clamp(std::log2(std::max(x, 1.0)), 0.0, static_cast<double>(buckets - 1));
}
}  // namespace

void latency_calibration::observe(table& t, double x, double predicted_s, double measured_s) {
  if (!(predicted_s > 0) || !(measured_s > 0)) return;
  ++observations_;
  const double r = std::log(measured_s / predicted_s);
  // The observation updates the two buckets around it, in proportion to its closeness.
  const double p = position(x, kBuckets);
  const auto lo = static_cast<std::size_t>(std::floor(p));
  const std::size_t hi = std::min(lo + 1, kBuckets - 1);
  const double w_hi = p - static_cast<double>(lo);
  for (auto [index, weight] : {std::pair{lo, 1.0 - w_hi}, std::pair{hi, w_hi}}) {
    if (weight <= 0) continue;
    bucket& b = t[index];
    // Early on, a plain running mean; then exponential forgetting.
    const double alpha = std::max(options_.smoothing, 1.0 / (b.samples + 1.0)) * weight;
    b.log_ratio += alpha * (r - b.log_ratio);
    ++b.samples;
  }
}

double latency_calibration::bucket_factor(const bucket& b) const {
  if (b.samples < options_.min_samples) return 1.0;
  return std::clamp(std::exp(b.log_ratio), options_.min_factor, options_.max_factor);
}

double latency_calibration::factor(const table& t, double x) const {
  const double p = position(x, kBuckets);
  const auto lo = static_cast<std::size_t>(std::floor(p));
  const std::size_t hi = std::min(lo + 1, kBuckets - 1);
  const double w = p - static_cast<double>(lo);
  return bucket_factor(t[lo]) * (1 - w) + bucket_factor(t[hi]) * w;
}

void latency_calibration::observe_decode(double batch, double predicted_s, double measured_s) {
  observe(decode_, batch, predicted_s, measured_s);
}

void latency_calibration::observe_prefill(double tokens, double predicted_s, double measured_s) {
  observe(prefill_, tokens / 64.0, predicted_s, measured_s);
}

}  // namespace aladdin
