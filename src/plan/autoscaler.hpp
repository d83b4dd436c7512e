#pragma once
// Autoscaling: how many workers of one shape the fleet should have next, from what it sees now.
// One interface, used by the fleet simulator's scaling loop (src/sim/fleet_simulator.cpp) and by
// the live node's planning (actors/node/plan_keeper.cpp), so both scale by the same rule with the
// same stabilisation.
//
//   planner   aladdin: the demand forecast over the horizon (start-up + one interval), plus the
//             intake's backlog cleared within that horizon, over the highest rate one worker
//             sustains within the SLOs (plan::max_rate);
//   reactive  a utilisation autoscaler (as Kubernetes' HPA on a queue metric): outstanding
//             queries per active worker against a target;
//   scheduled a fleet given in advance over time (a hindsight fleet, plan/hindsight.hpp, replayed
//             through the simulator): the most workers it holds from this round to the next, so
//             that a change between two rounds is not late.
// `stabilised` wraps either: it scales up at once, but down only when every recommendation of
// the last `stabilization_intervals` rounds asked for fewer (HPA's scale-down window), so a dip
// between two bursts does not release workers that must be restarted; and it clamps to
// [min_workers, max_workers]. The fleet it starts from (`start_from`) is in that window too: a
// fleet that has seen no traffic yet keeps its starting size for a whole window, instead of
// dropping to `min_workers` at the first round, before the first queries could even arrive.
//
// Decisions are pure functions of the signals passed in; nothing here reads a clock.

#include <cstddef>
#include <deque>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace aladdin {

// What the fleet looks like at one scaling round.
struct scaling_signal {
  double forecast_rate_per_s = 0;   // demand forecast over the horizon
  std::size_t backlog = 0;          // queries waiting at the intake
  int active_workers = 0;           // accepting new queries (not starting, not draining)
  int outstanding = 0;              // queued + running on active workers, plus the backlog
  double max_rate_per_worker = 0;   // the planner's sustainable rate of one worker (0: infeasible)
  double now_s = 0;                 // the round's time (only a schedule reads it)
};

// A fleet's size over time: `initial` workers from 0, then each (time, workers) change.
struct fleet_steps {
  int initial = 0;
  std::vector<std::pair<double, int>> changes;  // time order
};

// The demand the planner sizes for: the forecast plus the backlog cleared within the horizon.
double planned_demand_per_s(const scaling_signal& s, double horizon_s);

class autoscaler {
 public:
  virtual ~autoscaler() = default;
  virtual std::string_view name() const = 0;
  // The raw recommendation of one round (before stabilisation and limits).
  virtual double recommend(const scaling_signal& s) = 0;
};

class planner_autoscaler final : public autoscaler {
 public:
  // horizon_s: start-up plus one interval, the time within which the backlog must clear.
  // infeasible_workers: what to ask for when one worker cannot meet the SLOs at all.
  planner_autoscaler(double horizon_s, double infeasible_workers)
      : horizon_s_(horizon_s), infeasible_(infeasible_workers) {}
  std::string_view name() const override { return "planner"; }
  double recommend(const scaling_signal& s) override;

 private:
  double horizon_s_;
  double infeasible_;
};

class reactive_autoscaler final : public autoscaler {
 public:
  explicit reactive_autoscaler(double target_outstanding_per_worker)
      : target_(target_outstanding_per_worker) {}
  std::string_view name() const override { return "reactive"; }
  double recommend(const scaling_signal& s) override;

 private:
  double target_;
};

class scheduled_autoscaler final : public autoscaler {
 public:
  // interval_s: the time between two rounds (> 0).
  scheduled_autoscaler(fleet_steps schedule, double interval_s)
      : schedule_(std::move(schedule)), interval_s_(interval_s) {}
  std::string_view name() const override { return "scheduled"; }
  double recommend(const scaling_signal& s) override;

 private:
  fleet_steps schedule_;
  double interval_s_;
};

struct scaling_limits {
  int min_workers = 1;
  int max_workers = 100000;
  int stabilization_intervals = 5;
};

class stabilised_autoscaler {
 public:
  stabilised_autoscaler(std::unique_ptr<autoscaler> inner, scaling_limits limits);
  // The fleet runs `workers` now (at start, or after someone else set its size): no round goes
  // below that until `stabilization_intervals` rounds have all asked for fewer.
  void start_from(int workers);
  // The worker count to run after this round.
  int desired(const scaling_signal& s);

 private:
  std::size_t window() const;

  std::unique_ptr<autoscaler> inner_;
  scaling_limits limits_;
  std::deque<double> history_;  // recent raw recommendations, newest last
};

}  // namespace aladdin
