// Query intake. Per batch of submissions (one bridge poll round): refuse what must be refused,
// journal the rest durably in one batched write, reply, and hand the accepted queries to
// placement in one message (intake_rules.hpp: admit).
//
// Length prediction happens in placement, not here: every schedule re-predicts its queries'
// remaining lengths as they progress, the predictor is not thread-safe, and so it lives with
// the cluster state it serves. The intake sends the prompt; placement predicts and places.

#include <caf/all.hpp>

#include "actors/caf/node_actors.hpp"
#include "actors/node/catalogue.hpp"

namespace aladdin::node {

namespace {

struct intake_state {
  static inline const char* name = "intake";
  node_context* ctx = nullptr;
  caf::actor placement;
  caf::actor forecaster;
  std::vector<outbound_frame> frames;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
};

caf::behavior intake(caf::stateful_actor<intake_state>* self, node_context* ctx,
                     caf::actor placement, caf::actor forecaster) {
  self->state.ctx = ctx;
  self->state.placement = std::move(placement);
  self->state.forecaster = std::move(forecaster);
  return {
      [=](submit_batch& batch) {
        auto& st = self->state;
        node_context& nc = *st.ctx;
        const auto now = self->clock().now();
        const intake_state_view view{nc.draining.load(std::memory_order_relaxed),
                                     nc.waiting.load(std::memory_order_relaxed),
                                     static_cast<std::size_t>(nc.options.max_waiting)};
        intake_result r = admit(batch.items, *nc.store, nc.limits, view, nc.clock.model_s(now),
                                nc.clock.wall_micros(now), st.frames);
        st.accepted += r.accepted.size();
        st.rejected += r.refused;
        if (r.journal_failures > 0) nc.log.warn("the journal refused %zu queries", r.journal_failures);
        // Replies first: a client hears "accepted" before any progress of the same query.
        nc.out->post_all(st.frames);
        if (!r.accepted.empty()) {
          self->send(st.placement, place_batch{std::move(r.accepted)});
          self->send(st.forecaster, arrivals_msg{std::move(r.arrivals)});
        }
      },
      [=](stats_atom) { return std::vector<std::uint64_t>{self->state.accepted, self->state.rejected}; },
  };
}

}  // namespace

caf::actor spawn_intake(caf::actor_system& sys, node_context& ctx, caf::actor placement,
                        caf::actor forecaster) {
  return sys.spawn(intake, &ctx, std::move(placement), std::move(forecaster));
}

}  // namespace aladdin::node
