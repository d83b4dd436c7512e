#include "placement/headroom_index.hpp"

#include <algorithm>
#include <cmath>

namespace aladdin {

namespace {

// Relative slack on every bound: the bounds regroup the screen's arithmetic (k2·(S + in) is
// computed as k2·S + k2·in), which can round differently by a few ulps.
constexpr double slack = 1e-9;
double up(double x) { return x + std::abs(x) * slack; }
double down(double x) { return x - std::abs(x) * slack; }

constexpr std::size_t factor_buckets = 16;  // latency_calibration's buckets (1 .. 32768)

}  // namespace

headroom_node headroom_node::of(worker_slot w, const schedule_summary& s) {
  headroom_node n;
  const decode_coefficients& d = s.shape->profile.decode;
  const double batch = s.entries + 1.0;
  n.lin_min = n.lin_max = d.k2 * s.sum_context_tokens + d.c2 * batch;
  n.batch_min = n.batch_max = batch;
  n.peak_min = n.peak_max = s.peak_kv_tokens;
  n.cap_min = n.cap_max = s.kv_capacity_tokens;
  n.queued_atgt_min = s.min_queued_atgt_s;
  // A lower bound of schedule_summary::first_token_s in both batching regimes: chunked prefill
  // adds passes and decode steps to the prefills, and scales them by a factor no smaller than
  // the floor.
  n.ttft_fixed_min = (s.running > 0 ? s.iteration_s : 0.0) + s.pending_prefill_s * s.prefill_factor_floor;
  n.prefill_factor_min = n.prefill_factor_max = s.prefill_factor_floor;
  n.first = w.value;
  n.count = 1;
  return n;
}

headroom_node headroom_node::join(const headroom_node& a, const headroom_node& b) {
  if (a.count == 0) return b;
  if (b.count == 0) return a;
  headroom_node n;
  n.lin_min = std::min(a.lin_min, b.lin_min);
  n.lin_max = std::max(a.lin_max, b.lin_max);
  n.batch_min = std::min(a.batch_min, b.batch_min);
  n.batch_max = std::max(a.batch_max, b.batch_max);
  n.peak_min = std::min(a.peak_min, b.peak_min);
  n.peak_max = std::max(a.peak_max, b.peak_max);
  n.cap_min = std::min(a.cap_min, b.cap_min);
  n.cap_max = std::max(a.cap_max, b.cap_max);
  n.queued_atgt_min = std::min(a.queued_atgt_min, b.queued_atgt_min);
  n.ttft_fixed_min = std::min(a.ttft_fixed_min, b.ttft_fixed_min);
  n.prefill_factor_min = std::min(a.prefill_factor_min, b.prefill_factor_min);
  n.prefill_factor_max = std::max(a.prefill_factor_max, b.prefill_factor_max);
  n.first = std::min(a.first, b.first);
  n.count = a.count + b.count;
  return n;
}

shape_query::shape_query(const query_bounds& q, const worker_shape_model& shape)
    : prefill_s(shape.prefill_one_s(q.input_tokens)),
      q_(&q),
      k_(shape.profile.decode.k2 * q.input_tokens + shape.profile.decode.c3),
      atgt_limit_(q.atgt_limit_s * shape.margin.atgt),
      ttft_limit_(q.ttft_limit_on(shape.margin)),
      footprint_(q.input_tokens + q.expected_output_tokens) {
  // The calibration interpolates linearly between the factors at powers of two, so over a
  // range of batches it stays between the factors of the buckets the range touches.
  for (std::size_t k = 0; k < factor_.size(); ++k)
    factor_[k] = shape.calibration.decode_factor(std::ldexp(1.0, static_cast<int>(k)));
}

node_bounds shape_query::bounds(const headroom_node& n) const {
  node_bounds b;
  if (n.count == 0) {
    b.excluded = true;
    return b;
  }
  // The decode calibration's factor over the node's batches.
  const std::size_t lo = locate_bucket(n.batch_min, factor_buckets).lo;
  const std::size_t hi = std::min(locate_bucket(n.batch_max, factor_buckets).lo + 1, factor_buckets - 1);
  double f_min = factor_[lo], f_max = factor_[lo];
  for (std::size_t k = lo + 1; k <= hi; ++k) {
    f_min = std::min(f_min, factor_[k]);
    f_max = std::max(f_max, factor_[k]);
  }
  // The decode iteration with the query in the batch (screen's t_new), over the node.
  const double base_max = n.lin_max + k_, base_min = n.lin_min + k_;
  const double t_max = up(base_max >= 0 ? base_max * f_max : base_max * f_min);
  const double t_min = down(base_min >= 0 ? base_min * f_min : base_min * f_max);

  // The screen's exact checks, refused for every worker below.
  const double prefill = prefill_s >= 0 ? prefill_s * n.prefill_factor_min : prefill_s * n.prefill_factor_max;
  const double ttft_min = down(q_->waited_s + n.ttft_fixed_min + prefill);
  if (ttft_min > ttft_limit_ || t_min > atgt_limit_ || footprint_ > n.cap_max) {
    b.excluded = true;
    return b;
  }
  // Tightness bounds: latency t_new / limit (the limit is the query's, or a queued query's
  // tighter one) and KV (peak, and what the query adds at most, over the capacity).
  const double limit_min = std::min(atgt_limit_, n.queued_atgt_min);
  const double latency_max =
      limit_min > 0 ? up(t_max / limit_min) : std::numeric_limits<double>::infinity();
  const double latency_min = atgt_limit_ > 0 ? down(t_min / atgt_limit_) : 0.0;
  b.high = std::max(latency_max, up((n.peak_max + footprint_) / n.cap_min));
  b.low = std::max(latency_min, down(std::max(n.peak_min, footprint_) / n.cap_max));
  return b;
}

void headroom_index::rebuild(tree& t, const std::vector<headroom_node>& leaves) {
  t.nodes.assign(2 * t.leaves, headroom_node{});
  for (std::size_t i = 0; i < leaves.size(); ++i) t.nodes[t.leaves + i] = leaves[i];
  for (std::size_t k = t.leaves - 1; k >= 1; --k)
    t.nodes[k] = headroom_node::join(t.nodes[2 * k], t.nodes[2 * k + 1]);
}

void headroom_index::set_leaf(tree& t, std::size_t leaf, const headroom_node& n) {
  std::size_t k = t.leaves + leaf;
  t.nodes[k] = n;
  for (k /= 2; k >= 1; k /= 2) t.nodes[k] = headroom_node::join(t.nodes[2 * k], t.nodes[2 * k + 1]);
}

void headroom_index::add(worker_slot w, const worker_shape_model* shape, const schedule_summary& s) {
  auto it = std::find_if(trees_.begin(), trees_.end(), [&](const tree& t) { return t.shape == shape; });
  if (it == trees_.end()) {
    trees_.push_back(tree{shape, {}, 1, {}});
    it = trees_.end() - 1;
    rebuild(*it, {});
  }
  tree& t = *it;
  if (where_.size() <= w.value) where_.resize(w.value + 1);
  const std::size_t leaf = t.workers.size();
  t.workers.push_back(w);
  where_[w.value] = {static_cast<std::uint32_t>(it - trees_.begin()), static_cast<std::uint32_t>(leaf), true};
  if (leaf >= t.leaves) {
    // Full: drop the leaves of workers that left, then grow to a power of two that holds the
    // rest with this one.
    const auto tree_index = static_cast<std::uint32_t>(it - trees_.begin());
    std::vector<worker_slot> kept;
    std::vector<headroom_node> leaves;
    for (std::size_t i = 0; i < t.workers.size(); ++i) {
      const worker_slot k = t.workers[i];
      if (!where_[k.value].indexed || where_[k.value].tree != tree_index) continue;
      where_[k.value].leaf = static_cast<std::uint32_t>(kept.size());
      kept.push_back(k);
      leaves.push_back(k == w ? headroom_node::of(w, s) : t.nodes[t.leaves + i]);
    }
    t.workers = std::move(kept);
    t.leaves = 1;
    while (t.leaves < t.workers.size()) t.leaves *= 2;
    rebuild(t, leaves);
    return;
  }
  set_leaf(t, leaf, headroom_node::of(w, s));
}

void headroom_index::update(worker_slot w, const schedule_summary& s) {
  if (w.value >= where_.size() || !where_[w.value].indexed) return;
  const place& p = where_[w.value];
  set_leaf(trees_[p.tree], p.leaf, headroom_node::of(w, s));
}

void headroom_index::remove(worker_slot w) {
  if (w.value >= where_.size() || !where_[w.value].indexed) return;
  place& p = where_[w.value];
  set_leaf(trees_[p.tree], p.leaf, headroom_node{});
  p.indexed = false;
}

}  // namespace aladdin
