// Query intake. Per batch of submissions: refuse what must be refused, journal the rest durably
// in one batched write, reply, and hand the accepted queries to placement in one message
// (intake_rules.hpp: intake_batch).
//
// A batch is everything the mailbox brought since the last write: a submit_batch (one bridge
// poll round) is only collected, and a note to itself (journal_atom), queued behind whatever
// submissions are already waiting, journals all of them at once. So while one write is on its
// way to the disk (with --durability fsync, an fsync), the poll rounds that arrive meanwhile
// become the next write's batch, not one write each.
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
  node_services* services = nullptr;
  const node_shared* shared = nullptr;
  intake_limits limits;
  caf::actor placement;
  forecaster_actor forecaster;
  std::vector<outbound_frame> frames;
  std::vector<inbound_sink::client_submit> pending;  // collected, not yet journaled
  bool journal_queued = false;                       // a journal_atom is in the mailbox
  intake_stats counts;
};

intake_actor::behavior_type intake(intake_actor::stateful_pointer<intake_state> self, node_services* services,
                                   const node_shared* shared, intake_limits limits, caf::actor placement,
                                   forecaster_actor forecaster) {
  auto& st = self->state;
  st.services = services;
  st.shared = shared;
  st.limits = std::move(limits);
  st.placement = std::move(placement);
  st.forecaster = std::move(forecaster);
  return {
      [=](submit_batch& batch) {
        auto& s = self->state;
        if (s.pending.empty()) {
          s.pending = std::move(batch.items);
        } else {
          s.pending.insert(s.pending.end(), std::make_move_iterator(batch.items.begin()),
                           std::make_move_iterator(batch.items.end()));
        }
        if (!s.journal_queued) {
          s.journal_queued = true;
          self->send(self, journal_atom::value);
        }
      },
      [=](journal_atom) {
        auto& s = self->state;
        s.journal_queued = false;
        node_services& ns = *s.services;
        const auto now = self->clock().now();
        const intake_state_view view{s.shared->draining.load(std::memory_order_relaxed),
                                     s.shared->waiting.load(std::memory_order_relaxed)};
        intake_result r = intake_batch(s.pending, *ns.store, s.limits, view, ns.clock.model_s(now),
                                       ns.clock.wall_micros(now), s.frames);
        s.pending.clear();
        s.counts.accepted += r.accepted.size();
        s.counts.rejected += r.refused;
        if (r.journal_write_s >= 0 && ns.metrics != nullptr) ns.metrics->observe_journal_write(r.journal_write_s);
        if (r.journal_failures > 0) ns.log.warn("the journal refused %zu queries", r.journal_failures);
        // Replies first: a client hears "accepted" before any progress of the same query.
        ns.out->post_all(s.frames);
        if (!r.accepted.empty()) {
          // CAF 0.17 lets a typed actor send() only to typed ones; placement (dynamic) does not
          // look at who sent a batch.
          caf::anon_send(s.placement, place_batch{std::move(r.accepted)});
          self->send(s.forecaster, arrivals_msg{std::move(r.arrivals)});
        }
      },
      [=](stats_atom) { return self->state.counts; },
  };
}

}  // namespace

intake_actor spawn_intake(caf::actor_system& sys, node_services& services, const node_shared& shared,
                          intake_limits limits, caf::actor placement, forecaster_actor forecaster, bool own_thread) {
  if (own_thread)
    return sys.spawn<caf::detached>(intake, &services, &shared, std::move(limits), std::move(placement),
                                    std::move(forecaster));
  return sys.spawn(intake, &services, &shared, std::move(limits), std::move(placement), std::move(forecaster));
}

}  // namespace aladdin::node
