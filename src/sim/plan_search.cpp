#include "sim/plan_search.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <thread>

#include "placement/registry.hpp"
#include "sim/ceiling.hpp"
#include "trace/builtin_workload.hpp"

namespace aladdin::sim {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> parse_policy_list(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    const auto comma = text.find(',');
    const std::string name(trim_blanks(text.substr(0, comma)));
    if (name.empty()) throw std::invalid_argument("empty policy name (known: " + policy_names() + ")");
    if (find_policy(name) == nullptr)
      throw std::invalid_argument("unknown policy '" + name + "' (known: " + policy_names() + ")");
    if (std::find(out.begin(), out.end(), name) != out.end())
      throw std::invalid_argument("policy '" + name + "' is listed twice");
    out.push_back(name);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string_view to_string(search_outcome o) {
  switch (o) {
    case search_outcome::found: return "found";
    case search_outcome::not_reached: return "not_reached";
    case search_outcome::plateau: return "plateau";
    case search_outcome::pruned: return "pruned";
  }
  return "unknown";
}

// =============================================================================================
// Fluid lower bound (the derivation is in the header).

namespace {

// What one query costs a shape, in the separable form w(B) = λ·(compute + a/B) +
// (1 − λ)·(kv + b·B)/C over B in [1, b_max].
struct query_cost {
  double arrival = 0;
  double deadline = 0;
  bool forced_miss = false;
  double compute = 0;  // prefill share + decode terms that do not depend on the batch
  double a = 0;        // c3·(o − 1): the per-iteration cost shared by the batch
  double kv = 0;       // KV-token-seconds that do not depend on the batch
  double b = 0;        // (l + 1)·c2·(o − 1): KV-seconds added per unit of batch
  double b_max = 1;    // largest mean batch the ATGT SLO (and max_num_seqs) allows
};

double cost_at(const query_cost& q, double lambda, double capacity) {
  if (q.forced_miss) return 0;
  double batch = q.b_max;
  const double kv_slope = (1 - lambda) * q.b / capacity;
  if (kv_slope > 0) batch = std::clamp(std::sqrt(lambda * q.a / kv_slope), 1.0, q.b_max);
  const double w = lambda * (q.compute + q.a / batch) + (1 - lambda) * (q.kv + q.b * batch) / capacity;
  return std::max(0.0, w);
}

std::vector<query_cost> query_costs(const trace& arrivals, const worker_profile& p,
                                    const slo_target& slo, serving_mode mode, int max_num_seqs) {
  std::vector<query_cost> out;
  out.reserve(arrivals.size());
  const double k2 = p.decode.k2, c2 = p.decode.c2, c3 = p.decode.c3;
  const double capacity = p.kv.capacity_tokens;
  for (const trace_record& r : arrivals) {
    query_cost q;
    const double l = r.input_tokens, o = std::max(1, r.output_tokens);
    const double m = o - 1;  // decode iterations
    q.arrival = r.arrival_s;
    q.deadline = r.arrival_s + slo.ttft_s + slo.atgt_s * m;
    const double prefill =
        mode == serving_mode::chunked
            ? p.prefill.k1 * l
            : p.prefill.k1 * l + p.prefill.q1 * l * l + p.prefill.s1 + std::min(p.prefill.c1, 0.0);
    // Σ (l + i) and Σ (l + i)² over i = 1 … m.
    const double s1 = m * l + m * (m + 1) / 2;
    const double s2 = m * l * l + l * m * (m + 1) + m * (m + 1) * (2 * m + 1) / 6;
    q.compute = std::max(0.0, prefill) + k2 * s1 + c2 * m;
    q.a = c3 * m;
    q.kv = c3 * s1 + k2 * s2;
    q.b = (l + 1) * std::max(c2, 0.0) * m;
    double b_max = max_num_seqs;
    if (m > 0 && c2 > 0) b_max = std::min(b_max, (slo.atgt_s - c3 - k2 * s1 / m) / c2);
    q.b_max = b_max;
    q.forced_miss = prefill > slo.ttft_s || (m > 0 && b_max < 1) || l + o > capacity;
    out.push_back(q);
  }
  return out;
}

// max over windows of (work of the queries inside that must be met, after the adversary drops
// its `allowance` costliest) / window length. Writes the window that sets it.
double busiest_window(const std::vector<query_cost>& costs, const std::vector<double>& work,
                      std::size_t allowance, double* start, double* end) {
  std::vector<std::size_t> by_deadline;
  std::vector<double> arrivals_sorted;
  for (std::size_t i = 0; i < costs.size(); ++i) {
    if (costs[i].forced_miss) continue;
    by_deadline.push_back(i);
    arrivals_sorted.push_back(costs[i].arrival);
  }
  if (by_deadline.empty()) return 0;
  std::stable_sort(by_deadline.begin(), by_deadline.end(), [&](std::size_t x, std::size_t y) {
    return costs[x].deadline < costs[y].deadline;
  });
  std::sort(arrivals_sorted.begin(), arrivals_sorted.end());
  constexpr int kStarts = 64;
  double best = 0;
  double previous_start = -kInf;
  for (int j = 0; j <= kStarts; ++j) {
    const double t1 = arrivals_sorted[(arrivals_sorted.size() - 1) * static_cast<std::size_t>(j) / kStarts];
    if (t1 == previous_start) continue;
    previous_start = t1;
    double sum = 0, dropped = 0;
    std::priority_queue<double, std::vector<double>, std::greater<>> costliest;  // min-heap
    for (const std::size_t i : by_deadline) {
      if (costs[i].arrival < t1) continue;
      sum += work[i];
      if (allowance > 0) {
        if (costliest.size() < allowance) {
          costliest.push(work[i]);
          dropped += work[i];
        } else if (work[i] > costliest.top()) {
          dropped += work[i] - costliest.top();
          costliest.pop();
          costliest.push(work[i]);
        }
      }
      const double length = costs[i].deadline - t1;
      if (length <= 0) continue;
      const double need = (sum - dropped) / length;
      if (need > best) {
        best = need;
        *start = t1;
        *end = costs[i].deadline;
      }
    }
  }
  return best;
}

}  // namespace

fluid_bound fluid_lower_bound(const trace& arrivals, std::span<const worker_profile> profiles,
                              const slo_target& slo, double attainment_target,
                              serving_mode mode, int max_num_seqs) {
  if (!(attainment_target > 0 && attainment_target <= 1))
    throw std::invalid_argument("attainment target must be in (0, 1]");
  fluid_bound out;
  const auto allowed = static_cast<std::size_t>(
      std::floor((1 - attainment_target) * static_cast<double>(arrivals.size()) + 1e-9));
  for (const worker_profile& p : profiles) {
    shape_bound s;
    s.tp = p.config.tp;
    const double capacity = p.kv.capacity_tokens;
    const auto costs = query_costs(arrivals, p, slo, mode, max_num_seqs);
    for (const auto& q : costs) s.forced_misses += q.forced_miss;
    s.feasible = !arrivals.empty() && capacity > 0 && s.forced_misses <= allowed;
    if (!s.feasible) {
      out.shapes.push_back(s);
      continue;
    }
    const std::size_t allowance = allowed - s.forced_misses;

    // λ by the whole-trace window (cheap); any λ is sound, this one is usually the tightest.
    double first = kInf, last = -kInf;
    for (const auto& q : costs) {
      if (q.forced_miss) continue;
      first = std::min(first, q.arrival);
      last = std::max(last, q.deadline);
    }
    std::vector<double> work(costs.size());
    double best_whole = -1;
    for (int step = 0; step <= 20; ++step) {
      const double lambda = step / 20.0;
      for (std::size_t i = 0; i < costs.size(); ++i) work[i] = cost_at(costs[i], lambda, capacity);
      std::vector<double> sorted = work;
      std::sort(sorted.begin(), sorted.end(), std::greater<>());
      double total = 0;
      for (std::size_t i = std::min(allowance, sorted.size()); i < sorted.size(); ++i) total += sorted[i];
      const double need = last > first ? total / (last - first) : 0;
      if (need > best_whole) {
        best_whole = need;
        s.lambda = lambda;
      }
    }
    for (std::size_t i = 0; i < costs.size(); ++i) work[i] = cost_at(costs[i], s.lambda, capacity);
    s.workers = busiest_window(costs, work, allowance, &s.window_start_s, &s.window_end_s);
    // At least one query must be met, so at least one worker.
    const bool any_met = static_cast<double>(arrivals.size() - allowed) > 0;
    int workers = static_cast<int>(std::ceil(s.workers - 1e-9));
    if (any_met) workers = std::max(workers, 1);
    s.gpus = workers * s.tp;
    if (!out.gpus || s.gpus < *out.gpus) {
      out.gpus = s.gpus;
      out.tp = s.tp;
    }
    out.shapes.push_back(s);
  }
  return out;
}

// =============================================================================================
// Search.

namespace {

// One (policy, shape) search; see the header for the strategy.
struct cell {
  std::size_t policy = 0;  // index into options.policies
  std::size_t shape = 0;   // index into shapes
  int tp = 0;
  int max_workers = 0;     // the search limit
  int floor_workers = 1;   // the fluid bound in workers
  int estimate = 1;        // the planner's workers at the peak rate (at least floor_workers)
  int lo = 0;              // highest failure known: simulated, or assumed from the bound
  bool lo_simulated = true;
  std::optional<int> hi;   // lowest simulated success
  int walks_left = 0;
  // Interpolation guard: which end of the bracket moved last (−1 lo, +1 hi) and whether it
  // moved twice in a row, in which case the next step bisects.
  int last_side = 0;
  bool bisect_next = false;
  // Set when the search would end unreached; it first tries a few neighbours of its best
  // failures (attainment is not monotone: a packing policy can do better with fewer workers).
  std::optional<search_outcome> giving_up;
  int rescues_left = 0;
  std::map<int, plan_probe> probes;
  std::optional<search_outcome> done;
};

bool meets(const plan_probe& p, std::size_t needed) { return p.met_slo >= needed; }

bool same_run(const plan_probe& a, const plan_probe& b) {
  return a.met_slo == b.met_slo && a.iterations == b.iterations && a.preemptions == b.preemptions &&
         a.queued_at_intake == b.queued_at_intake && a.makespan_s == b.makespan_s &&
         a.ttft_p99_s == b.ttft_p99_s && a.atgt_p99_s == b.atgt_p99_s;
}

// Highest simulated failure below n, or 0 (zero workers fail by definition).
int highest_failure_below(const cell& c, int n, std::size_t needed) {
  for (auto it = c.probes.lower_bound(n); it != c.probes.begin();) {
    --it;
    if (!meets(it->second, needed)) return it->first;
  }
  return 0;
}

// Everything the search needs to know about the workload and the target.
struct search_context {
  std::size_t needed = 0;   // queries that must meet their SLOs
  double target_miss = 0;   // the miss fraction allowed
  double log_target = 0;    // its log
  double miss_floor = 0;    // the miss fraction a run without misses is treated as
  double growth = 1.3;
};

// log(miss fraction − saturation): misses fall off about exponentially as a fleet gets out of
// overload, towards a floor that no number of workers removes (prompts too long for the TTFT
// SLO, say), so this is roughly linear in the workers and interpolates far better than the
// attainment itself. `saturation` is an estimate of that floor (0 when unknown).
double log_miss(const plan_probe& p, const search_context& ctx, double saturation = 0) {
  return std::log(std::max(1 - p.attainment - saturation, ctx.miss_floor));
}

// The floor of the miss curve, estimated from below as 90% of the fewest misses seen, so the
// target's own level stays above it once some run has met the target.
double miss_saturation(const cell& c) {
  double fewest = 1;
  for (const auto& [n, p] : c.probes) fewest = std::min(fewest, 1 - p.attainment);
  return 0.9 * std::max(0.0, fewest);
}

// The next number of workers to simulate, or nullopt after marking the search done. `limit` is
// the most workers worth trying: the search limit, or fewer when another shape of the policy
// already reached the target with fewer GPUs (then `pruning` is true).
std::optional<int> next_probe(cell& c, int limit, bool pruning, const search_context& ctx) {
  if (c.done) return std::nullopt;
  if (!c.hi && c.lo >= limit && !c.giving_up) {
    if (pruning) {
      c.done = search_outcome::pruned;
      return std::nullopt;
    }
    c.giving_up = search_outcome::not_reached;
    // The bound puts the answer beyond the limit. It is the model's bound, not the simulator's:
    // try the largest fleet allowed once, so the report rests on a simulation.
    if (c.probes.empty() && limit >= 1) return limit;
  }
  if (c.giving_up) {
    // Failures by attainment, best first (then fewer workers); probe an unsimulated neighbour.
    std::vector<const plan_probe*> failures;
    for (const auto& [n, p] : c.probes)
      if (!meets(p, ctx.needed)) failures.push_back(&p);
    std::stable_sort(failures.begin(), failures.end(),
                     [](const plan_probe* a, const plan_probe* b) { return a->met_slo > b->met_slo; });
    if (c.rescues_left > 0)
      for (const plan_probe* f : failures)
        for (const int n : {f->workers - 1, f->workers + 1})
          if (n >= c.floor_workers && n <= limit && c.probes.count(n) == 0) {
            --c.rescues_left;
            return n;
          }
    c.done = c.giving_up;
    return std::nullopt;
  }
  if (!c.hi) {
    if (c.probes.empty()) return std::clamp(c.estimate, c.lo + 1, limit);
    // Extrapolate the miss curve through the two highest failures, with a 15% margin so the
    // next probe lands just above the answer (a success there brackets it tightly); one failure
    // or a curve that does not fall: grow by `growth`. Never more than double.
    double next = c.lo * ctx.growth;
    const int previous = highest_failure_below(c, c.lo, ctx.needed);
    if (previous > 0) {
      const double f_lo = log_miss(c.probes.at(c.lo), ctx);
      const double slope = (log_miss(c.probes.at(previous), ctx) - f_lo) / (c.lo - previous);
      next = slope > 0 ? c.lo + 1.15 * (f_lo - ctx.log_target) / slope : 2.0 * c.lo;
    }
    next = std::min({next, 2.0 * c.lo, static_cast<double>(limit)});
    return std::clamp(static_cast<int>(std::ceil(next)), c.lo + 1, limit);
  }
  if (*c.hi - c.lo > 1) {
    // No failure simulated yet below the success: step down by `growth`, mirroring the way up,
    // rather than bisect towards the bound (deep in overload, where runs are slow).
    if (!c.lo_simulated || c.lo == 0)
      return std::clamp(static_cast<int>(std::floor(*c.hi / ctx.growth)), c.lo + 1, *c.hi - 1);
    if (c.bisect_next) return c.lo + (*c.hi - c.lo) / 2;
    // Interpolate the miss curve between the bracket's ends; round up, towards success.
    const double floor = miss_saturation(c);
    const double f_lo = log_miss(c.probes.at(c.lo), ctx, floor);
    const double f_hi = log_miss(c.probes.at(*c.hi), ctx, floor);
    const double f_target = std::log(std::max(ctx.target_miss - floor, ctx.miss_floor));
    const double x = f_lo > f_hi ? c.lo + (f_lo - f_target) / (f_lo - f_hi) * (*c.hi - c.lo)
                                 : c.lo + (*c.hi - c.lo) / 2.0;
    return std::clamp(static_cast<int>(std::ceil(x - 1e-9)), c.lo + 1, *c.hi - 1);
  }
  if (c.lo_simulated) {
    c.done = search_outcome::found;
    return std::nullopt;
  }
  return c.lo;  // confirm the assumed failure just below the answer
}

void record(cell& c, int n, const plan_probe& p, const search_context& ctx) {
  const int previous_failure = highest_failure_below(c, n, ctx.needed);
  c.probes[n] = p;
  const int side = meets(p, ctx.needed) ? 1 : -1;
  if (c.giving_up) {
    if (side < 0) return;
    // A rescue reached the target: search below it as usual.
    c.giving_up.reset();
    c.hi = n;
    c.lo = highest_failure_below(c, n, ctx.needed);
    c.lo_simulated = true;
    c.last_side = 0;
    return;
  }
  c.bisect_next = c.hi && side == c.last_side && !c.bisect_next;
  c.last_side = side;
  if (side > 0) {
    c.hi = n;
    if (n <= c.lo) {  // the assumed failure was wrong: walk down, then bisect from what is known
      if (c.walks_left > 0) {
        --c.walks_left;
        c.lo = n - 1;
        c.lo_simulated = c.lo == 0 || c.probes.count(c.lo) > 0;
      } else {
        c.lo = highest_failure_below(c, n, ctx.needed);
        c.lo_simulated = true;
      }
    }
    return;
  }
  if (n >= c.lo) {
    c.lo = n;
    c.lo_simulated = true;
  }
  if (!c.hi && previous_failure > 0 && same_run(c.probes.at(previous_failure), p))
    c.giving_up = search_outcome::plateau;
}

struct task {
  std::size_t cell = 0;
  int workers = 0;
};

// The searches of one policy. They share pruning information, so they advance in waves: a wave
// is planned from the results of the earlier ones only, never from which simulation happened
// to finish first. The lead shape (the planner's choice) is searched first; the others then
// start at the most workers that could still beat it, which settles most of them in one run.
struct policy_group {
  std::vector<std::size_t> cells;  // indices into the cell list; cells[0] is the lead
  bool others_started = false;
  std::vector<task> wave;
  std::vector<plan_probe> results;
  std::size_t pending = 0;         // simulations of the wave not yet finished
  bool done = false;
};

// Plans the group's next wave into g.wave; false when the group has nothing left to run.
bool plan_wave(policy_group& g, std::vector<cell>& cells, const search_context& ctx) {
  g.wave.clear();
  cell& lead = cells[g.cells.front()];
  if (!lead.done) {
    if (const auto n = next_probe(lead, lead.max_workers, false, ctx)) {
      g.wave.push_back({g.cells.front(), *n});
      return true;
    }
  }
  std::optional<int> best_gpus;  // fewest GPUs any shape reached the target with so far
  for (const std::size_t i : g.cells) {
    if (!cells[i].hi) continue;
    const int gpus = *cells[i].hi * cells[i].tp;
    if (!best_gpus || gpus < *best_gpus) best_gpus = gpus;
  }
  if (!g.others_started) {
    g.others_started = true;
    // Start where a shape could only just beat (or tie) the lead: one run then settles it.
    if (best_gpus)
      for (std::size_t k = 1; k < g.cells.size(); ++k) {
        cell& c = cells[g.cells[k]];
        c.estimate = std::max(*best_gpus / c.tp, c.lo + 1);
      }
  }
  for (std::size_t k = 1; k < g.cells.size(); ++k) {
    cell& c = cells[g.cells[k]];
    if (c.done) continue;
    int limit = c.max_workers;
    bool pruning = false;
    if (best_gpus) {
      // One more worker than the highest failure would already cost more GPUs.
      if (static_cast<std::int64_t>(c.lo + 1) * c.tp > *best_gpus) {
        c.done = search_outcome::pruned;
        continue;
      }
      if (*best_gpus / c.tp < limit) {
        limit = *best_gpus / c.tp;
        pruning = true;
      }
    }
    if (const auto n = next_probe(c, limit, pruning, ctx)) g.wave.push_back({g.cells[k], *n});
  }
  return !g.wave.empty();
}

// Highest arrival rate over any `window` seconds (the mean rate when the trace is shorter).
double peak_rate(const trace& arrivals, double window) {
  const double span = arrivals.back().arrival_s - arrivals.front().arrival_s;
  if (span <= window) return span > 0 ? static_cast<double>(arrivals.size()) / span : 1.0;
  std::size_t j = 0, most = 0;
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    while (j < arrivals.size() && arrivals[j].arrival_s < arrivals[i].arrival_s + window) ++j;
    most = std::max(most, j - i);
  }
  return static_cast<double>(most) / window;
}

}  // namespace

std::vector<policy_plan> search_sizes(std::span<const size_search_policy> policies,
                                      const probe_function& probe, std::size_t queries,
                                      const plan_search_options& options, std::size_t* probes_run) {
  if (queries == 0) throw std::invalid_argument("plan search: the workload has no queries");
  if (!(options.attainment_target > 0 && options.attainment_target <= 1))
    throw std::invalid_argument("plan search: the attainment target must be in (0, 1]");
  if (options.max_gpus < 1) throw std::invalid_argument("plan search: max_gpus must be >= 1");
  if (options.threads < 1) throw std::invalid_argument("plan search: threads must be >= 1");
  if (!(options.growth > 1)) throw std::invalid_argument("plan search: growth must be > 1");
  search_context ctx;
  const double n = static_cast<double>(queries);
  ctx.needed = static_cast<std::size_t>(std::ceil(options.attainment_target * n - 1e-9));
  ctx.miss_floor = 0.5 / n;
  ctx.target_miss = 1 - options.attainment_target;
  ctx.log_target = std::log(std::max(ctx.target_miss, ctx.miss_floor));
  ctx.growth = options.growth;

  // One search per (policy, shape), grouped by policy, the lead shape first.
  std::vector<cell> cells;
  std::vector<policy_group> groups;
  for (std::size_t pi = 0; pi < policies.size(); ++pi) {
    if (policies[pi].shapes.empty())
      throw std::invalid_argument("plan search: policy '" + policies[pi].name + "' has no shape to search");
    policy_group g;
    for (std::size_t si = 0; si < policies[pi].shapes.size(); ++si) {
      const size_search_shape& s = policies[pi].shapes[si];
      if (s.tp < 1) throw std::invalid_argument("plan search: a shape needs tp >= 1");
      cell c;
      c.policy = pi;
      c.shape = si;
      c.tp = s.tp;
      c.max_workers = options.max_gpus / s.tp;
      c.walks_left = options.confirm_steps;
      c.rescues_left = options.confirm_steps;
      c.floor_workers = std::max(1, s.floor_workers);
      c.lo = c.floor_workers - 1;
      c.lo_simulated = c.lo == 0;
      c.estimate = std::max(c.floor_workers, s.estimate);
      g.cells.push_back(cells.size());
      cells.push_back(std::move(c));
    }
    groups.push_back(std::move(g));
  }

  // A pool of threads runs the probes of every group's current wave; a group plans its next
  // wave when the last probe of the current one is in, so groups overlap and the threads stay
  // busy, while every decision depends only on results (gathered by task index).
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::pair<std::size_t, std::size_t>> ready;  // (group, task in its wave)
  std::size_t active_groups = groups.size();
  std::size_t finished = 0;
  std::exception_ptr failure;
  plan_progress progress;
  progress.searches = cells.size();

  // Called with the mutex held.
  auto schedule = [&](std::size_t gi) {
    policy_group& g = groups[gi];
    if (!plan_wave(g, cells, ctx)) {
      g.done = true;
      --active_groups;
      return;
    }
    g.results.assign(g.wave.size(), plan_probe{});
    g.pending = g.wave.size();
    for (std::size_t k = 0; k < g.wave.size(); ++k) ready.emplace_back(gi, k);
  };
  auto work = [&] {
    std::unique_lock lock(mutex);
    while (true) {
      wake.wait(lock, [&] { return !ready.empty() || active_groups == 0 || failure; });
      if (failure || ready.empty()) return;
      const auto [gi, k] = ready.front();
      ready.pop_front();
      const task t = groups[gi].wave[k];
      const cell& c = cells[t.cell];
      const std::size_t policy = c.policy, shape = c.shape;
      lock.unlock();
      plan_probe p;
      std::exception_ptr error;
      try {
        p = probe(policy, shape, t.workers);
        p.workers = t.workers;
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (error) {
        if (!failure) failure = error;
        wake.notify_all();
        return;
      }
      policy_group& g = groups[gi];
      g.results[k] = p;
      ++finished;
      if (--g.pending == 0) {
        for (std::size_t j = 0; j < g.wave.size(); ++j)
          record(cells[g.wave[j].cell], g.wave[j].workers, g.results[j], ctx);
        schedule(gi);
        wake.notify_all();
      }
      if (options.on_progress) {
        progress.simulations = finished;
        progress.searches_done = 0;
        for (const auto& x : cells) progress.searches_done += x.done.has_value();
        options.on_progress(progress);
      }
    }
  };
  {
    const std::lock_guard lock(mutex);
    for (std::size_t gi = 0; gi < groups.size(); ++gi) schedule(gi);
  }
  std::vector<std::thread> pool;
  for (int h = 1; h < options.threads; ++h) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  if (probes_run != nullptr) *probes_run = finished;

  // Per policy: the best shape.
  std::vector<policy_plan> out;
  for (std::size_t pi = 0; pi < policies.size(); ++pi) {
    policy_plan plan;
    plan.policy = policies[pi].name;
    plan.fixed_shape = policies[pi].fixed_shape;
    plan.batching = policies[pi].batching;
    plan.mode = mode_of(plan.batching, options.mode);
    const plan_probe* best = nullptr;
    int best_tp = 0;
    auto better = [&](const plan_probe& p, int tp) {
      if (best == nullptr) return true;
      if (p.gpus != best->gpus) return p.gpus < best->gpus;
      if (p.attainment != best->attainment) return p.attainment > best->attainment;
      return tp < best_tp;
    };
    std::vector<const cell*> mine;
    for (const auto& c : cells)
      if (c.policy == pi) mine.push_back(&c);
    std::stable_sort(mine.begin(), mine.end(), [](const cell* a, const cell* b) { return a->tp < b->tp; });
    for (const cell* c : mine) {
      shape_search s;
      s.tp = c->tp;
      s.outcome = c->done.value_or(search_outcome::not_reached);
      if (s.outcome == search_outcome::found)
        s.workers = *c->hi;
      else if (!c->probes.empty())
        s.workers = c->probes.rbegin()->first;
      for (const auto& [workers, p] : c->probes) s.probes.push_back(p);
      if (s.outcome == search_outcome::found) {
        const plan_probe& p = c->probes.at(*c->hi);
        if (better(p, c->tp)) {
          best = &p;
          best_tp = c->tp;
        }
      }
      plan.shapes.push_back(std::move(s));
    }
    plan.reached = best != nullptr;
    if (!plan.reached) {
      // Closest: the largest fleet tried of the shape that came nearest the target.
      auto closer = [&](const plan_probe& p, int tp) {
        if (best == nullptr) return true;
        if (p.attainment != best->attainment) return p.attainment > best->attainment;
        if (p.gpus != best->gpus) return p.gpus < best->gpus;
        return tp < best_tp;
      };
      for (const cell* c : mine)
        if (!c->probes.empty() && closer(c->probes.rbegin()->second, c->tp)) {
          best = &c->probes.rbegin()->second;
          best_tp = c->tp;
        }
    }
    if (best != nullptr) {
      plan.result = *best;
      plan.tp = best_tp;
    }
    out.push_back(std::move(plan));
  }
  return out;
}

serving_mode mode_of(pinned_batching pinned, serving_mode measured) {
  // A pinned deployment (vllm, vllm-v0) batches as it ships, whatever the others run.
  switch (pinned) {
    case pinned_batching::as_measured: return measured;
    case pinned_batching::prefill_first: return serving_mode::prefill_first;
    case pinned_batching::chunked: return serving_mode::chunked;
  }
  return measured;
}

plan_report search_topologies(const trace& arrivals, std::span<const plan_shape> shapes,
                              std::optional<int> default_tp, const plan_search_options& options,
                              std::span<const serving_mode> modes) {
  if (modes.empty()) throw std::invalid_argument("plan search: no serving topology to search");
  plan_search_options first = options;
  first.mode = modes[0];
  plan_report best = search_plans(arrivals, shapes, default_tp, first);
  std::vector<std::string> free;  // the policies whose batching is not pinned
  for (const policy_plan& p : best.policies)
    if (p.batching == pinned_batching::as_measured) free.push_back(p.policy);
  const auto better = [](const policy_plan& a, const policy_plan& b) {
    if (a.reached != b.reached) return a.reached;
    if (a.reached && a.result.gpus != b.result.gpus) return a.result.gpus < b.result.gpus;
    return a.result.attainment > b.result.attainment;
  };
  for (std::size_t k = 1; k < modes.size() && !free.empty(); ++k) {
    plan_search_options o = options;
    o.mode = modes[k];
    o.policies = free;
    const plan_report r = search_plans(arrivals, shapes, default_tp, o);
    best.simulations += r.simulations;
    for (const policy_plan& candidate : r.policies)
      for (policy_plan& kept : best.policies)
        if (kept.policy == candidate.policy && better(candidate, kept)) kept = candidate;
  }
  return best;
}

simulation_config probe_config(const std::string& policy, const plan_shape& shape, int workers,
                               const plan_search_options& options) {
  const policy_info* info = find_policy(policy);
  if (info == nullptr) throw std::invalid_argument("plan search: unknown policy '" + policy + "'");
  simulation_config config;
  config.policy = policy;
  config.mode = mode_of(info->pinned.batching, options.mode);
  // The closed loop's risk budget: half of the misses the target allows (slo_feedback.hpp).
  config.feedback.risk_budget = std::clamp((1 - options.attainment_target) / 2, 1e-4, 0.25);
  config.profile = shape.profile;
  config.truth = shape.truth;
  config.workers = workers;
  config.slo = options.slo;
  config.seed = options.seed;
  return config;
}

plan_report search_plans(const trace& workload, std::span<const plan_shape> shapes,
                         std::optional<int> default_tp, const plan_search_options& options) {
  if (shapes.empty()) throw std::invalid_argument("plan search: no worker shapes");
  // Queries over the model's context are rejected at intake (the simulator's rule): they are in
  // no attainment, so the search, the planner and the bound see only the others.
  const trace arrivals = within_context(
      workload, find_model(shapes.front().profile.config.model).value_or(model_spec{}), nullptr);
  if (arrivals.empty()) throw std::invalid_argument("plan search: the workload has no queries within the model's context");
  if (!(options.attainment_target > 0 && options.attainment_target <= 1))
    throw std::invalid_argument("plan search: the attainment target must be in (0, 1]");
  if (options.mode == serving_mode::split)
    throw std::invalid_argument("plan search: split serving is not searched (use prefill-first or chunked)");

  plan_report report;
  report.queries = arrivals.size();
  report.arrival_span_s = arrivals.back().arrival_s - arrivals.front().arrival_s;
  const double n = static_cast<double>(arrivals.size());

  std::vector<worker_profile> profiles;
  for (const auto& s : shapes) profiles.push_back(s.profile);

  // The planner's prediction: its steady-state model at the mean arrival rate.
  const workload_stats stats = summarize_workload(arrivals, "plan workload");
  const slo_target slo{options.slo.ttft_s, options.slo.atgt_s};
  report.planner.rate_qps = report.arrival_span_s > 0 ? n / report.arrival_span_s : n;
  const fleet_plan predicted = plan_fleet(profiles, stats, slo, report.planner.rate_qps);
  if (predicted.best) {
    const shape_plan& b = predicted.shapes[*predicted.best];
    report.planner.gpus = b.gpus;
    report.planner.workers = b.workers;
    report.planner.tp = b.capacity.gpus_per_worker;
  }
  // Starting points: the same model at the busiest minute's rate, since a fleet must ride out
  // the bursts, not just the mean (a shape's rate per worker does not depend on the demand).
  const double peak = peak_rate(arrivals, 60);
  auto workers_at_peak = [&](std::size_t si) {
    const shape_capacity& c = predicted.shapes[si].capacity;
    return c.feasible ? workers_needed(peak, c.max_rate_per_worker) : 1;
  };

  const simulation_config defaults;
  report.lower_bound = fluid_lower_bound(arrivals, profiles, options.slo, options.attainment_target,
                                         options.mode, defaults.max_num_seqs);

  // The searches: every shape per policy (a fixed-shape policy only its default), the
  // planner's shape first (else the lower bound's).
  std::vector<size_search_policy> searches;
  std::vector<std::vector<std::size_t>> shape_of;  // per policy: search shape → index in shapes
  std::vector<std::string> names = options.policies;
  if (names.empty())
    for (const policy_info& p : policies()) names.push_back(p.name);
  for (const std::string& name : names) {
    const policy_info* info = find_policy(name);
    if (info == nullptr) throw std::invalid_argument("plan search: unknown policy '" + name + "'");
    size_search_policy p;
    p.name = name;
    p.fixed_shape = info->pinned.default_shape;
    p.batching = info->pinned.batching;
    std::vector<std::size_t> indices;
    for (std::size_t si = 0; si < shapes.size(); ++si) {
      const int tp = shapes[si].profile.config.tp;
      if (info->pinned.default_shape && (!default_tp || tp != *default_tp)) continue;
      const shape_bound& bound = report.lower_bound.shapes[si];
      size_search_shape s;
      s.tp = tp;
      // An infeasible bound still lets the search start at one worker: the bound is the
      // model's, the simulator decides.
      s.floor_workers = bound.feasible ? std::max(1, bound.gpus / tp) : 1;
      s.estimate = std::max(s.floor_workers, workers_at_peak(si));
      const bool lead = predicted.best ? si == *predicted.best
                                       : report.lower_bound.gpus && tp == report.lower_bound.tp;
      const auto at = lead ? std::size_t{0} : p.shapes.size();
      p.shapes.insert(p.shapes.begin() + static_cast<std::ptrdiff_t>(at), s);
      indices.insert(indices.begin() + static_cast<std::ptrdiff_t>(at), si);
    }
    if (p.shapes.empty())
      throw std::invalid_argument("plan search: policy '" + name + "' runs on its default shape" +
                                  (default_tp ? " TP" + std::to_string(*default_tp) : std::string()) +
                                  ", which is not among the shapes given");
    searches.push_back(std::move(p));
    shape_of.push_back(std::move(indices));
  }

  // Every simulation: the same arrivals and the same seed, only the policy and fleet change.
  auto simulate_probe = [&](std::size_t policy, std::size_t shape, int workers) {
    const plan_shape& s = shapes[shape_of[policy][shape]];
    const simulation_result r =
        simulate(arrivals, probe_config(searches[policy].name, s, workers, options));
    plan_probe p;
    p.workers = workers;
    p.gpus = r.gpus;
    p.attainment = r.attainment;
    p.ttft_p99_s = r.ttft_p99_s;
    p.atgt_p99_s = r.atgt_p99_s;
    p.met_slo = r.met_slo;
    p.iterations = r.iterations;
    p.preemptions = r.preemptions;
    p.queued_at_intake = r.queued_at_intake;
    p.makespan_s = r.makespan_s;
    return p;
  };
  report.policies = search_sizes(searches, simulate_probe, arrivals.size(), options, &report.simulations);
  return report;
}

}  // namespace aladdin::sim

namespace aladdin::sim {

line_chart plan_chart(const plan_report& report, double attainment_target) {
  // Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
  static constexpr const char* palette[] = {"#0072b2", "#56b4e9", "#e69f00", "#009e73",
                                            "#cc79a7", "#d55e00", "#000000", "#999999"};
  auto shape_of = [](int tp) {
    switch (tp) {
      case 1: return marker_shape::diamond;
      case 2: return marker_shape::triangle;
      case 8: return marker_shape::square;
      default: return marker_shape::circle;
    }
  };
  line_chart chart;
  chart.title = "SLO attainment against fleet size";
  chart.x_label = "GPUs";
  chart.y_label = "SLO attainment";
  double x_min = std::numeric_limits<double>::infinity(), x_max = 0;
  std::vector<int> tps;
  for (std::size_t i = 0; i < report.policies.size(); ++i) {
    const policy_plan& p = report.policies[i];
    chart_series s;
    s.name = p.policy;
    if (p.reached)
      s.name += " (" + std::to_string(p.result.gpus) + ")";
    else
      s.name += " (not reached)";
    s.color = palette[i % std::size(palette)];
    s.line_marker = shape_of(p.tp);
    s.dashed = p.fixed_shape;
    for (const shape_search& shape : p.shapes) {
      if (std::find(tps.begin(), tps.end(), shape.tp) == tps.end()) tps.push_back(shape.tp);
      std::vector<chart_point> points;
      for (const plan_probe& probe : shape.probes) {
        points.push_back({static_cast<double>(probe.gpus), probe.attainment});
        x_min = std::min(x_min, static_cast<double>(probe.gpus));
        x_max = std::max(x_max, static_cast<double>(probe.gpus));
      }
      if (shape.tp == p.tp)
        s.line = std::move(points);
      else if (!points.empty())
        s.others.push_back({shape_of(shape.tp), std::move(points)});
    }
    chart.series.push_back(std::move(s));
  }
  std::sort(tps.begin(), tps.end());
  for (const int tp : tps)
    chart.marker_legend.push_back({shape_of(tp), "TP" + std::to_string(tp) + " (chosen)", false});
  for (const int tp : tps)
    chart.marker_legend.push_back({shape_of(tp), "TP" + std::to_string(tp) + " (other)", true});
  char label[64];
  std::snprintf(label, sizeof label, "target %.3g", attainment_target);
  chart.target_y = reference_line{attainment_target, label};
  if (report.lower_bound.gpus) {
    chart.marks_x.push_back({static_cast<double>(*report.lower_bound.gpus), "lower bound"});
    x_min = std::min(x_min, static_cast<double>(*report.lower_bound.gpus));
  }
  if (report.planner.gpus) {
    chart.marks_x.push_back({static_cast<double>(*report.planner.gpus), "planner"});
    x_min = std::min(x_min, static_cast<double>(*report.planner.gpus));
    x_max = std::max(x_max, static_cast<double>(*report.planner.gpus));
  }
  chart.log_x = x_max > 16 * x_min;
  if (chart.log_x) chart.x_label = "GPUs (log scale)";
  return chart;
}

}  // namespace aladdin::sim
