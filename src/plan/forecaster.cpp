#include "plan/forecaster.hpp"

#include <algorithm>
#include <cmath>

namespace aladdin {

demand_forecaster::demand_forecaster(forecaster_options options) : options_(options) {}

void demand_forecaster::observe_arrival(double t, int input_tokens) {
  if (!started_) {
    started_ = true;
    window_start_ = std::floor(t / options_.window_s) * options_.window_s;
  }
  close_windows_until(t);
  ++arrivals_in_window_;
  input_sum_in_window_ += input_tokens;
}

void demand_forecaster::observe_completion(int output_tokens) {
  output_sum_in_window_ += output_tokens;
  ++outputs_in_window_;
}

void demand_forecaster::close_windows_until(double t) {
  while (t >= window_start_ + options_.window_s) close_one_window();
}

void demand_forecaster::close_one_window() {
  const double rate = static_cast<double>(arrivals_in_window_) / options_.window_s;
  window_rates_.push_back(rate);
  if (!has_level_) {
    level_ = rate;
    trend_ = 0;
    has_level_ = true;
  } else {
    const double predicted = level_ + trend_;
    errors_.push_back(rate - predicted);
    if (errors_.size() > options_.error_history) errors_.pop_front();
    const double previous_level = level_;
    level_ = options_.level_alpha * rate + (1 - options_.level_alpha) * (level_ + trend_);
    trend_ = options_.trend_beta * (level_ - previous_level) + (1 - options_.trend_beta) * trend_;
  }
  if (arrivals_in_window_ > 0) {
    const double mean_in = input_sum_in_window_ / static_cast<double>(arrivals_in_window_);
    mean_input_ = has_input_ ? options_.length_alpha * mean_in + (1 - options_.length_alpha) * mean_input_
                             : mean_in;
    has_input_ = true;
  }
  if (outputs_in_window_ > 0) {
    const double mean_out = output_sum_in_window_ / static_cast<double>(outputs_in_window_);
    mean_output_ = has_output_
                       ? options_.length_alpha * mean_out + (1 - options_.length_alpha) * mean_output_
                       : mean_out;
    has_output_ = true;
  }
  arrivals_in_window_ = 0;
  input_sum_in_window_ = 0;
  output_sum_in_window_ = 0;
  outputs_in_window_ = 0;
  window_start_ += options_.window_s;
}

demand_forecast demand_forecaster::forecast(double now, double horizon_s) {
  if (started_) close_windows_until(now);
  demand_forecast f;
  f.windows_seen = window_rates_.size();
  f.mean_input_tokens = mean_input_;
  f.mean_output_tokens = mean_output_;
  if (!has_level_) {
    // Nothing closed yet: the partial window is all there is.
    const double elapsed = started_ ? std::max(now - window_start_, 1e-9) : 0;
    f.expected_rate_per_s = started_ ? static_cast<double>(arrivals_in_window_) / elapsed : 0;
    f.rate_per_s = f.expected_rate_per_s;
    if (arrivals_in_window_ > 0)
      f.mean_input_tokens = input_sum_in_window_ / static_cast<double>(arrivals_in_window_);
    return f;
  }
  // Windows from now to the horizon's end; the trend's highest value over them.
  const double steps = std::max(1.0, std::ceil(horizon_s / options_.window_s));
  const double at_horizon = level_ + trend_ * steps;
  const double peak = std::max({level_ + trend_, at_horizon, 0.0});
  // Margin: the error_quantile of recent under-forecasts (zero if we never under-forecast).
  double margin = 0;
  if (!errors_.empty()) {
    std::vector<double> e(errors_.begin(), errors_.end());
    std::sort(e.begin(), e.end());
    const auto idx = static_cast<std::size_t>(
        std::min<double>(static_cast<double>(e.size() - 1),
                         std::floor(options_.error_quantile * static_cast<double>(e.size()))));
    margin = std::max(0.0, e[idx]);
  }
  f.expected_rate_per_s = std::max(0.0, at_horizon);
  f.rate_per_s = peak + margin;
  return f;
}

}  // namespace aladdin
