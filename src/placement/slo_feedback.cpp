#include "placement/slo_feedback.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace aladdin {

slo_feedback::slo_feedback(slo_feedback_options options) : options_(options) {
  if (!(options_.risk_budget > 0 && options_.risk_budget < 1))
    throw std::invalid_argument("slo feedback: the risk budget must be in (0, 1)");
  if (!(options_.step > 0 && options_.step < 1))
    throw std::invalid_argument("slo feedback: the step must be in (0, 1)");
  if (!(options_.min_margin > 0 && options_.min_margin <= 1))
    throw std::invalid_argument("slo feedback: the least margin must be in (0, 1]");
}

double slo_feedback::step(double margin, bool missed) const {
  const double error = (missed ? 1.0 : 0.0) - options_.risk_budget;
  return std::clamp(margin * std::exp(-options_.step * error), options_.min_margin, 1.0);
}

slo_margin slo_feedback::observe(const worker_shape_model* shape, worker_id worker,
                                 const slo_outcome& o) {
  shape_state& s = shapes_[shape];
  s.counts.add(o);
  workers_[worker].add(o);
  if (!options_.enabled) return s.margin;
  if (o.waited) {
    // Refused at first: a miss here is the price of refusing, not of packing — planning with
    // less of the SLO would only make more queries wait. It gives room back instead.
    if (o.ttft_missed || o.atgt_missed) {
      s.margin.ttft = std::min(1.0, s.margin.ttft * std::exp(options_.step));
      s.margin.atgt = std::min(1.0, s.margin.atgt * std::exp(options_.step));
    }
    return s.margin;
  }
  if (o.ttft_planned) s.margin.ttft = step(s.margin.ttft, o.ttft_missed);
  if (o.atgt_planned) s.margin.atgt = step(s.margin.atgt, o.atgt_missed);
  return s.margin;
}

slo_margin slo_feedback::margin(const worker_shape_model* shape) const {
  const auto it = shapes_.find(shape);
  return it == shapes_.end() ? slo_margin{} : it->second.margin;
}

const slo_error_counts& slo_feedback::by_shape(const worker_shape_model* shape) const {
  static const slo_error_counts none;
  const auto it = shapes_.find(shape);
  return it == shapes_.end() ? none : it->second.counts;
}

const slo_error_counts& slo_feedback::by_worker(worker_id worker) const {
  static const slo_error_counts none;
  const auto it = workers_.find(worker);
  return it == workers_.end() ? none : it->second;
}

}  // namespace aladdin
