#pragma once
// aladdin: SLO-aware best fit.
//
// Assumes every worker's schedule is up to date (the caller reports assignments, first tokens,
// decode progress and completions) and that the query's expected output length came from the
// cluster's length source (a prediction; the truth when registered as `oracle`).
//
// Algorithm: ask every accepting worker's schedule whether the query fits (TTFT of the query,
// ATGT of every query already there once the new prefill stall and decode load are added, KV
// at its predicted future peak; see worker_schedule.hpp). Among feasible workers choose the
// tightest fit: the highest load on the worker's most loaded dimension after the query is
// added, so load is packed onto few workers and the rest drain empty.
//
// Cost: one pass over the workers' summaries decides TTFT and the decode-rate limit exactly and
// bounds each worker's tightness from above (KV peak + the query's whole footprint); only the
// workers whose bound can still beat the best fit found so far are evaluated in full, best
// bound first. The result is the same as evaluating every worker.
//
// Tie-break: equal tightness goes to the lower worker id (deterministic).
// No feasible worker: rejected with the constraint that excluded the most workers
// (kv, then ttft, then atgt on equal counts), or no_workers for an empty fleet.

#include <string>
#include <vector>

#include "placement/policy.hpp"

namespace aladdin {

class aladdin_policy final : public placement_policy {
 public:
  explicit aladdin_policy(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  placement_outcome place(const cluster_state& cluster, const query_request& q,
                          decision_context& ctx) override;

 private:
  struct candidate {
    double bound;
    worker_id worker;
  };
  std::string name_;
  std::vector<candidate> candidates_;  // scratch, reused across decisions
};

}  // namespace aladdin
