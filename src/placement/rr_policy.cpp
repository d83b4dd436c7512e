#include "placement/rr_policy.hpp"

#include <algorithm>

namespace aladdin {

placement_outcome rr_policy::place(const cluster_state& cluster, const query_request&,
                                   decision_context&) {
  const auto workers = cluster.accepting_workers();
  if (workers.empty()) return placement_outcome::rejected(reject_reason::no_workers);
  auto next = workers.begin();
  if (started_) {
    next = std::upper_bound(workers.begin(), workers.end(), last_);
    if (next == workers.end()) next = workers.begin();
  }
  started_ = true;
  last_ = *next;
  return placement_outcome::to(last_);
}

}  // namespace aladdin
