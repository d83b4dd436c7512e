#include "plan/planner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <stdexcept>
#include <tuple>

namespace aladdin {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Standard normal quantile by bisection on erfc: slow next to a rational approximation but
// exact to double precision, and only called once per plan.
double normal_quantile(double p) {
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

void check_options(const planner_options& o) {
  if (!(o.atgt_headroom > 0 && o.atgt_headroom <= 1))
    throw std::invalid_argument("planner: atgt_headroom must be in (0, 1]");
  if (!(o.atgt_quantile > 0 && o.atgt_quantile < 1))
    throw std::invalid_argument("planner: atgt_quantile must be in (0, 1)");
  if (!(o.ttft_quantile > 0 && o.ttft_quantile < 1))
    throw std::invalid_argument("planner: ttft_quantile must be in (0, 1)");
  if (!(o.kv_quantile > 0 && o.kv_quantile < 1))
    throw std::invalid_argument("planner: kv_quantile must be in (0, 1)");
}

// Everything about one (profile, workload, options) that does not depend on the rate.
struct worker_model {
  double mean_prefill = 0;     // E[S]
  double mean_prefill_sq = 0;  // E[S²]
  double beta = 0;             // decode cost per sequence in a batch: k2·C + c2
  double c3 = 0;
  double mean_output = 0;
  double stable_rate = 0;      // λ_stable
  std::vector<double> prefill_grid;  // S over the input grid, sorted
  double ttft_quantile = 0.99;
  double kv_mean = 0, kv_sq = 0, kv_z = 0;
  std::vector<double> tail_outputs;  // √(o − 1) over the workload's multi-token outputs
  std::size_t output_count = 0;      // grid points, one-token outputs included
  double atgt_quantile = 0.99;

  worker_model(const worker_profile& p, const workload_stats& w, const planner_options& o) {
    check_options(o);
    if (!(w.mean_output > 0))
      throw std::invalid_argument("planner: the workload's mean output length must be > 0");
    if (w.input_grid.empty())
      throw std::invalid_argument("planner: the workload statistics have no input grid");
    const auto& pre = p.prefill;
    const double a = pre.s1 + pre.c1;  // per-prompt constant
    mean_prefill = a + pre.k1 * w.mean_input + pre.q1 * w.mean_input_sq;
    // E[(a + k1·l + q1·l²)²] from the raw moments of l.
    mean_prefill_sq = a * a + 2 * a * pre.k1 * w.mean_input +
                      (pre.k1 * pre.k1 + 2 * a * pre.q1) * w.mean_input_sq +
                      2 * pre.k1 * pre.q1 * w.mean_input_cube + pre.q1 * pre.q1 * w.mean_input_4;
    beta = p.decode.k2 * w.mean_decode_context + p.decode.c2;
    c3 = p.decode.c3;
    mean_output = w.mean_output;
    const double work_per_query = mean_prefill + mean_output * beta;
    if (!(work_per_query > 0) || !std::isfinite(work_per_query))
      throw std::invalid_argument("planner: profile " + p.config.label() +
                                  " predicts no work per query");
    stable_rate = 1.0 / work_per_query;
    prefill_grid.reserve(w.input_grid.size());
    // A fitted curve can dip below zero for tiny prompts; a prefill never takes negative time.
    for (double l : w.input_grid) prefill_grid.push_back(std::max(0.0, pre.time_one(l)));
    std::sort(prefill_grid.begin(), prefill_grid.end());
    ttft_quantile = o.ttft_quantile;
    atgt_quantile = o.atgt_quantile;
    // √(o − 1) per multi-token output, every 4th grid point (100 of 400 are plenty for a 1%
    // tail, and the tail is evaluated inside two bisections).
    output_count = 0;
    for (std::size_t k = 0; k < w.output_grid.size(); k += 4) {
      ++output_count;
      const double o_len = w.output_grid[k];
      if (o_len >= 2) tail_outputs.push_back(std::sqrt(o_len - 1));
    }
    kv_mean = w.kv_reserved_mean;
    kv_sq = w.kv_reserved_sq;
    kv_z = normal_quantile(o.kv_quantile);
  }

  // p-quantile of D + W + S_own (see the header).
  double ttft(double rho, double mean_wait, double d) const {
    const double target = 1.0 - ttft_quantile;  // allowed exceedance probability
    const double tail_mean = rho > 0 ? mean_wait / rho : 0;  // E[W | W > 0]
    const auto exceed = [&](double t) {
      double sum = 0;
      for (double s : prefill_grid) {
        const double w = t - d - s;
        if (w < 0)
          sum += 1.0;
        else if (rho > 0 && tail_mean > 0)
          sum += rho * std::exp(-w / tail_mean);
      }
      return sum / static_cast<double>(prefill_grid.size());
    };
    // At hi even the longest prefill's wait tail is within the target.
    double hi = d + prefill_grid.back();
    if (rho > target && tail_mean > 0) hi += tail_mean * std::log(rho / target);
    double lo = 0;
    if (exceed(lo) <= target) return lo;
    for (int i = 0; i < 100; ++i) {
      const double mid = 0.5 * (lo + hi);
      if (mid <= lo || mid >= hi) break;
      if (exceed(mid) <= target)
        hi = mid;
      else
        lo = mid;
    }
    return hi;
  }

  // Per-query ATGT. A query of o tokens decodes for (o − 1)·A seconds, during which prompts
  // arrive as a Poisson stream at `rate`, each stalling it for a prefill S. Its stall total has
  // variance rate·(o − 1)·A·E[S²], so its ATGT ≈ Normal(A, rate·A·E[S²] / (o − 1)): short answers
  // swing most. The result is the ATGT that atgt_quantile of queries (over the output lengths)
  // stay within — what an SLO on every query needs, where the mean A would let half miss.
  double atgt_tail(double rate, double mean_atgt) const {
    if (tail_outputs.empty() || !(rate > 0)) return mean_atgt;
    const double allowed = 1.0 - atgt_quantile;
    // ATGT_o ~ Normal(A, v / (o − 1)) with v = rate·A·E[S²], so
    // P(ATGT_o > t) = erfc((t − A)·√(o − 1) / √(2v)) / 2.
    const double sd_scale = std::sqrt(2.0 * rate * mean_atgt * mean_prefill_sq);
    const auto exceed = [&](double t) {
      double sum = 0;
      for (double k : tail_outputs) sum += 0.5 * std::erfc((t - mean_atgt) * k / sd_scale);
      return sum / static_cast<double>(output_count);
    };
    if (!(sd_scale > 0)) return mean_atgt;
    double lo = mean_atgt, hi = mean_atgt + 1.0;
    while (exceed(hi) > allowed && hi < 1e6) hi = mean_atgt + 2 * (hi - mean_atgt);
    // 40 halvings resolve the tail to a trillionth of the bracket: far below the model's error.
    for (int i = 0; i < 40; ++i) {
      const double mid = 0.5 * (lo + hi);
      if (exceed(mid) > allowed)
        lo = mid;
      else
        hi = mid;
    }
    return hi;
  }

  operating_point at(double rate) const {
    operating_point op;
    op.rate = rate;
    op.prefill_utilisation = rate * mean_prefill;
    const double free_share = 1.0 - op.prefill_utilisation - rate * mean_output * beta;
    if (!(rate < stable_rate) || !(free_share > 0)) {
      op.stable = false;
      op.batch = op.atgt_s = op.atgt_tail_s = op.ttft_s = op.kv_tokens = kInf;
      return op;
    }
    op.stable = true;
    op.atgt_s = (beta + c3) / free_share;
    op.batch = rate * mean_output * op.atgt_s;
    op.atgt_tail_s = atgt_tail(rate, op.atgt_s);
    const double rho = op.prefill_utilisation;
    const double mean_wait = rate * mean_prefill_sq / (2.0 * (1.0 - rho));
    op.ttft_s = ttft(rho, mean_wait, beta * op.batch + c3);
    op.kv_tokens = op.batch * kv_mean + kv_z * std::sqrt(op.batch * kv_sq);
    return op;
  }
};

// Largest rate in [0, hi) at which ok() holds, given that it holds at 0 and fails from some
// point on. Fixed bisection to double precision: deterministic and cheap.
template <class Pred>
double limit_rate(double hi, Pred ok) {
  double lo = 0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (ok(mid))
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

}  // namespace

std::string_view to_string(binding_constraint c) {
  switch (c) {
    case binding_constraint::none: return "none";
    case binding_constraint::ttft: return "ttft";
    case binding_constraint::atgt: return "atgt";
    case binding_constraint::kv: return "kv";
  }
  return "none";
}

std::string_view to_string(fleet_action_kind k) {
  return k == fleet_action_kind::start ? "start" : "drain";
}

operating_point evaluate_worker(const worker_profile& profile, const workload_stats& workload,
                                double rate, const planner_options& options) {
  if (!(rate >= 0)) throw std::invalid_argument("planner: rate must be non-negative");
  return worker_model(profile, workload, options).at(rate);
}

shape_capacity max_rate(const worker_profile& profile, const workload_stats& workload,
                        const slo_target& slo, const planner_options& options) {
  if (!(slo.ttft_s > 0) || !(slo.atgt_s > 0))
    throw std::invalid_argument("planner: SLOs must be positive");
  const worker_model m(profile, workload, options);
  shape_capacity out;
  out.config = profile.config;
  out.gpus_per_worker = profile.gpus();
  const double atgt_target = options.atgt_headroom * slo.atgt_s;
  const double kv_capacity = profile.kv.capacity_tokens;

  const auto ttft_ok = [&](const operating_point& op) { return op.ttft_s <= slo.ttft_s; };
  const auto atgt_ok = [&](const operating_point& op) { return op.atgt_tail_s <= atgt_target; };
  const auto kv_ok = [&](const operating_point& op) { return op.kv_tokens <= kv_capacity; };

  // Zero load: what no rate can fix.
  const operating_point idle = m.at(0.0);
  const auto ms = [](double s) { return fmt("%.3g ms", s * 1e3); };
  const auto sec = [](double s) { return fmt("%.3g s", s); };
  const auto pct = [](double q) { return fmt("p%g", q * 100); };
  if (!atgt_ok(idle)) {
    out.binding = binding_constraint::atgt;
    out.reason = "a lone query's decode iteration takes " + ms(idle.atgt_s) +
                 ", above the ATGT target of " + ms(atgt_target) + " (SLO " + ms(slo.atgt_s) +
                 " x headroom " + fmt("%g", options.atgt_headroom) + ")";
  } else if (!ttft_ok(idle)) {
    out.binding = binding_constraint::ttft;
    out.reason = "even on an idle worker the " + pct(options.ttft_quantile) +
                 " time to first token is " + sec(idle.ttft_s) + ", above the TTFT SLO of " +
                 sec(slo.ttft_s);
  } else if (!(workload.total_p99 <= kv_capacity)) {
    out.binding = binding_constraint::kv;
    out.reason = "the p99 query (" + fmt("%.0f", workload.total_p99) +
                 " tokens) does not fit in the KV cache (" + fmt("%.0f", kv_capacity) +
                 " tokens)";
  }
  if (!out.reason.empty()) {
    out.at_max = idle;
    return out;
  }

  const double ttft_limit = limit_rate(m.stable_rate, [&](double r) { return ttft_ok(m.at(r)); });
  const double atgt_limit = limit_rate(m.stable_rate, [&](double r) { return atgt_ok(m.at(r)); });
  const double kv_limit = limit_rate(m.stable_rate, [&](double r) { return kv_ok(m.at(r)); });
  out.feasible = true;
  out.binding = binding_constraint::atgt;
  out.max_rate_per_worker = atgt_limit;
  if (ttft_limit < out.max_rate_per_worker) {
    out.binding = binding_constraint::ttft;
    out.max_rate_per_worker = ttft_limit;
  }
  if (kv_limit < out.max_rate_per_worker) {
    out.binding = binding_constraint::kv;
    out.max_rate_per_worker = kv_limit;
  }
  out.rate_per_gpu = out.max_rate_per_worker / out.gpus_per_worker;
  out.at_max = m.at(out.max_rate_per_worker);
  return out;
}

int workers_needed(double demand, double rate_per_worker) {
  if (!(demand > 0)) return 0;
  if (!(rate_per_worker > 0))
    throw std::invalid_argument("planner: a positive demand needs a positive rate per worker");
  const double q = demand / rate_per_worker;
  const double n = std::max(1.0, std::ceil(q * (1.0 - 1e-9)));
  if (!(n <= static_cast<double>(std::numeric_limits<int>::max())))
    throw std::overflow_error("planner: worker count does not fit an int");
  return static_cast<int>(n);
}

std::optional<std::size_t> choose_shape(std::span<const shape_plan> shapes) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const auto& c = shapes[i];
    if (!c.capacity.feasible) continue;
    if (!best) {
      best = i;
      continue;
    }
    const auto& b = shapes[*best];
    if (c.gpus != b.gpus) {
      if (c.gpus < b.gpus) best = i;
      continue;
    }
    // Rates per GPU within a relative 1e-9 are a tie: they come out of a bisection, and the
    // choice should not hinge on its last bits.
    const double rc = c.capacity.rate_per_gpu, rb = b.capacity.rate_per_gpu;
    if (std::abs(rc - rb) > 1e-9 * std::max(rc, rb)) {
      if (rc > rb) best = i;
      continue;
    }
    if (c.capacity.gpus_per_worker < b.capacity.gpus_per_worker) best = i;
  }
  return best;
}

fleet_plan plan_fleet(std::span<const worker_profile> profiles, const workload_stats& workload,
                      const slo_target& slo, double demand, const planner_options& options) {
  if (!(demand >= 0) || !std::isfinite(demand))
    throw std::invalid_argument("planner: demand must be a non-negative number");
  fleet_plan plan;
  plan.demand = demand;
  plan.shapes.reserve(profiles.size());
  for (const auto& p : profiles) {
    shape_plan s;
    s.capacity = max_rate(p, workload, slo, options);
    if (s.capacity.feasible) {
      s.workers = workers_needed(demand, s.capacity.max_rate_per_worker);
      s.gpus = s.workers * s.capacity.gpus_per_worker;
    }
    plan.shapes.push_back(std::move(s));
  }
  plan.best = choose_shape(plan.shapes);
  return plan;
}

std::vector<fleet_action> diff_fleet(std::span<const fleet_entry> current,
                                     const fleet_entry& target) {
  if (target.workers < 0) throw std::invalid_argument("fleet diff: negative target worker count");
  using key = std::tuple<std::string, std::string, int>;
  std::map<key, fleet_entry> have;  // ordered: drains come out sorted by (model, gpu, tp)
  for (const auto& e : current) {
    if (e.workers < 0) throw std::invalid_argument("fleet diff: negative worker count");
    auto [it, fresh] = have.try_emplace(key{e.config.model, e.config.gpu, e.config.tp}, e);
    if (!fresh) it->second.workers += e.workers;
  }
  std::vector<fleet_action> starts, drains;
  int running_target = 0;
  for (const auto& [k, e] : have) {
    if (e.config == target.config) {
      running_target = e.workers;
    } else if (e.workers > 0) {
      drains.push_back({fleet_action_kind::drain, e.config, e.workers});
    }
  }
  if (target.workers > running_target) {
    starts.push_back({fleet_action_kind::start, target.config, target.workers - running_target});
  } else if (target.workers < running_target) {
    // The target shape's surplus drains in the same sorted order as the others.
    const fleet_action a{fleet_action_kind::drain, target.config, running_target - target.workers};
    const key tk{target.config.model, target.config.gpu, target.config.tp};
    const auto pos = std::find_if(drains.begin(), drains.end(), [&](const fleet_action& d) {
      return tk < key{d.config.model, d.config.gpu, d.config.tp};
    });
    drains.insert(pos, a);
  }
  starts.insert(starts.end(), drains.begin(), drains.end());
  return starts;
}

}  // namespace aladdin
