#include <doctest/doctest.h>

#include <stdexcept>
#include <utility>
#include <vector>

#include "plan/hindsight.hpp"

using namespace aladdin;

TEST_CASE("hindsight: worker-seconds of a step function, clipped to its end") {
  const fleet_steps f{2, {{10, 5}, {30, 1}}};
  CHECK(worker_seconds(f, 40) == doctest::Approx(2 * 10 + 5 * 20 + 1 * 10));
  CHECK(worker_seconds(f, 20) == doctest::Approx(2 * 10 + 5 * 10));  // the tail past 20 is not paid
  CHECK(worker_seconds(f, 5) == doctest::Approx(2 * 5));
  CHECK(worker_seconds(fleet_steps{3, {}}, 7) == doctest::Approx(21));
  // Changes at one instant: the last one holds.
  CHECK(worker_seconds(fleet_steps{1, {{10, 4}, {10, 2}}}, 20) == doctest::Approx(10 + 2 * 10));
}

TEST_CASE("hindsight: without start-up time the fleet follows the windows exactly") {
  const fleet_steps f = hindsight_fleet({1, 3, 3, 2}, 10, 0);
  CHECK(f.initial == 1);
  CHECK(f.changes == std::vector<std::pair<double, int>>{{10, 3}, {30, 2}});
  CHECK(worker_seconds(f, 40) == doctest::Approx(10 * (1 + 3 + 3 + 2)));
}

TEST_CASE("hindsight: each window's workers are paid from a start-up time before it, worked by hand") {
  // Windows of 10 s needing 1, 3, 2, 2, 5 workers; start-up 5 s. Paid:
  //   [0,5) 1   [5,15) 3 (window 1 starting)   [15,20) 3   [20,35) 2   [35,50) 5 (window 4 starting)
  const fleet_steps f = hindsight_fleet({1, 3, 2, 2, 5}, 10, 5);
  CHECK(f.initial == 1);
  CHECK(f.changes == std::vector<std::pair<double, int>>{{5, 3}, {20, 2}, {35, 5}});
  CHECK(worker_seconds(f, 50) == doctest::Approx(5 * 1 + 15 * 3 + 15 * 2 + 15 * 5));
  // A start-up of one and a half windows reaches one window further.
  const fleet_steps g = hindsight_fleet({1, 1, 4, 1}, 10, 15);
  //   [0,5) max(w0,w1)=1   [5,10) max(w0..w2)=4   [10,30) 4   [30,40) 1
  CHECK(g.initial == 1);
  CHECK(g.changes == std::vector<std::pair<double, int>>{{5, 4}, {30, 1}});
  CHECK(worker_seconds(g, 40) == doctest::Approx(5 + 25 * 4 + 10));
}

TEST_CASE("hindsight: bad fleets are refused") {
  CHECK_THROWS_AS(hindsight_fleet({1}, 0, 0), std::invalid_argument);
  CHECK_THROWS_AS(hindsight_fleet({1}, 10, -1), std::invalid_argument);
  CHECK_THROWS_AS(hindsight_fleet({-1}, 10, 0), std::invalid_argument);
  CHECK(hindsight_fleet({}, 10, 0).changes.empty());
}

TEST_CASE("hindsight: the fewest workers per window, found by walking and bisecting") {
  const std::vector<int> need{3, 4, 4, 9, 1, 2};
  std::size_t calls = 0;
  const window_test meets = [&](std::size_t k, int workers) {
    ++calls;
    return workers >= need[k];
  };
  std::size_t last_tests = 0;
  const window_sizing s = fewest_per_window(need.size(), meets, {}, 1, 50,
                                            [&](std::size_t, std::size_t tests) { last_tests = tests; });
  CHECK(s.workers == need);
  CHECK(s.reached == std::vector<bool>(need.size(), true));
  CHECK(s.tests == calls);
  CHECK(last_tests == calls);
  // Good guesses cost fewer tests: each window is then one test up and one down.
  calls = 0;
  const window_sizing g = fewest_per_window(need.size(), meets, need, 1, 50);
  CHECK(g.workers == need);
  CHECK(g.tests <= 2 * need.size());
  CHECK(g.tests < s.tests);
}

TEST_CASE("hindsight: a window nothing serves is reported at the limit, unreached") {
  const window_sizing s = fewest_per_window(
      2, [](std::size_t k, int workers) { return k == 0 && workers >= 2; }, {}, 1, 8);
  CHECK(s.workers == std::vector<int>{2, 8});
  CHECK(s.reached == std::vector<bool>{true, false});
  CHECK_THROWS_AS(fewest_per_window(2, [](std::size_t, int) { return true; }, {1}, 1, 8), std::invalid_argument);
  CHECK_THROWS_AS(fewest_per_window(2, [](std::size_t, int) { return true; }, {}, 3, 2), std::invalid_argument);
}

TEST_CASE("hindsight sizing: windows that overshoot alone give workers back while the curve stays at the target") {
  // Two windows of 100 queries, target 0.9 (≥ 180 met of 200). Met queries by workers:
  //   window 0: 1 → 60, 2 → 92, 3 → 100      window 1: 1 → 85, 2 → 95, 3 → 95
  // Alone at 0.9 (≥ 90 each): 2 and 2, 187 met. One fewer in window 1 loses 10 (177: below 180),
  // in window 0 loses 32: both break the target, so 2 + 2 stays.
  const std::vector<std::vector<std::size_t>> met{{0, 60, 92, 100}, {0, 85, 95, 95}};
  std::size_t calls = 0;
  const window_eval eval = [&](std::size_t k, int n) {
    ++calls;
    return window_score{met[k][static_cast<std::size_t>(n)], 100};
  };
  const hindsight_sizing s = size_hindsight(2, eval, {}, 1, 3, 0.9);
  CHECK(s.workers == std::vector<int>{2, 2});
  CHECK(s.met == 187);
  CHECK(s.queries == 200);
  CHECK(s.reached);
  CHECK(s.windows_short == 0);
  CHECK(s.evaluations == calls);  // each (window, workers) once
  // At 0.85 (≥ 170): window 1 gives one back (−10, 177), then nothing else fits.
  const hindsight_sizing t = size_hindsight(2, eval, {}, 1, 3, 0.85);
  CHECK(t.workers == std::vector<int>{2, 1});
  CHECK(t.met == 177);
}

TEST_CASE("hindsight sizing: a window short even at the most workers is carried by the others") {
  // Window 0 never reaches 0.95 alone (plateau at 90 of 100, worse with more workers); window 1
  // reaches 100 at 2. Target 0.95 over 200 = 190 met: 90 + 100 is exactly enough.
  const std::vector<std::vector<std::size_t>> met{{0, 90, 90, 89, 88}, {0, 50, 100, 100, 100}};
  const hindsight_sizing s = size_hindsight(
      2, [&](std::size_t k, int n) { return window_score{met[k][static_cast<std::size_t>(n)], 100}; }, {}, 1, 4,
      0.95);
  CHECK(s.windows_short == 1);
  CHECK(s.workers == std::vector<int>{1, 2});  // window 0 gives back every worker past the first
  CHECK(s.met == 190);
  CHECK(s.reached);
  CHECK(required_met(0.95, 200) == 190);
  CHECK(required_met(0.99, 50) == 50);
  CHECK_THROWS_AS(size_hindsight(1, [](std::size_t, int) { return window_score{}; }, {}, 1, 2, 0),
                  std::invalid_argument);
}

TEST_CASE("hindsight repair: a backlog carried into a window gets it one more worker per replay") {
  // Alone, window 0 meets 95 of 100 at 3 workers and window 1 all 100 at 2. Replayed together,
  // window 1 inherits a backlog: 80 met at 2 workers, 10 more per extra worker.
  hindsight_sizing alone;
  alone.workers = {3, 2};
  alone.met_alone = {95, 100};
  std::vector<std::vector<int>> replayed;
  const curve_replay replay = [&](const std::vector<int>& workers) {
    replayed.push_back(workers);
    const auto second = static_cast<std::size_t>(std::min(100, 80 + 10 * (workers[1] - 2)));
    return std::vector<window_score>{{95, 100}, {second, 100}};
  };
  // 0.95 of 200 = 190 met: 175, then 185, then 195.
  const replayed_sizing r = repair_by_replay(alone, replay, 10, 0.95, 20);
  CHECK(r.reached);
  CHECK(r.replays == 3);
  CHECK(r.workers == std::vector<int>{3, 4});
  CHECK(r.met == 195);
  CHECK(replayed == std::vector<std::vector<int>>{{3, 2}, {3, 3}, {3, 4}});
  // Out of replays: reported short, with the last replay's counts.
  const replayed_sizing short_of = repair_by_replay(alone, replay, 10, 0.95, 2);
  CHECK_FALSE(short_of.reached);
  CHECK(short_of.workers == std::vector<int>{3, 3});
  CHECK(short_of.met == 185);
  // Every window at its limit: nothing to add.
  const replayed_sizing capped = repair_by_replay(alone, replay, 3, 0.99, 20);
  CHECK_FALSE(capped.reached);
  CHECK(capped.workers == std::vector<int>{3, 3});
}

TEST_CASE("hindsight repair: one replay adds to as many windows as the shortfall needs") {
  // Three windows that meet all 100 alone; replayed, each meets 90 at 2 workers, 100 at 3.
  hindsight_sizing alone;
  alone.workers = {2, 2, 2};
  alone.met_alone = {100, 100, 100};
  const curve_replay replay = [](const std::vector<int>& workers) {
    std::vector<window_score> out;
    for (int n : workers) out.push_back({static_cast<std::size_t>(std::min(100, 90 + 10 * (n - 2))), 100});
    return out;
  };
  // 0.95 of 300 = 285: 270 met, 15 short; two windows' losses (10 each) cover it.
  const replayed_sizing r = repair_by_replay(alone, replay, 10, 0.95, 20);
  CHECK(r.replays == 2);
  CHECK(r.workers == std::vector<int>{3, 3, 2});
  CHECK(r.met == 290);
  CHECK(r.reached);
}
