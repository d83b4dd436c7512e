#include "placement/aladdin_policy.hpp"

#include <algorithm>

namespace aladdin {

placement_outcome aladdin_policy::place(const cluster_state& cluster, const query_request& q,
                                        decision_context& ctx) {
  const auto workers = cluster.accepting_workers();
  if (workers.empty()) return placement_outcome::rejected(reject_reason::no_workers);

  const double in = q.input_tokens;
  const double expected = std::max(1.0, q.expected_output_tokens);
  const double waited = std::max(0.0, ctx.now_s - q.arrival_s);
  const auto& options = cluster.options();
  int kv_rejects = 0, ttft_rejects = 0, atgt_rejects = 0;

  // Screening pass over the summaries: exact TTFT and decode-rate checks, and an upper bound on
  // the tightness after adding q (its footprint can raise the KV peak by at most in + expected).
  candidates_.clear();
  std::size_t best_index = 0;  // the best bound so far, and the runner-up's bound
  double runner_up = -1;
  for (const worker_id w : workers) {
    const schedule_summary& s = cluster.summary(w);
    const double ttft = waited + (s.running > 0 ? s.iteration_s : 0.0) + s.pending_prefill_s +
                        s.prefill_one_s(in);
    if (ttft > q.slo.ttft_s * options.ttft_headroom) {
      ++ttft_rejects;
      continue;
    }
    const double t_new = s.decode_s(s.sum_context_tokens + in, s.entries + 1.0);
    const double limit = std::min(q.slo.atgt_s * options.atgt_headroom, s.min_queued_atgt_s);
    if (t_new > limit) {
      ++atgt_rejects;
      continue;
    }
    if (in + expected > s.kv_capacity_tokens) {
      ++kv_rejects;
      continue;
    }
    const double kv_bound = (s.peak_kv_tokens + in + expected) / s.kv_capacity_tokens;
    const candidate c{std::max(kv_bound, t_new / limit), w};
    if (!candidates_.empty() && c.bound > candidates_[best_index].bound) {
      runner_up = candidates_[best_index].bound;
      best_index = candidates_.size();
    } else if (!candidates_.empty()) {
      runner_up = std::max(runner_up, c.bound);
    }
    candidates_.push_back(c);
  }

  // Fast path: the best-bound worker fits, and no other bound can beat what it achieves.
  if (!candidates_.empty()) {
    const candidate first = candidates_[best_index];
    const fit_result fit = cluster.at(first.worker).evaluate(q, ctx.now_s);
    if (fit.feasible && fit.tightness > runner_up)
      return placement_outcome::to(first.worker, fit.tightness);
  }

  // Full evaluation, best bound first, until no remaining bound can beat the best fit.
  auto worse = [](const candidate& a, const candidate& b) {
    if (a.bound != b.bound) return a.bound < b.bound;
    return a.worker > b.worker;
  };
  std::make_heap(candidates_.begin(), candidates_.end(), worse);
  bool found = false;
  worker_id best{};
  double best_tightness = -1;
  while (!candidates_.empty()) {
    const candidate top = candidates_.front();
    if (found && (top.bound < best_tightness ||
                  (top.bound == best_tightness && top.worker > best)))
      break;
    std::pop_heap(candidates_.begin(), candidates_.end(), worse);
    candidates_.pop_back();
    const fit_result fit = cluster.at(top.worker).evaluate(q, ctx.now_s);
    if (!fit.feasible) {
      switch (fit.reason) {
        case reject_reason::kv: ++kv_rejects; break;
        case reject_reason::ttft: ++ttft_rejects; break;
        default: ++atgt_rejects; break;
      }
      continue;
    }
    if (!found || fit.tightness > best_tightness ||
        (fit.tightness == best_tightness && top.worker < best)) {
      best_tightness = fit.tightness;
      best = top.worker;
      found = true;
    }
  }
  if (found) return placement_outcome::to(best, best_tightness);
  if (kv_rejects >= ttft_rejects && kv_rejects >= atgt_rejects)
    return placement_outcome::rejected(reject_reason::kv);
  if (ttft_rejects >= atgt_rejects) return placement_outcome::rejected(reject_reason::ttft);
  return placement_outcome::rejected(reject_reason::atgt);
}

}  // namespace aladdin
