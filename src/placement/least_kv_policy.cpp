#include "placement/least_kv_policy.hpp"

namespace aladdin {

placement_outcome least_kv_policy::place(const cluster_state& cluster, const query_request&,
                                         decision_context&) {
  const auto workers = cluster.accepting_workers();
  if (workers.empty()) return placement_outcome::rejected(reject_reason::no_workers);
  auto use = [&](worker_id w) {
    const auto& s = cluster.at(w);
    const double cap = s.kv_capacity_tokens();
    return cap > 0 ? s.kv_used_tokens() / cap : s.kv_used_tokens();
  };
  worker_id best = workers.front();
  double best_use = use(best);
  for (const worker_id w : workers.subspan(1)) {
    const double u = use(w);
    if (u < best_use) {
      best_use = u;
      best = w;
    }
  }
  return placement_outcome::to(best, best_use);
}

}  // namespace aladdin
