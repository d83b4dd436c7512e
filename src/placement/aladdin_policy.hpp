#pragma once
// aladdin: SLO-aware best fit.
//
// Assumes every worker's schedule is up to date (the caller reports assignments, first tokens,
// decode progress and completions) and that the query's expected output length came from the
// cluster's length source (a prediction; the truth when registered as `oracle`).
//
// Algorithm: ask every accepting worker's schedule whether the query fits (TTFT of the query,
// ATGT of every query already there once the new prefill stall and decode load are added, KV
// at its predicted future peak; see worker_schedule.hpp). A worker's tightness is its load on
// its most loaded dimension once the query is added. Then, in two tiers:
//   1. among feasible workers that stay within the comfort level (aladdin_policy_options::
//      comfort_tightness), the tightest fit: load is packed onto few workers and the rest
//      drain empty, so the planner can release them;
//   2. if every feasible worker is past comfort, the least tight one: with no worker left to
//      free, packing further would only spend the margin that absorbs the model's error, on
//      the workers that have the least of it.
// With comfort_tightness = 1 this is plain best fit, the paper's rule.
//
// Cost: the fleet's headroom index (headroom_index.hpp) bounds the tightness of whole groups of
// workers and tells groups no worker of which passes the screen; a best-first search over it
// screens (schedule_summary::screen) and then evaluates in full only the workers whose bounds
// can still beat the best found, most promising first, so a decision in a large fleet touches
// few of its workers. When no worker fits, one pass over every worker's summary (the linear
// search, also used with use_index off) finds the constraint to report. Either way the result is
// the same as evaluating every worker. The model's constraints all live in worker_schedule;
// this policy only ranks.
//
// Tie-break: equal tightness goes to the lower worker id (deterministic).
// No feasible worker: rejected with the constraint that excluded the most workers
// (kv, then ttft, then atgt on equal counts), or no_workers for an empty fleet.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "placement/policy.hpp"
#include "placement/registry.hpp"

namespace aladdin {

// aladdin's (and the oracle's) knobs.
struct aladdin_policy_options {
  // Knob `comfort-tightness`, in (0, 1]: workers are packed up to this tightness, then the
  // least tight feasible worker is chosen (see above); 1 is plain best fit. Chosen on the
  // built-in synthetic workload (README: "Choosing aladdin's margins").
  double comfort_tightness = 0.85;
  // Search through the headroom index (false: screen every worker, the linear search). The
  // decision is the same; only its cost differs (tests compare the two).
  bool use_index = true;

  // Reads the knobs above from the config of the policy registered as `policy`; throws
  // std::invalid_argument for any other knob or a bad value (see policy_knobs).
  static aladdin_policy_options from(std::string_view policy, const policy_config& config);
};

class aladdin_policy final : public placement_policy {
 public:
  explicit aladdin_policy(std::string name, aladdin_policy_options options = {})
      : name_(std::move(name)), options_(options) {}
  std::string_view name() const override { return name_; }
  placement_outcome place(const cluster_state& cluster, const query_request& q,
                          decision_context& ctx) override;

 private:
  struct candidate {
    double low;   // tightness after the query is at least this
    double high;  // and at most this
    worker_slot worker;
    std::uint32_t slot;  // index into fits_
  };
  struct cached_fit {
    bool done = false;
    bool feasible = false;
    double tightness = 0;
  };
  // An entry of the indexed search: a node of one shape's tree, or a screened worker (a leaf).
  struct frontier {
    double key;           // the bound the search orders by
    std::uint32_t first;  // lowest worker id below (the tie-break)
    std::uint32_t tree;
    std::uint32_t node;
    bool screened;        // a leaf that passed the screen: evaluate it
  };
  // The indexed search; nothing when no worker fits (the linear search then says why).
  std::optional<placement_outcome> place_indexed(const cluster_state& cluster, const query_request& q,
                                                 const query_bounds& bounds, double now);
  placement_outcome place_linear(const cluster_state& cluster, const query_request& q,
                                 const query_bounds& bounds, decision_context& ctx);
  std::string name_;
  aladdin_policy_options options_;
  std::vector<cached_fit> fits_;       // this decision's evaluations, by candidate slot
  std::vector<candidate> candidates_;  // scratch, reused across decisions
  std::vector<candidate> scratch_;
  std::vector<frontier> frontier_;    // scratch of the indexed search
  std::vector<shape_query> shapes_;   // per tree of the index, for this decision
};

}  // namespace aladdin
