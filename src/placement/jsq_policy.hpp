#pragma once
// jsq: join the shortest queue — the accepting worker with the fewest outstanding queries
// (queued + running). Tie-break: lower worker id.

#include "placement/policy.hpp"

namespace aladdin {

class jsq_policy final : public placement_policy {
 public:
  std::string_view name() const override { return "jsq"; }
  placement_outcome place(const cluster_state& cluster, const query_request& q,
                          decision_context& ctx) override;
};

}  // namespace aladdin
