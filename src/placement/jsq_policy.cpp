#include "placement/jsq_policy.hpp"

namespace aladdin {

placement_outcome jsq_policy::place(const cluster_state& cluster, const query_request&,
                                    decision_context&) {
  const auto workers = cluster.accepting_workers();
  if (workers.empty()) return placement_outcome::rejected(reject_reason::no_workers);
  worker_slot best = workers.front();
  int best_load = cluster.summary(best).entries;
  for (const worker_slot w : workers.subspan(1)) {
    const int load = cluster.summary(w).entries;
    if (load < best_load) {
      best_load = load;
      best = w;
    }
  }
  return placement_outcome::to(best);
}

}  // namespace aladdin
