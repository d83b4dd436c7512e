#pragma once
// Autoscaling measured against hindsight: the fleet an operator who knew the whole load curve in
// advance would have run, and what a fleet costs over the curve.
//
//   fewest per window   for each window of the curve, the fewest workers that serve it at the
//                       SLO target, found by a caller's test `meets(window, workers)` (aladdin
//                       scale simulates the window's own arrivals on a static fleet; a test
//                       passes a made-up rule). Walks from a guess (the previous window's answer
//                       moved as the caller's guesses move: neighbouring windows need about the
//                       same), doubling the step until the answer is bracketed, then bisects.
//                       Assumes more workers never fail where fewer met, near the answer; the
//                       answer meets and one fewer does not (or it is `min_workers`).
//   hindsight sizing    the per-window counts that reach the target over the whole curve, as
//                       every other fleet is judged, at the fewest worker-windows: from each
//                       window's fewest at the target alone (above), workers are taken away one
//                       at a time where that loses the fewest met queries (gains some, where more
//                       workers only hurt), until one more would put the whole curve below the
//                       target. Greedy over measured counts, so near, not exactly at, the optimum;
//                       a window that misses the target alone however many workers it gets
//                       starts from the fewest that meet as many as max_workers do, and is
//                       carried by the others' surplus (or the curve is reported short).
//   replay repair       the windows alone do not see a backlog carried from one window into the
//                       next, so the schedule is replayed through the whole curve (a caller's
//                       replay, the fleet simulator in aladdin scale); while the replay misses the
//                       target, the windows that lost the most queries against themselves alone
//                       get one more worker each, most first, until their losses cover what the
//                       curve is short of (where none lost any, the one that missed the most),
//                       and it replays.
//   hindsight fleet     a worker takes `startup_s` from request to service, so the fleet paid at
//                       time t is the most any window needs that is running at t or starts within
//                       startup_s after t. Nothing waits on a forecast, a signal or a
//                       stabilisation window: it is the floor every autoscaler is measured
//                       against, with the same start-up time and the same per-window test.
//   worker-seconds      of a fleet over [0, end): a step function (the count before the first
//                       change, then (time, count) changes in time order), as the fleet
//                       simulator reports it.
//
// The per-window test sees each window alone, starting from an idle fleet: no backlog carried
// in from the window before (kinder than the real curve, hence the replay repair), and a cold
// length predictor and calibration (harsher). Pure functions; nothing here reads a clock.

#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "plan/autoscaler.hpp"

namespace aladdin {

// Worker-seconds of the fleet within [0, end_s).
double worker_seconds(const fleet_steps& fleet, double end_s);

// The paid fleet of the hindsight-optimal autoscaler: per_window[k] workers serve window
// [k·window_s, (k+1)·window_s), each requested startup_s before its window starts (not before 0:
// the first windows' fleet is there at the start, as every autoscaler's initial fleet is).
// Throws std::invalid_argument for window_s ≤ 0, startup_s < 0 or a negative count.
fleet_steps hindsight_fleet(const std::vector<int>& per_window, double window_s, double startup_s);

struct window_sizing {
  std::vector<int> workers;     // the fewest per window
  std::vector<bool> reached;    // false: not even max_workers met the test (workers = max)
  std::size_t tests = 0;        // calls of meets
};

// meets(window, workers): does that many serve that window at the target? guesses (optional:
// empty, or one per window, e.g. the planner's sizing of each window): window 0's walk starts at
// guesses[0]; window k > 0's at window k − 1's answer + guesses[k] − guesses[k − 1]. Every count stays in
// [min_workers, max_workers]. `on_test` (optional) is called after every test with (window,
// tests so far). Throws std::invalid_argument for bad bounds or guesses of the wrong size.
using window_test = std::function<bool(std::size_t window, int workers)>;
window_sizing fewest_per_window(std::size_t windows, const window_test& meets, const std::vector<int>& guesses,
                                int min_workers, int max_workers,
                                const std::function<void(std::size_t window, std::size_t tests)>& on_test = {});

// What one window's arrivals reached on a fleet of some size.
struct window_score {
  std::size_t met = 0;      // queries that met their SLOs
  std::size_t queries = 0;  // the window's arrivals (the same for every size)
};
using window_eval = std::function<window_score(std::size_t window, int workers)>;

// Queries that must meet their SLOs for `target` of `queries`: ⌈target · queries⌉.
std::size_t required_met(double target, std::size_t queries);

struct hindsight_sizing {
  std::vector<int> workers;          // per window
  std::vector<std::size_t> met_alone;  // per window, alone at that count
  std::size_t met = 0, queries = 0;  // over every window, at those counts
  bool reached = false;              // met >= required_met(target, queries)
  std::size_t windows_short = 0;     // windows that missed the target alone even at max_workers
  std::size_t evaluations = 0;       // distinct (window, workers) evaluated
};

// The hindsight sizing above. eval is called at most once per (window, workers); guesses,
// bounds and on_eval (after every evaluation, with the count so far) as for fewest_per_window.
// Throws std::invalid_argument for a target outside (0, 1] or bad bounds.
hindsight_sizing size_hindsight(std::size_t windows, const window_eval& eval, const std::vector<int>& guesses,
                                int min_workers, int max_workers, double target,
                                const std::function<void(std::size_t evaluations)>& on_eval = {});

// One replay of a per-window sizing through the whole curve: met and queries per window (by
// arrival).
using curve_replay = std::function<std::vector<window_score>(const std::vector<int>& workers)>;

struct replayed_sizing {
  std::vector<int> workers;           // per window, after the repairs
  std::vector<window_score> replay;   // the last replay's, per window
  std::size_t met = 0, queries = 0;   // over the last replay
  std::size_t replays = 0;
  bool reached = false;               // the last replay met the target
};

// The replay repair above, from `sizing`, with at most max_replays replays (≥ 1) and no window
// past max_workers. Throws std::invalid_argument when a replay has not one score per window.
replayed_sizing repair_by_replay(const hindsight_sizing& sizing, const curve_replay& replay, int max_workers,
                                 double target, std::size_t max_replays);

}  // namespace aladdin
