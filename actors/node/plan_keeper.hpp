#pragma once
// Configuration planning on a live node: from the demand forecast, the observed lengths and the
// intake's backlog, how many workers of the node's shape the SLOs need (plan::max_rate), and a
// PlanRecord in the state store whenever that number changes. The count comes from the same
// stabilised planner autoscaler the fleet simulator scales with (src/plan/autoscaler.hpp): up at
// once, down only when the last `stabilization_intervals` rounds all asked for fewer. Epochs only grow: each new plan
// takes the stored epoch + 1, also across restarts, and a store that already holds a newer
// epoch (stale_epoch) makes the keeper catch up rather than go back.
//
// The shape is the node's (the provisioner starts that shape only); the planner's own choice
// of shape is reported in the note, so an operator sees when another TP would be cheaper.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/latency_model.hpp"
#include "plan/autoscaler.hpp"
#include "plan/forecaster.hpp"
#include "plan/planner.hpp"
#include "storage/state_store.hpp"
#include "trace/builtin_workload.hpp"

namespace aladdin::node {

struct plan_settings {
  worker_profile shape;
  std::vector<worker_profile> alternatives;  // other shapes of the same model and GPU
  slo_target slo;
  planner_options planner;
  int min_workers = 1;
  int max_workers = 1;
  double horizon_s = 120;                    // model: start-up plus one interval
  std::size_t min_samples = 200;             // observed lengths before they replace the built-in mix
  int stabilization_intervals = 5;           // rounds that must agree before a scale-down
};

struct plan_round {
  int workers = 0;                  // the target for the shape
  double demand_per_s = 0;          // forecast plus backlog, model time
  double max_rate_per_worker = 0;
  bool changed = false;             // a new epoch was stored
  plan_record plan;                 // the plan in force after the round
};

class plan_keeper {
 public:
  // Reads the current epoch; throws std::runtime_error when the store cannot be read.
  plan_keeper(state_store& store, plan_settings settings);

  std::uint64_t epoch() const { return current_.epoch; }
  const plan_record& current() const { return current_; }

  // The node's starting plan: `workers` of the shape, stored as a new epoch unless the current
  // plan already says exactly that.
  plan_record start(int workers, std::uint64_t now_micros);

  plan_round plan(const demand_forecast& forecast, std::span<const length_sample> samples,
                  std::size_t backlog, std::uint64_t now_micros);

 private:
  bool store_plan(int workers, std::uint64_t now_micros, std::string note);
  int target_of(const plan_record& p) const;

  state_store& store_;
  plan_settings settings_;
  plan_record current_;
  workload_stats builtin_;
  stabilised_autoscaler autoscaler_;
};

}  // namespace aladdin::node
