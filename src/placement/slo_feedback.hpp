#pragma once
// Closing the loop between what placement predicted and what happened. Every query placed
// because the schedule said it fits comes back with its real outcome (TTFT, ATGT); a miss means
// the model was wrong where it mattered — a fit error, noise, a prefill stall it did not see,
// an answer shorter than planned — whatever the cause. The planning margin of the worker's shape
// is then corrected so that such misses stay within a risk budget, instead of trusting a fixed
// headroom chosen on one workload.
//
// Rule (a stochastic approximation of the budget's quantile, one per SLO dimension and shape):
// after each planned outcome the margin m is multiplied by exp(−step·(miss − budget)), where
// miss is 1 or 0. Its expected change is zero exactly when the miss rate equals the budget: a
// model that misses more than the budget allows plans with less of each SLO (fewer prefills
// behind a running query, shorter queues), one that misses less gets back the room it gave up.
// m stays within [min_margin, 1]: the loop only ever plans with less of an SLO than configured.
//
// Only outcomes placement planned count against the margin: a query placed best effort says
// nothing about the model, nor does the TTFT of one whose TTFT was already lost at the intake.
// A query that was refused at first and then missed an SLO counts the other way: that miss is
// the price of refusing (near capacity, planning with less only makes more queries wait and
// lose their TTFT), so it gives back a step of margin on both dimensions. One-token answers
// have no ATGT.
//
// Deterministic: the margins depend only on the sequence of outcomes.

#include <cstdint>
#include <unordered_map>

#include "model/slo.hpp"
#include "placement/types.hpp"
#include "placement/worker_schedule.hpp"

namespace aladdin {

struct slo_feedback_options {
  bool enabled = true;
  // Misses allowed among planned outcomes. The simulator and `plan` set it from the attainment
  // target (half of the misses it allows: the other half is left to what placement does not
  // decide, such as waiting at the intake); the node from --risk-budget.
  double risk_budget = 0.005;
  double step = 0.05;        // relative change of the margin per miss
  double min_margin = 0.25;  // of the configured headroom
};

// One outcome of a placed query, as the desk saw it.
struct slo_outcome {
  bool waited = false;        // it was refused at first and waited at the intake
  bool ttft_planned = false;  // placed by the model with its TTFT still to meet
  bool atgt_planned = false;  // placed by the model (best effort: false) with more than one token
  bool ttft_missed = false;
  bool atgt_missed = false;
};

// Counts of planned outcomes, and of misses, over a shape's or a worker's life.
struct slo_error_counts {
  std::uint64_t ttft_planned = 0, ttft_missed = 0;
  std::uint64_t atgt_planned = 0, atgt_missed = 0;
  void add(const slo_outcome& o) {
    ttft_planned += o.ttft_planned;
    ttft_missed += o.ttft_planned && o.ttft_missed;
    atgt_planned += o.atgt_planned;
    atgt_missed += o.atgt_planned && o.atgt_missed;
  }
};

class slo_feedback {
 public:
  // Throws std::invalid_argument for options out of range.
  explicit slo_feedback(slo_feedback_options options);

  // An outcome on a worker of `shape` (a key: workers that share a shape model share a margin).
  // Returns the shape's margin after it.
  slo_margin observe(const worker_shape_model* shape, worker_id worker, const slo_outcome& o);

  slo_margin margin(const worker_shape_model* shape) const;
  const slo_error_counts& by_shape(const worker_shape_model* shape) const;
  const slo_error_counts& by_worker(worker_id worker) const;
  const slo_feedback_options& options() const { return options_; }

 private:
  struct shape_state {
    slo_margin margin;
    slo_error_counts counts;
  };
  double step(double margin, bool missed) const;

  slo_feedback_options options_;
  std::unordered_map<const worker_shape_model*, shape_state> shapes_;
  std::unordered_map<worker_id, slo_error_counts> workers_;
};

}  // namespace aladdin
