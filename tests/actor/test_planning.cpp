// The planner on the deterministic scheduler: plans and their epochs.

#include <doctest/doctest.h>

#include "tests/actor/actor_fixture.hpp"

using namespace aladdin;
using namespace aladdin::node;
using aladdin::test::actor_fixture;

namespace {

struct recorded_targets {
  std::vector<int> targets;
};

// Stands in for the provisioner: records the targets, answers the rest of its interface.
provisioner_actor::behavior_type target_recorder(provisioner_actor::pointer, recorded_targets* into) {
  return {
      [=](target_msg m) { into->targets.push_back(m.workers); },
      [](roster_event&) {},
      [](reconcile_atom) {},
      [](stats_atom) { return provisioner_stats{}; },
  };
}

plan_settings settings() {
  plan_settings s;
  s.shape = *find_builtin_profile("llama2-70b", "a100-80gb", 4);
  s.min_workers = 1;
  s.max_workers = 8;
  s.horizon_s = 120;
  s.stabilization_intervals = 1;  // every round decides alone (stabilisation: its own test)
  return s;
}

// A round every 60 s of model time, starting with `workers`.
planning_options every_minute(int workers) { return {settings(), 60, workers}; }

}  // namespace

TEST_CASE("actor planning: plan epochs only grow, across rounds, a newer plan from elsewhere and a restart") {
  actor_fixture f;
  recorded_targets seen;
  auto provisioner = f.keep(f.sys.spawn(target_recorder, &seen));
  auto forecaster = f.keep(spawn_forecaster(f.sys, {.window_s = 60}));
  auto planner = f.keep(spawn_planner(f.sys, f.services, f.shared, every_minute(2), forecaster, provisioner));
  f.run();
  REQUIRE(f.store.current_plan().ok());
  const std::uint64_t first = f.store.current_plan().value().epoch;
  CHECK(first == 1);
  CHECK(f.shared.epoch.load() == first);
  REQUIRE(seen.targets == std::vector<int>{2});
  const auto plan = f.stats_of<planner_stats>(planner);
  CHECK(plan.epoch == first);
  CHECK(plan.workers == 2);

  // A heavy minute of arrivals: the next round wants more workers (capped at 8).
  arrivals_msg heavy;
  for (int i = 0; i < 1200; ++i) heavy.items.emplace_back(i * 0.05, 1000);
  caf::anon_send(forecaster, std::move(heavy));
  f.run();
  f.advance(std::chrono::seconds(61));
  const plan_record second = f.store.current_plan().value();
  CHECK(second.epoch == first + 1);
  REQUIRE(seen.targets.size() == 2);
  CHECK(seen.targets.back() > 2);
  CHECK(f.shared.epoch.load() == second.epoch);
  CHECK(f.stats_of<planner_stats>(planner).workers == seen.targets.back());

  // Someone stored epoch 10 meanwhile; a quiet minute changes the target again: 11, not 3.
  plan_record other = second;
  other.epoch = 10;
  other.targets[0].workers = 5;
  REQUIRE(f.store.put_plan(other).ok());
  f.advance(std::chrono::seconds(60));
  f.advance(std::chrono::seconds(60));
  const plan_record third = f.store.current_plan().value();
  CHECK(third.epoch >= 11);
  CHECK(f.shared.epoch.load() == third.epoch);

  // A restarted planner on the same store continues above it.
  caf::anon_send_exit(planner, caf::exit_reason::user_shutdown);
  f.run();
  f.keep(spawn_planner(f.sys, f.services, f.shared, every_minute(4), forecaster, provisioner));
  f.run();
  CHECK(f.store.current_plan().value().epoch > third.epoch);
  for (std::uint64_t e = 1; e <= f.store.current_plan().value().epoch; ++e) {
    auto p = f.store.get_plan(e);
    if (p) CHECK(p.value().epoch == e);
  }
}

namespace {
// A plan keeper whose scale-downs wait for three rounds that agree.
struct stabilised_keeper {
  static plan_settings three_rounds() {
    plan_settings s = settings();
    s.stabilization_intervals = 3;
    return s;
  }
  memory_store store;
  plan_keeper keeper{store, three_rounds()};
};
}  // namespace

TEST_CASE("actor planning: the node scales down only after every recent round agreed, as the simulator") {
  stabilised_keeper f;
  plan_keeper& keeper = f.keeper;
  keeper.start(2, 1);
  const demand_forecast busy{.rate_per_s = 5.0};
  const demand_forecast quiet{.rate_per_s = 0.01};
  const plan_round up = keeper.plan(busy, {}, 0, 2);
  CHECK(up.workers > 2);  // up at once
  CHECK(keeper.plan(quiet, {}, 0, 3).workers == up.workers);
  CHECK(keeper.plan(quiet, {}, 0, 4).workers == up.workers);
  CHECK(keeper.plan(quiet, {}, 0, 5).workers == 1);  // three quiet rounds in a row
}

TEST_CASE("actor planning: a node that has seen no traffic keeps its starting fleet for a whole window") {
  // The live node dropped to one worker at its first round, before traffic arrived.
  stabilised_keeper f;
  plan_keeper& keeper = f.keeper;
  keeper.start(4, 1);
  const demand_forecast nothing{};
  CHECK(keeper.plan(nothing, {}, 0, 2).workers == 4);
  CHECK(keeper.plan(nothing, {}, 0, 3).workers == 4);
  CHECK(keeper.plan(nothing, {}, 0, 4).workers == 1);  // three rounds without traffic
}
