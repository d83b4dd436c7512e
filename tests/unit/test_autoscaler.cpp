#include <doctest/doctest.h>

#include <memory>

#include "plan/autoscaler.hpp"

using namespace aladdin;

namespace {
scaling_signal demand(double rate) {
  scaling_signal s;
  s.forecast_rate_per_s = rate;
  s.max_rate_per_worker = 1.0;
  return s;
}
stabilised_autoscaler planner(int window) {
  return stabilised_autoscaler(std::make_unique<planner_autoscaler>(100, 1000), scaling_limits{1, 1000, window});
}
}  // namespace

TEST_CASE("stabilised autoscaler: up at once, down only when the whole window asked for fewer") {
  stabilised_autoscaler a = planner(3);
  CHECK(a.desired(demand(5)) == 5);
  CHECK(a.desired(demand(9)) == 9);
  CHECK(a.desired(demand(2)) == 9);
  CHECK(a.desired(demand(2)) == 9);
  CHECK(a.desired(demand(2)) == 2);  // three rounds in a row asked for 2
}

TEST_CASE("stabilised autoscaler: a fleet that has seen no traffic keeps its starting size for a window") {
  // The live node's defect: at start, with nothing forecast yet, the first round dropped the
  // fleet to min_workers before the first queries could arrive.
  stabilised_autoscaler a = planner(3);
  a.start_from(6);
  CHECK(a.desired(demand(0)) == 6);
  CHECK(a.desired(demand(0)) == 6);
  CHECK(a.desired(demand(0)) == 1);  // a whole window of quiet rounds
  // Traffic from the second round: down to it once the starting fleet has left the window.
  stabilised_autoscaler b = planner(3);
  b.start_from(6);
  CHECK(b.desired(demand(0)) == 6);
  CHECK(b.desired(demand(4)) == 6);
  CHECK(b.desired(demand(4)) == 4);  // the window (0, 4, 4) all asked for fewer than 6
  CHECK(b.desired(demand(8)) == 8);  // up at once
}

TEST_CASE("stabilised autoscaler: limits clamp the recommendation") {
  stabilised_autoscaler a(std::make_unique<planner_autoscaler>(100, 1000), scaling_limits{2, 5, 1});
  CHECK(a.desired(demand(0)) == 2);
  CHECK(a.desired(demand(40)) == 5);
  scaling_signal infeasible = demand(3);
  infeasible.max_rate_per_worker = 0;
  CHECK(a.desired(infeasible) == 5);  // asks for infeasible_workers (1000), clamped
}

TEST_CASE("reactive autoscaler: outstanding per worker against its target") {
  reactive_autoscaler r(4);
  scaling_signal s;
  s.active_workers = 3;
  s.outstanding = 30;
  CHECK(r.recommend(s) == doctest::Approx(8));  // ceil(30 / 4)
  s.active_workers = 0;
  s.outstanding = 5;
  CHECK(r.recommend(s) == doctest::Approx(2));
}

TEST_CASE("scheduled autoscaler: the most workers the schedule holds until the next round") {
  scheduled_autoscaler a(fleet_steps{2, {{20, 5}, {60, 3}}}, 10);
  auto at = [&](double t) {
    scaling_signal s;
    s.now_s = t;
    return a.recommend(s);
  };
  CHECK(at(0) == doctest::Approx(2));
  CHECK(at(10) == doctest::Approx(2));  // the rise at 20 is the next round's
  CHECK(at(15) == doctest::Approx(5));  // a round at 25 would be late for it
  CHECK(at(20) == doctest::Approx(5));
  CHECK(at(55) == doctest::Approx(5));  // the drop at 60 waits for its round
  CHECK(at(60) == doctest::Approx(3));
  CHECK(at(1000) == doctest::Approx(3));
}
