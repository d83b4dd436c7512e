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

forecaster_actor::behavior_type forecaster(forecaster_actor::stateful_pointer<forecaster_state> self,
                                           forecaster_options options) {
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
  node_services* services = nullptr;
  node_shared* shared = nullptr;
  std::unique_ptr<plan_keeper> keeper;
  forecaster_actor forecaster;
  provisioner_actor provisioner;
  double horizon_s = 0;
  caf::timespan interval{};
  int workers = 0;  // the target in force
};
using planner_pointer = planner_actor::stateful_pointer<planner_state>;

void run_round(planner_pointer self) {
  auto& st = self->state;
  const auto now = self->clock().now();
  const forecast_request req{st.services->clock.model_s(now), st.horizon_s};
  self->request(st.forecaster, std::chrono::seconds(10), req)
      .then(
          [=](forecast_reply& reply) {
            auto& s = self->state;
            const auto at = self->clock().now();
            const plan_round r = s.keeper->plan(reply.forecast, reply.samples, s.shared->waiting.load(),
                                                s.services->clock.wall_micros(at));
            if (r.changed) {
              s.shared->set_epoch(r.plan.epoch);
              s.services->log.info("plan %llu: %d workers (%s)", static_cast<unsigned long long>(r.plan.epoch),
                                   r.workers, r.plan.note.c_str());
              s.workers = r.workers;
              self->send(s.provisioner, target_msg{r.workers});
            }
          },
          [=](caf::error& e) { self->state.services->log.warn("no forecast: %s", caf::to_string(e).c_str()); });
}

planner_actor::behavior_type planner(planner_pointer self, node_services* services, node_shared* shared,
                                     planning_options options, forecaster_actor forecaster,
                                     provisioner_actor provisioner) {
  auto& st = self->state;
  st.services = services;
  st.shared = shared;
  st.horizon_s = options.settings.horizon_s;
  st.keeper = std::make_unique<plan_keeper>(*services->store, std::move(options.settings));
  st.forecaster = std::move(forecaster);
  st.provisioner = std::move(provisioner);
  const plan_record start = st.keeper->start(options.initial_workers, services->clock.wall_micros(self->clock().now()));
  shared->set_epoch(start.epoch);
  st.workers = options.initial_workers;
  self->send(st.provisioner, target_msg{options.initial_workers});
  st.interval = std::chrono::duration_cast<caf::timespan>(services->clock.wall_of_model(options.interval_s));
  self->delayed_send(self, st.interval, plan_atom::value);
  return {
      [=](plan_atom) {
        run_round(self);
        self->delayed_send(self, self->state.interval, plan_atom::value);
      },
      [=](stats_atom) { return planner_stats{self->state.keeper->epoch(), self->state.workers}; },
  };
}

}  // namespace

forecaster_actor spawn_forecaster(caf::actor_system& sys, forecaster_options options) {
  return sys.spawn(forecaster, options);
}

planner_actor spawn_planner(caf::actor_system& sys, node_services& services, node_shared& shared,
                            planning_options options, forecaster_actor forecaster,
                            provisioner_actor provisioner) {
  return sys.spawn(planner, &services, &shared, std::move(options), std::move(forecaster), std::move(provisioner));
}

}  // namespace aladdin::node
