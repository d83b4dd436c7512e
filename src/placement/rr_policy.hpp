#pragma once
// rr: round robin over accepting workers, in id order, ignoring load and SLOs.
// Keeps the id it placed on last, so adding or draining workers does not restart the cycle.

#include "placement/policy.hpp"

namespace aladdin {

class rr_policy : public placement_policy {
 public:
  std::string_view name() const override { return "rr"; }
  placement_outcome place(const cluster_state& cluster, const query_request& q,
                          decision_context& ctx) override;

 private:
  bool started_ = false;
  worker_slot last_{};
};

}  // namespace aladdin
