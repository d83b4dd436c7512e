#pragma once
// least-kv: the accepting worker with the lowest KV-cache use now, as a fraction of its
// capacity (so mixed worker shapes compare fairly). Tie-break: lower worker id.

#include "placement/policy.hpp"

namespace aladdin {

class least_kv_policy final : public placement_policy {
 public:
  std::string_view name() const override { return "least-kv"; }
  placement_outcome place(const cluster_state& cluster, const query_request& q,
                          decision_context& ctx) override;
};

}  // namespace aladdin
