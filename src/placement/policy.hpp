#pragma once
// The placement policy interface. A policy is a pure decision: given the cluster state, the
// query and an explicit context (time, randomness), it names a worker or says why none can
// take the query. It never mutates the cluster; the caller commits the choice (and tells the
// cluster state) only if it acts on it.
//
// To add a policy: one file pair under src/placement/, one line in registry.cpp, and it runs
// through the contract suite in tests/unit/test_placement_contract.cpp automatically.

#include <string_view>

#include "placement/cluster_state.hpp"
#include "placement/types.hpp"
#include "util/rng.hpp"

namespace aladdin {

struct decision_context {
  double now_s = 0;
  rng* random = nullptr;  // for randomised policies; never a hidden global generator
};

class placement_policy {
 public:
  virtual ~placement_policy() = default;
  virtual std::string_view name() const = 0;
  // Must not return a worker that is not accepting; returns rejected(no_workers) when none is.
  virtual placement_outcome place(const cluster_state& cluster, const query_request& q,
                                  decision_context& ctx) = 0;
};

}  // namespace aladdin
