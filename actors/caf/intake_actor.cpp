// Query intake. Per batch of submissions (one bridge poll round): refuse what must be refused,
// journal the rest durably, reply, and hand the accepted queries to placement in one message.
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
  std::vector<outbound> frames;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
};

journal_entry entry_of(const inbound_sink::client_submit& s, query_id id, const slo_target& slo,
                       std::uint64_t now_micros) {
  journal_entry e;
  e.id = id;
  e.client_id = s.client;
  e.client_query_id = s.query.client_query_id;
  e.model = s.query.model;
  e.prompt_tokens = s.query.prompt_tokens;
  e.max_output_tokens = s.query.max_output_tokens;
  e.ttft_slo_micros = static_cast<std::uint64_t>(slo.ttft_s * 1e6);
  e.atgt_slo_micros = static_cast<std::uint64_t>(slo.atgt_s * 1e6);
  e.accepted_micros = now_micros;
  return e;
}

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
        const double now_s = nc.clock.model_s(now);
        const std::uint64_t now_us = nc.clock.wall_micros(now);
        place_batch accepted;
        arrivals_msg arrivals;
        std::size_t waiting = nc.waiting.load(std::memory_order_relaxed);
        const auto max_waiting = static_cast<std::size_t>(nc.options.max_waiting);
        for (auto& s : batch.items) {
          auto refuse = [&](reject_code code, std::string detail) {
            ++st.rejected;
            st.frames.push_back(outbound::client(
                s.client, query_rejected{s.query.client_query_id, code, std::move(detail)}));
          };
          if (nc.draining.load(std::memory_order_relaxed)) {
            refuse(reject_code::draining, "the node is shutting down");
            continue;
          }
          if (auto why = check_submission(s.query, nc.limits)) {
            refuse(why->reason, std::move(why->detail));
            continue;
          }
          // The backlog grows by what this batch adds too: count it, or one large batch
          // could overshoot the bound.
          if (waiting + accepted.items.size() >= max_waiting) {
            refuse(reject_code::overloaded, std::to_string(waiting) + " queries wait already");
            continue;
          }
          auto id = nc.store->next_query_id();
          const slo_target slo = slo_of(s.query, nc.limits);
          journal_entry e = entry_of(s, id ? id.value() : query_id{}, slo, now_us);
          if (!id || !nc.store->accept(e)) {
            nc.log.warn("journal refused a query: %s",
                         id ? "accept failed" : id.error().message.c_str());
            refuse(reject_code::overloaded, "the journal is unavailable");
            continue;
          }
          ++st.accepted;
          st.frames.push_back(
              outbound::client(s.client, query_accepted{s.query.client_query_id, e.id.value}));
          ticket t;
          t.id = e.id;
          t.client = std::move(s.client);
          t.client_query_id = s.query.client_query_id;
          t.prompt_tokens = s.query.prompt_tokens;
          t.max_output_tokens = s.query.max_output_tokens;
          t.slo = slo;
          t.arrival_s = now_s;
          t.accepted_micros = now_us;
          arrivals.items.emplace_back(now_s, static_cast<int>(t.prompt_tokens));
          accepted.items.push_back(std::move(t));
        }
        // Replies first: a client hears "accepted" before any progress of the same query.
        nc.out->post_all(st.frames);
        if (!accepted.items.empty()) {
          self->send(st.placement, std::move(accepted));
          self->send(st.forecaster, std::move(arrivals));
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
