// A hindsight fleet replayed through the fleet simulator: the schedule is the fleet it pays.

#include <doctest/doctest.h>

#include "model/builtin_profiles.hpp"
#include "plan/hindsight.hpp"
#include "sim/fleet_simulator.hpp"
#include "trace/builtin_workload.hpp"

using namespace aladdin;
using namespace aladdin::sim;

TEST_CASE("hindsight replay: the simulator's fleet follows a schedule, paid from each request") {
  // Windows of 60 s needing 2, 4, 1 workers, each started 20 s ahead: paid 2, then 4 from 40 s,
  // then 1 from 120 s.
  const fleet_steps schedule = hindsight_fleet({2, 4, 1}, 60, 20);
  REQUIRE(schedule.initial == 2);
  REQUIRE(schedule.changes == std::vector<std::pair<double, int>>{{40, 4}, {120, 1}});
  simulation_config c;
  c.policy = "jsq";
  c.profile = *find_builtin_profile("llama2-70b", "a100-80gb", 4);
  c.truth = ground_truth::builtin("llama2-70b", "a100-80gb", 4);
  c.slo = {2.0, 0.1};
  c.workers = schedule.initial;
  c.scaling.kind = autoscaler_kind::scheduled;
  c.scaling.schedule = schedule;
  c.scaling.interval_s = 10;
  c.scaling.startup_s = 20;
  c.scaling.stabilization_intervals = 1;
  const trace t = generate_builtin_trace(0.5, 180, arrival_process::poisson(), 4);
  const simulation_result r = simulate(t, c);
  CHECK(r.finished + r.over_context == r.queries);  // over Llama-2's context: refused at intake
  REQUIRE_FALSE(r.fleet_changes.empty());
  CHECK(r.fleet_changes.front() == std::pair<double, int>{40, 4});  // requested on time
  CHECK(r.gpus == 4 * 4);
  CHECK(r.fleet_changes.back().second == 1);
  // Paid as scheduled up to the drop; draining workers are paid until their last query ends.
  const double scheduled = worker_seconds(schedule, 180);
  const double paid = worker_seconds({c.workers, r.fleet_changes}, 180);
  CHECK(paid >= scheduled);
  CHECK(paid <= scheduled + 3 * 60);
}
