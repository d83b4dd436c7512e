#pragma once
// p2c: power of two choices. Samples two distinct accepting workers uniformly with the
// context's generator and sends the query to the one with fewer outstanding queries.
// Tie-break: the first sampled. With one worker, that worker.

#include "placement/policy.hpp"

namespace aladdin {

class p2c_policy final : public placement_policy {
 public:
  std::string_view name() const override { return "p2c"; }
  placement_outcome place(const cluster_state& cluster, const query_request& q,
                          decision_context& ctx) override;
};

}  // namespace aladdin
