#pragma once
// Demand forecasting: arrival rate and mean lengths over fixed windows, and a forecast of the
// demand to provision for over a horizon (at least a worker's start-up time, since capacity
// ordered now is usable only then).
//
// Method: Holt's linear exponential smoothing of the per-window arrival rate (level + trend),
// so ramps are followed without lag; the forecast is the highest rate the trend reaches within
// the horizon, raised by a margin learnt from the recent one-window-ahead errors (their
// upper quantile), so a noisy load gets headroom and a steady one does not. Mean input and
// output lengths are exponentially smoothed per window.
//
// Deterministic and clock-free: the caller passes every arrival time and the "now" of a
// forecast.

#include <cstddef>
#include <deque>
#include <vector>

namespace aladdin {

struct forecaster_options {
  double window_s = 60;        // aggregation window
  double level_alpha = 0.5;    // smoothing of the rate level
  double trend_beta = 0.2;     // smoothing of the rate trend
  double length_alpha = 0.3;   // smoothing of mean lengths
  std::size_t error_history = 30;  // windows of one-step errors kept for the margin
  double error_quantile = 0.9;     // margin = this quantile of recent under-forecasts
};

struct demand_forecast {
  double rate_per_s = 0;           // to provision for over the horizon (margin included)
  double expected_rate_per_s = 0;  // the trend's own value at the horizon, no margin
  double mean_input_tokens = 0;
  double mean_output_tokens = 0;
  std::size_t windows_seen = 0;
};

class demand_forecaster {
 public:
  explicit demand_forecaster(forecaster_options options = {});

  // An arrival at time t (non-decreasing across calls).
  void observe_arrival(double t, int input_tokens);
  // A completion reveals an output length.
  void observe_completion(int output_tokens);

  // Closes every window that ended by `now` and forecasts the demand over (now, now + horizon].
  demand_forecast forecast(double now, double horizon_s);

  // Rates of the closed windows, oldest first (for reports).
  const std::vector<double>& window_rates() const { return window_rates_; }

 private:
  void close_windows_until(double t);
  void close_one_window();

  forecaster_options options_;
  bool started_ = false;
  double window_start_ = 0;
  std::size_t arrivals_in_window_ = 0;
  double input_sum_in_window_ = 0;
  double output_sum_in_window_ = 0;
  std::size_t outputs_in_window_ = 0;

  bool has_level_ = false;
  double level_ = 0;
  double trend_ = 0;
  double mean_input_ = 0;
  double mean_output_ = 0;
  bool has_input_ = false;
  bool has_output_ = false;
  std::deque<double> errors_;  // actual − one-step forecast, per window
  std::vector<double> window_rates_;
};

}  // namespace aladdin
