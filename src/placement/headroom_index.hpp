#pragma once
// The accepting workers indexed by headroom, so that a placement decision can skip whole groups
// of workers that cannot be chosen instead of screening every one.
//
// One tree per worker shape (workers of a shape share the coefficients the bounds are computed
// with): a segment tree over the shape's workers in id order, each node holding the extremes,
// over the workers below it, of the few summary numbers (schedule_summary) that the screen's
// checks and tightness bounds are monotone in: the decode iteration's linear part
// k2·context + c2·batch, the batch, the predicted KV peak, the queued queries' tightest ATGT
// limit, the fixed part of a new query's TTFT and the prefill batch factor. For a query,
// node_bounds turns a node into bounds that hold for every worker below it: its tightness after
// the query lies in [low, high] (as screen's bounds do for one worker), and if `excluded` no
// worker below passes the screen. The bounds are conservative (a small relative slack absorbs
// rounding), so a search that skips a node on them skips no worker it would have chosen.
//
// Kept current by cluster_state: a worker's leaf changes with its summary (O(log n)), a new
// worker is appended (ids only grow; the tree doubles when full), a drained or removed worker
// leaves an empty leaf. The decode calibration is not in the nodes: it changes for a whole shape
// at once, so node_bounds reads it live through the shape's bucket factors.

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "placement/worker_schedule.hpp"

namespace aladdin {

struct headroom_node {
  static constexpr double inf = std::numeric_limits<double>::infinity();
  double lin_min = inf, lin_max = -inf;        // k2·sum_context_tokens + c2·(entries + 1)
  double batch_min = inf, batch_max = -inf;    // entries + 1: the decode batch with a new query
  double peak_min = inf, peak_max = -inf;      // peak_kv_tokens
  double cap_min = inf, cap_max = -inf;        // kv_capacity_tokens
  double queued_atgt_min = inf;                // min_queued_atgt_s
  double ttft_fixed_min = inf;                 // (running ? iteration_s : 0) + pending·factor floor
  double prefill_factor_min = inf, prefill_factor_max = -inf;  // prefill_factor_floor
  std::uint32_t first = std::numeric_limits<std::uint32_t>::max();  // lowest worker id below
  std::uint32_t count = 0;                     // workers below

  static headroom_node of(worker_slot w, const schedule_summary& s);
  static headroom_node join(const headroom_node& a, const headroom_node& b);
};

// What a node's bounds say about one query.
struct node_bounds {
  bool excluded = false;  // no worker below passes the screen
  double low = 0;         // every worker below: tightness after the query ≥ low
  double high = 0;        // and ≤ high
};

// A query as the bounds of one shape see it: what depends on the query, the shape and the time,
// worked out once per decision and shape.
struct shape_query {
  shape_query(const query_bounds& q, const worker_shape_model& shape);
  node_bounds bounds(const headroom_node& n) const;

  double prefill_s;  // the query's prefill on this shape (prefill_one_s)

 private:
  const query_bounds* q_;
  double k_;            // k2·input_tokens + c3: the query's part of the decode iteration
  double atgt_limit_;   // the query's ATGT limit on this shape (margin applied)
  double ttft_limit_;
  double footprint_;    // input + expected output tokens
  std::array<double, 16> factor_{};  // the decode calibration's factor at each bucket
};

class headroom_index {
 public:
  struct tree {
    const worker_shape_model* shape = nullptr;
    std::vector<worker_slot> workers;  // by leaf, in id order (drained ones stay, empty)
    std::size_t leaves = 0;            // a power of two ≥ workers.size()
    std::vector<headroom_node> nodes;  // 1-based heap layout: node k has children 2k, 2k + 1
    bool is_leaf(std::size_t k) const { return k >= leaves; }
    worker_slot worker_at(std::size_t k) const { return workers[k - leaves]; }
  };

  void add(worker_slot w, const worker_shape_model* shape, const schedule_summary& s);
  void update(worker_slot w, const schedule_summary& s);  // no-op unless w is indexed
  void remove(worker_slot w);                             // no-op unless w is indexed

  std::span<const tree> trees() const { return trees_; }

 private:
  struct place {
    std::uint32_t tree = 0;
    std::uint32_t leaf = 0;
    bool indexed = false;
  };
  void set_leaf(tree& t, std::size_t leaf, const headroom_node& n);
  void rebuild(tree& t, const std::vector<headroom_node>& leaves);

  std::vector<tree> trees_;
  std::vector<place> where_;  // by worker slot
};

}  // namespace aladdin
