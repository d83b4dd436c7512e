#include "placement/aladdin_policy.hpp"

namespace aladdin {

placement_outcome aladdin_policy::place(const cluster_state& cluster, const query_request& q,
                                        decision_context& ctx) {
  const auto workers = cluster.accepting_workers();
  if (workers.empty()) return placement_outcome::rejected(reject_reason::no_workers);

  bool found = false;
  worker_id best{};
  double best_tightness = -1;
  int kv_rejects = 0, ttft_rejects = 0, atgt_rejects = 0;
  for (const worker_id w : workers) {
    const fit_result fit = cluster.at(w).evaluate(q, ctx.now_s);
    if (!fit.feasible) {
      switch (fit.reason) {
        case reject_reason::kv: ++kv_rejects; break;
        case reject_reason::ttft: ++ttft_rejects; break;
        default: ++atgt_rejects; break;
      }
      continue;
    }
    if (fit.tightness > best_tightness) {  // strict: the lower id wins ties
      best_tightness = fit.tightness;
      best = w;
      found = true;
    }
  }
  if (found) return placement_outcome::to(best, best_tightness);
  if (kv_rejects >= ttft_rejects && kv_rejects >= atgt_rejects)
    return placement_outcome::rejected(reject_reason::kv);
  if (ttft_rejects >= atgt_rejects) return placement_outcome::rejected(reject_reason::ttft);
  return placement_outcome::rejected(reject_reason::atgt);
}

}  // namespace aladdin
