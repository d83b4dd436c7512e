#include "placement/p2c_policy.hpp"

#include <stdexcept>

namespace aladdin {

placement_outcome p2c_policy::place(const cluster_state& cluster, const query_request&,
                                    decision_context& ctx) {
  const auto workers = cluster.accepting_workers();
  if (workers.empty()) return placement_outcome::rejected(reject_reason::no_workers);
  if (workers.size() == 1) return placement_outcome::to(workers.front());
  if (ctx.random == nullptr) throw std::invalid_argument("p2c needs a random generator");
  const std::uint64_t n = workers.size();
  const std::uint64_t a = ctx.random->below(n);
  std::uint64_t b = ctx.random->below(n - 1);
  if (b >= a) ++b;  // distinct from a, still uniform
  const worker_slot first = workers[a];
  const worker_slot second = workers[b];
  return placement_outcome::to(cluster.summary(second).entries < cluster.summary(first).entries
                                   ? second
                                   : first);
}

}  // namespace aladdin
