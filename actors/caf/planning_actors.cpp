// Demand forecasting and configuration planning: two small actors around plan/forecaster.hpp
// and plan_keeper.
//
// The forecaster keeps arrivals (from the intake) and completed lengths (from placement). The
// planner asks it for a forecast every plan interval, turns it into a plan (a new epoch when
// the target changes) and tells the provisioner the target.

#include <caf/all.hpp>

#include <deque>

#include "actors/caf/node_actors.hpp"

namespace aladdin::node {

namespace {

struct forecaster_state {
  static inline const char* name = "forecaster";
  std::unique_ptr<demand_forecaster> forecaster;
  double last_arrival_s = 0;
  std::deque<length_sample> samples;  // recent completed lengths, for the planner's workload
};

constexpr std::size_t kMaxSamples = 5000;

caf::behavior forecaster(caf::stateful_actor<forecaster_state>* self, forecaster_options options) {
  self->state.forecaster = std::make_unique<demand_forecaster>(options);
  return {
      [=](arrivals_msg& m) {
        auto& st = self->state;
        for (const auto& [t, tokens] : m.items) {
          // Batches from the intake arrive in order; the max guards the forecaster's contract.
          st.last_arrival_s = std::max(st.last_arrival_s, t);
          st.forecaster->observe_arrival(st.last_arrival_s, tokens);
        }
      },
      [=](completions_msg& m) {
        auto& st = self->state;
        for (const auto& s : m.items) {
          st.forecaster->observe_completion(s.output_tokens);
          st.samples.push_back(s);
          if (st.samples.size() > kMaxSamples) st.samples.pop_front();
        }
      },
      [=](const forecast_request& r) {
        auto& st = self->state;
        forecast_reply reply;
        reply.forecast = st.forecaster->forecast(std::max(r.now_s, st.last_arrival_s), r.horizon_s);
        reply.samples.assign(st.samples.begin(), st.samples.end());
        return reply;
      },
  };
}

struct planner_state {
  static inline const char* name = "planner";
  node_context* ctx = nullptr;
  std::unique_ptr<plan_keeper> keeper;
  caf::actor forecaster;
  caf::actor provisioner;
  double horizon_s = 0;
  caf::timespan interval{};
};
using planner_actor = caf::stateful_actor<planner_state>;

void run_round(planner_actor* self) {
  auto& st = self->state;
  const auto now = self->clock().now();
  const forecast_request req{st.ctx->clock.model_s(now), st.horizon_s};
  self->request(st.forecaster, std::chrono::seconds(10), req)
      .then(
          [=](forecast_reply& reply) {
            auto& s = self->state;
            const auto at = self->clock().now();
            const plan_round r = s.keeper->plan(reply.forecast, reply.samples,
                                                s.ctx->waiting.load(), s.ctx->clock.wall_micros(at));
            if (r.changed) {
              s.ctx->set_epoch(r.plan.epoch);
              s.ctx->log.info("plan %llu: %d workers (%s)", static_cast<unsigned long long>(r.plan.epoch),
                              r.workers, r.plan.note.c_str());
              self->send(s.provisioner, target_msg{r.workers});
            }
          },
          [=](caf::error& e) { self->state.ctx->log.warn("no forecast: %s", caf::to_string(e).c_str()); });
}

caf::behavior planner(planner_actor* self, node_context* ctx, plan_settings settings,
                      caf::actor forecaster, caf::actor provisioner) {
  auto& st = self->state;
  st.ctx = ctx;
  st.horizon_s = settings.horizon_s;
  const int initial = static_cast<int>(ctx->options.provisioner == "static"
                                           ? static_cast<std::int64_t>(ctx->options.static_worker_names().size())
                                           : ctx->options.workers);
  st.keeper = std::make_unique<plan_keeper>(*ctx->store, std::move(settings));
  st.forecaster = std::move(forecaster);
  st.provisioner = std::move(provisioner);
  const plan_record start = st.keeper->start(initial, ctx->clock.wall_micros(self->clock().now()));
  ctx->set_epoch(start.epoch);
  self->send(st.provisioner, target_msg{initial});
  st.interval = std::chrono::duration_cast<caf::timespan>(ctx->clock.wall_of_model(ctx->options.plan_interval_s));
  self->delayed_send(self, st.interval, plan_atom::value);
  return {
      [=](plan_atom) {
        run_round(self);
        self->delayed_send(self, self->state.interval, plan_atom::value);
      },
      [=](stats_atom) { return self->state.keeper->epoch(); },
  };
}

}  // namespace

caf::actor spawn_forecaster(caf::actor_system& sys, node_context&, forecaster_options options) {
  return sys.spawn(forecaster, options);
}

caf::actor spawn_planner(caf::actor_system& sys, node_context& ctx, plan_settings settings,
                         caf::actor forecaster, caf::actor provisioner) {
  return sys.spawn(planner, &ctx, std::move(settings), std::move(forecaster), std::move(provisioner));
}

}  // namespace aladdin::node
