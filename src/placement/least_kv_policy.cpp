#include "placement/least_kv_policy.hpp"

namespace aladdin {

placement_outcome least_kv_policy::place(const cluster_state& cluster, const query_request&,
                                         decision_context&) {
  const auto workers = cluster.accepting_workers();
  if (workers.empty()) return placement_outcome::rejected(reject_reason::no_workers);
  auto use = [&](worker_slot w) {
    const auto& s = cluster.summary(w);
    return s.kv_capacity_tokens > 0 ? s.sum_context_tokens / s.kv_capacity_tokens
                                    : s.sum_context_tokens;
  };
  worker_slot best = workers.front();
  double best_use = use(best);
  for (const worker_slot w : workers.subspan(1)) {
    const double u = use(w);
    if (u < best_use) {
      best_use = u;
      best = w;
    }
  }
  return placement_outcome::to(best, best_use);
}

}  // namespace aladdin
