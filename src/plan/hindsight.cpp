#include "plan/hindsight.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

namespace aladdin {

double worker_seconds(const fleet_steps& fleet, double end_s) {
  double total = 0, at = 0;
  int count = fleet.initial;
  for (const auto& [t, workers] : fleet.changes) {
    if (t >= end_s) break;
    if (t > at) {
      total += count * (t - at);
      at = t;
    }
    count = workers;
  }
  if (end_s > at) total += count * (end_s - at);
  return total;
}

fleet_steps hindsight_fleet(const std::vector<int>& per_window, double window_s, double startup_s) {
  if (!(window_s > 0)) throw std::invalid_argument("hindsight fleet: the window must be positive");
  if (!(startup_s >= 0)) throw std::invalid_argument("hindsight fleet: the start-up time must be >= 0");
  for (int n : per_window)
    if (n < 0) throw std::invalid_argument("hindsight fleet: a negative worker count");
  fleet_steps fleet;
  if (per_window.empty()) return fleet;
  const std::size_t n = per_window.size();
  // startup_s = whole windows `ahead` plus a remainder: within window k, windows k..k+ahead are
  // needed throughout, and k+ahead+1 too from (window_s − remainder) on.
  const auto ahead = static_cast<std::size_t>(std::floor(startup_s / window_s));
  const double remainder = startup_s - static_cast<double>(ahead) * window_s;
  auto most = [&](std::size_t from, std::size_t to) {  // over windows [from, to], clipped
    int m = 0;
    for (std::size_t j = from; j <= std::min(to, n - 1); ++j) m = std::max(m, per_window[j]);
    return m;
  };
  auto set = [&](double t, int workers) {
    if (t == 0 && fleet.changes.empty()) {
      fleet.initial = workers;
      return;
    }
    const int before = fleet.changes.empty() ? fleet.initial : fleet.changes.back().second;
    if (workers != before) fleet.changes.emplace_back(t, workers);
  };
  for (std::size_t k = 0; k < n; ++k) {
    const double start = static_cast<double>(k) * window_s;
    set(start, most(k, k + ahead));
    if (remainder > 0) set(start + window_s - remainder, most(k, k + ahead + 1));
  }
  return fleet;
}

window_sizing fewest_per_window(std::size_t windows, const window_test& meets, const std::vector<int>& guesses,
                                int min_workers, int max_workers,
                                const std::function<void(std::size_t, std::size_t)>& on_test) {
  if (min_workers < 0 || max_workers < min_workers)
    throw std::invalid_argument("hindsight: need 0 <= min_workers <= max_workers");
  if (!guesses.empty() && guesses.size() != windows)
    throw std::invalid_argument("hindsight: one guess per window, or none");
  window_sizing out;
  out.workers.resize(windows);
  out.reached.resize(windows);
  for (std::size_t k = 0; k < windows; ++k) {
    auto test = [&](int workers) {
      const bool ok = meets(k, workers);
      ++out.tests;
      if (on_test) on_test(k, out.tests);
      return ok;
    };
    // Window k > 0 starts from the answer of k − 1, moved as the guesses move.
    int guess = guesses.empty() ? min_workers : guesses[k];
    if (k > 0) guess = out.workers[k - 1] + (guesses.empty() ? 0 : guesses[k] - guesses[k - 1]);
    const int start = std::clamp(guess, min_workers, max_workers);
    // Bracket: lo fails (or is below min_workers, assumed to fail), hi meets.
    int lo = 0, hi = 0;
    bool reached = true;
    if (test(start)) {
      hi = start;
      lo = min_workers - 1;
      for (int step = 1;; step *= 2) {
        const int c = hi - step;
        if (c < min_workers) break;
        if (!test(c)) {
          lo = c;
          break;
        }
        hi = c;
      }
    } else {
      lo = start;
      for (int step = 1;; step *= 2) {
        if (lo >= max_workers) {
          reached = false;
          break;
        }
        const int c = std::min(max_workers, lo + step);
        if (test(c)) {
          hi = c;
          break;
        }
        lo = c;
      }
    }
    if (!reached) {
      out.workers[k] = max_workers;
      out.reached[k] = false;
      continue;
    }
    while (hi - lo > 1) {
      const int mid = lo + (hi - lo) / 2;
      if (test(mid)) hi = mid;
      else lo = mid;
    }
    out.workers[k] = hi;
    out.reached[k] = true;
  }
  return out;
}

std::size_t required_met(double target, std::size_t queries) {
  return static_cast<std::size_t>(std::ceil(target * static_cast<double>(queries) - 1e-9));
}

hindsight_sizing size_hindsight(std::size_t windows, const window_eval& eval, const std::vector<int>& guesses,
                                int min_workers, int max_workers, double target,
                                const std::function<void(std::size_t)>& on_eval) {
  if (!(target > 0 && target <= 1)) throw std::invalid_argument("hindsight: the target must be in (0, 1]");
  hindsight_sizing out;
  std::vector<std::map<int, window_score>> seen(windows);
  auto score = [&](std::size_t k, int workers) {
    auto it = seen[k].find(workers);
    if (it != seen[k].end()) return it->second;
    const window_score s = eval(k, workers);
    seen[k].emplace(workers, s);
    ++out.evaluations;
    if (on_eval) on_eval(out.evaluations);
    return s;
  };
  // Each window alone at the target.
  const window_sizing alone = fewest_per_window(
      windows,
      [&](std::size_t k, int workers) {
        const window_score s = score(k, workers);
        return s.met >= required_met(target, s.queries);
      },
      guesses, min_workers, max_workers);
  out.workers = alone.workers;
  out.met_alone.resize(windows);
  out.windows_short = static_cast<std::size_t>(std::count(alone.reached.begin(), alone.reached.end(), false));
  // A window short even at max_workers: more workers past the fewest that meet as many as
  // max_workers do are all given back below (each loses nothing); find that count at once.
  for (std::size_t k = 0; k < windows; ++k) {
    if (alone.reached[k]) continue;
    const std::size_t ceiling = score(k, max_workers).met;
    const int guess = guesses.empty() ? min_workers : guesses[k];
    out.workers[k] = fewest_per_window(
                         1, [&](std::size_t, int workers) { return score(k, workers).met >= ceiling; }, {guess},
                         min_workers, max_workers)
                         .workers[0];
  }
  for (std::size_t k = 0; k < windows; ++k) {
    const window_score s = score(k, out.workers[k]);
    out.met += s.met;
    out.queries += s.queries;
  }
  const std::size_t required = required_met(target, out.queries);
  // Then the whole curve at the target: take away the worker whose window loses the fewest met
  // queries (ties: the earliest window), while the curve stays at the target.
  using loss = std::pair<long long, std::size_t>;  // met lost by one worker fewer, window
  std::set<loss> losses;
  auto loss_of = [&](std::size_t k) {
    const int n = out.workers[k];
    return static_cast<long long>(score(k, n).met) - static_cast<long long>(score(k, n - 1).met);
  };
  for (std::size_t k = 0; k < windows; ++k)
    if (out.workers[k] > min_workers) losses.insert({loss_of(k), k});
  while (!losses.empty()) {
    const auto [lost, k] = *losses.begin();
    // A worker whose window meets as many without it always goes; others only within the target.
    if (lost > 0 && static_cast<long long>(out.met) - lost < static_cast<long long>(required)) break;
    losses.erase(losses.begin());
    out.met = static_cast<std::size_t>(static_cast<long long>(out.met) - lost);
    --out.workers[k];
    if (out.workers[k] > min_workers) losses.insert({loss_of(k), k});
  }
  for (std::size_t k = 0; k < windows; ++k) out.met_alone[k] = score(k, out.workers[k]).met;
  out.reached = out.met >= required;
  return out;
}

replayed_sizing repair_by_replay(const hindsight_sizing& sizing, const curve_replay& replay, int max_workers,
                                 double target, std::size_t max_replays) {
  const std::size_t windows = sizing.workers.size();
  if (sizing.met_alone.size() != windows) throw std::invalid_argument("hindsight repair: a sizing without its scores");
  replayed_sizing out;
  out.workers = sizing.workers;
  while (true) {
    out.replay = replay(out.workers);
    ++out.replays;
    if (out.replay.size() != windows) throw std::invalid_argument("hindsight repair: one replay score per window");
    out.met = out.queries = 0;
    for (const window_score& w : out.replay) {
      out.met += w.met;
      out.queries += w.queries;
    }
    out.reached = out.met >= required_met(target, out.queries);
    if (out.reached || out.replays >= std::max<std::size_t>(max_replays, 1)) return out;
    // One more worker for each window that lost the most against itself alone (a carried-in
    // backlog), most first, until their losses cover what the curve is short of; where no
    // window lost anything, one more for the window that missed the most. Ties: the earliest.
    const auto short_by = static_cast<long long>(required_met(target, out.queries)) - static_cast<long long>(out.met);
    std::vector<std::pair<long long, std::size_t>> losses;  // (−lost, window): most lost first
    std::size_t most_missed = windows;
    for (std::size_t k = 0; k < windows; ++k) {
      if (out.workers[k] >= max_workers) continue;
      const long long lost =
          static_cast<long long>(sizing.met_alone[k]) - static_cast<long long>(out.replay[k].met);
      if (lost > 0) losses.emplace_back(-lost, k);
      const std::size_t missed = out.replay[k].queries - out.replay[k].met;
      if (missed > 0 && (most_missed == windows ||
                         missed > out.replay[most_missed].queries - out.replay[most_missed].met))
        most_missed = k;
    }
    std::sort(losses.begin(), losses.end());
    long long covered = 0;
    for (const auto& [negative_lost, k] : losses) {
      if (covered >= short_by) break;
      ++out.workers[k];
      covered -= negative_lost;
    }
    if (losses.empty()) {
      if (most_missed == windows) return out;  // nothing left to add
      ++out.workers[most_missed];
    }
  }
}

}  // namespace aladdin
