#include "plan/autoscaler.hpp"

#include <algorithm>
#include <cmath>
#include <exception>

#include "plan/planner.hpp"

namespace aladdin {

double planned_demand_per_s(const scaling_signal& s, double horizon_s) {
  // Queries already waiting are demand too: clear them within the horizon.
  return s.forecast_rate_per_s + static_cast<double>(s.backlog) / std::max(horizon_s, 1e-9);
}

double planner_autoscaler::recommend(const scaling_signal& s) {
  if (!(s.max_rate_per_worker > 0)) return infeasible_;
  try {
    return workers_needed(planned_demand_per_s(s, horizon_s_), s.max_rate_per_worker);
  } catch (const std::exception&) {  // more workers than an int holds: as many as allowed
    return infeasible_;
  }
}

double reactive_autoscaler::recommend(const scaling_signal& s) {
  const double per_worker = s.active_workers > 0
                                ? static_cast<double>(s.outstanding) / s.active_workers
                                : static_cast<double>(s.outstanding);
  return std::ceil(std::max(s.active_workers, 1) * per_worker / target_ - 1e-9);
}

double scheduled_autoscaler::recommend(const scaling_signal& s) {
  int most = schedule_.initial;
  for (const auto& [t, workers] : schedule_.changes) {
    if (t >= s.now_s + interval_s_) break;
    most = t <= s.now_s ? workers : std::max(most, workers);
  }
  return most;
}

stabilised_autoscaler::stabilised_autoscaler(std::unique_ptr<autoscaler> inner, scaling_limits limits)
    : inner_(std::move(inner)), limits_(limits) {}

std::size_t stabilised_autoscaler::window() const {
  return static_cast<std::size_t>(std::max(limits_.stabilization_intervals, 1));
}

void stabilised_autoscaler::start_from(int workers) {
  // As if every round of the last window had asked for the fleet as it is.
  history_.assign(window(), static_cast<double>(workers));
}

int stabilised_autoscaler::desired(const scaling_signal& s) {
  history_.push_back(inner_->recommend(s));
  while (history_.size() > window()) history_.pop_front();
  const double want = *std::max_element(history_.begin(), history_.end());
  return static_cast<int>(std::clamp(want, static_cast<double>(limits_.min_workers),
                                     static_cast<double>(limits_.max_workers)));
}

}  // namespace aladdin
