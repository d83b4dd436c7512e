#include "placement/aladdin_policy.hpp"

#include <algorithm>

namespace aladdin {

aladdin_policy_options aladdin_policy_options::from(std::string_view policy,
                                                    const policy_config& config) {
  const policy_knobs knobs(policy, config, {"comfort-tightness"});
  aladdin_policy_options o;
  o.comfort_tightness = knobs.number("comfort-tightness", o.comfort_tightness, 0, 1, true);
  return o;
}

placement_outcome aladdin_policy::place(const cluster_state& cluster, const query_request& q,
                                        decision_context& ctx) {
  if (cluster.accepting_workers().empty()) return placement_outcome::rejected(reject_reason::no_workers);
  const query_bounds bounds(q, ctx.now_s, cluster.options());
  if (options_.use_index) {
    if (auto out = place_indexed(cluster, q, bounds, ctx.now_s)) return *out;
  }
  return place_linear(cluster, q, bounds, ctx);
}

std::optional<placement_outcome> aladdin_policy::place_indexed(const cluster_state& cluster,
                                                               const query_request& q,
                                                               const query_bounds& bounds, double now) {
  const auto trees = cluster.headroom().trees();
  const double comfort = options_.comfort_tightness;
  shapes_.clear();
  for (const auto& t : trees) shapes_.emplace_back(bounds, *t.shape);

  // Two searches over the same index: tier 1 the highest tightness within comfort (a node's
  // key: its upper bound, capped at comfort), tier 2 the lowest (its lower bound). Entries come
  // off a heap best first, the lower id first on equal keys; a search stops when the best entry
  // left cannot beat (or tie with a lower id) the best fit found.
  for (const bool tier1 : {true, false}) {
    const auto worse = [tier1](const frontier& a, const frontier& b) {  // heap order
      if (a.key != b.key) return tier1 ? a.key < b.key : a.key > b.key;
      return a.first > b.first;
    };
    bool found = false;
    worker_slot best{};
    double best_tightness = 0;
    frontier_.clear();
    // Pushes what node k of tree t says for the query: a worker that passes the screen (with
    // its exact bounds), or a node none of whose workers is excluded outright.
    const auto push = [&](std::uint32_t t, std::uint32_t k) {
      const headroom_index::tree& tree = trees[t];
      const headroom_node& n = tree.nodes[k];
      if (n.count == 0) return;
      double low = 0, high = 0;
      bool screened = false;
      if (tree.is_leaf(k)) {
        const screen_result r = cluster.summary(tree.worker_at(k)).screen(bounds, shapes_[t].prefill_s);
        if (!r.passed()) return;
        low = r.low;
        high = r.high;
        screened = true;
      } else {
        const node_bounds b = shapes_[t].bounds(n);
        if (b.excluded) return;
        low = b.low;
        high = b.high;
      }
      if (tier1 && low > comfort) return;  // every worker below is past comfort
      frontier_.push_back({tier1 ? std::min(high, comfort) : low, n.first, t, k, screened});
      std::push_heap(frontier_.begin(), frontier_.end(), worse);
    };
    for (std::uint32_t t = 0; t < trees.size(); ++t) push(t, 1);
    while (!frontier_.empty()) {
      const frontier top = frontier_.front();
      if (found) {
        const bool beats = tier1 ? top.key > best_tightness : top.key < best_tightness;
        if (!beats && !(top.key == best_tightness && top.first < best.value)) break;
      }
      std::pop_heap(frontier_.begin(), frontier_.end(), worse);
      frontier_.pop_back();
      const headroom_index::tree& tree = trees[top.tree];
      if (!top.screened) {
        push(top.tree, 2 * top.node);
        push(top.tree, 2 * top.node + 1);
        continue;
      }
      const worker_slot w = tree.worker_at(top.node);
      const fit_result fit = cluster.at(w).evaluate(q, now);
      if (!fit.feasible || (tier1 && fit.tightness > comfort)) continue;
      const bool better = tier1 ? fit.tightness > best_tightness : fit.tightness < best_tightness;
      if (!found || better || (fit.tightness == best_tightness && w < best)) {
        best_tightness = fit.tightness;
        best = w;
        found = true;
      }
    }
    if (found) return placement_outcome::to(best, best_tightness);
  }
  return std::nullopt;
}

placement_outcome aladdin_policy::place_linear(const cluster_state& cluster, const query_request& q,
                                               const query_bounds& bounds, decision_context& ctx) {
  const auto workers = cluster.accepting_workers();
  int kv_rejects = 0, ttft_rejects = 0, atgt_rejects = 0;
  const auto count_reject = [&](reject_reason r) {
    switch (r) {
      case reject_reason::kv: ++kv_rejects; break;
      case reject_reason::ttft: ++ttft_rejects; break;
      default: ++atgt_rejects; break;
    }
  };

  // Screening pass over the summaries: what they decide exactly, and bounds on each worker's
  // tightness after adding q.
  candidates_.resize(workers.size());
  std::size_t n = 0;
  // Tier 1's most promising candidate and the runner-up's bound, for the fast path below.
  std::size_t lead = workers.size();
  double top_key = -1, runner_up = -1;
  const double comfort = options_.comfort_tightness;
  // Workers of one shape share a calibration and coefficients: q's prefill is computed once
  // per shape, not once per worker.
  const worker_shape_model* prefill_shape = nullptr;
  double prefill_q = 0;
  for (const worker_slot w : workers) {
    const schedule_summary& s = cluster.summary(w);
    if (s.shape != prefill_shape) {
      prefill_q = s.prefill_one_s(q.input_tokens);
      prefill_shape = s.shape;
    }
    const screen_result screened = s.screen(bounds, prefill_q);
    if (!screened.passed()) {
      count_reject(screened.reason);
      continue;
    }
    const candidate c{screened.low, screened.high, w, static_cast<std::uint32_t>(n)};
    if (c.low <= comfort) {
      const double key = std::min(c.high, comfort);
      if (key > top_key) {
        runner_up = top_key;
        top_key = key;
        lead = n;
      } else {
        runner_up = std::max(runner_up, key);
      }
    }
    candidates_[n++] = c;
  }
  candidates_.resize(n);

  // A worker may come up in the fast path, tier 1 and tier 2: evaluate it once, and count its
  // reason for refusing once.
  fits_.assign(n, cached_fit{});
  const auto evaluate = [&](const candidate& c) -> const cached_fit& {
    cached_fit& f = fits_[c.slot];
    if (f.done) return f;
    const fit_result r = cluster.at(c.worker).evaluate(q, ctx.now_s);
    f = {true, r.feasible, r.tightness};
    if (!r.feasible) count_reject(r.reason);
    return f;
  };
  // Fast path: the most promising worker fits within comfort at least as tightly as any other
  // worker's bound allows (ties go to the lower id, so a tie needs the full pass).
  if (lead < n) {
    const candidate& c = candidates_[lead];
    const cached_fit& fit = evaluate(c);
    if (fit.feasible && fit.tightness <= comfort && fit.tightness > runner_up)
      return placement_outcome::to(c.worker, fit.tightness);
  }

  // Tier 1: the tightest fit that stays within the comfort level, best capped bound first.
  // Workers certainly above comfort (lower bound) wait for tier 2.
  scratch_.clear();
  for (const candidate& c : candidates_)
    if (c.low <= comfort) scratch_.push_back({c.low, std::min(c.high, comfort), c.worker, c.slot});
  const auto by_high = [](const candidate& a, const candidate& b) {
    if (a.high != b.high) return a.high < b.high;
    return a.worker > b.worker;  // max-heap: the lower id comes out first
  };
  std::make_heap(scratch_.begin(), scratch_.end(), by_high);
  bool found = false;
  worker_slot best{};
  double best_tightness = -1;
  while (!scratch_.empty()) {
    const candidate top = scratch_.front();
    if (found && (top.high < best_tightness || (top.high == best_tightness && top.worker > best)))
      break;
    std::pop_heap(scratch_.begin(), scratch_.end(), by_high);
    scratch_.pop_back();
    const cached_fit& fit = evaluate(top);
    if (!fit.feasible || fit.tightness > comfort) continue;
    if (!found || fit.tightness > best_tightness ||
        (fit.tightness == best_tightness && top.worker < best)) {
      best_tightness = fit.tightness;
      best = top.worker;
      found = true;
    }
  }
  if (found) return placement_outcome::to(best, best_tightness);

  // Tier 2: every feasible worker is past comfort; the least loaded absorbs the query, so the
  // margin left everywhere shrinks evenly (packing buys nothing when no worker can be freed).
  const auto by_low = [](const candidate& a, const candidate& b) {
    if (a.low != b.low) return a.low > b.low;  // min-heap on the lower bound
    return a.worker > b.worker;
  };
  std::make_heap(candidates_.begin(), candidates_.end(), by_low);
  while (!candidates_.empty()) {
    const candidate top = candidates_.front();
    if (found && (top.low > best_tightness || (top.low == best_tightness && top.worker > best)))
      break;
    std::pop_heap(candidates_.begin(), candidates_.end(), by_low);
    candidates_.pop_back();
    const cached_fit& fit = evaluate(top);
    if (!fit.feasible) continue;
    if (!found || fit.tightness < best_tightness ||
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
