#include "actors/node/plan_keeper.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace aladdin::node {

namespace {
std::unique_ptr<planner_autoscaler> planner_of(const plan_settings& s) {
  return std::make_unique<planner_autoscaler>(s.horizon_s, s.max_workers);
}
}  // namespace

plan_keeper::plan_keeper(state_store& store, plan_settings settings)
    : store_(store),
      settings_(std::move(settings)),
      builtin_(builtin_workload_stats()),
      autoscaler_(planner_of(settings_),
                  scaling_limits{settings_.min_workers, settings_.max_workers,
                                 settings_.stabilization_intervals}) {
  auto p = store_.current_plan();
  if (p) {
    current_ = std::move(p).value();
  } else if (p.error().code != store_errc::not_found) {
    throw std::runtime_error("cannot read the current plan: " + p.error().message);
  }
}

int plan_keeper::target_of(const plan_record& p) const {
  for (const auto& t : p.targets)
    if (t.shape == settings_.shape.config) return static_cast<int>(t.workers);
  return -1;
}

bool plan_keeper::store_plan(int workers, std::uint64_t now_micros, std::string note) {
  plan_record next;
  next.created_micros = now_micros;
  next.targets.push_back({settings_.shape.config, static_cast<std::uint32_t>(workers)});
  next.predicted_gpus = static_cast<std::uint32_t>(workers * settings_.shape.gpus());
  next.note = std::move(note);
  for (int attempt = 0; attempt < 2; ++attempt) {
    next.epoch = current_.epoch + 1;
    auto s = store_.put_plan(next);
    if (s) {
      current_ = next;
      return true;
    }
    if (s.error().code != store_errc::stale_epoch) {
      process_log().error("cannot store plan %llu: %s",
                   static_cast<unsigned long long>(next.epoch), s.error().message.c_str());
      return false;
    }
    // Someone stored a newer plan: catch up and try once more, never going back.
    if (auto p = store_.current_plan()) current_ = std::move(p).value();
  }
  return false;
}

plan_record plan_keeper::start(int workers, std::uint64_t now_micros) {
  autoscaler_.start_from(workers);
  if (target_of(current_) != workers) store_plan(workers, now_micros, "node started");
  return current_;
}

plan_round plan_keeper::plan(const demand_forecast& forecast, std::span<const length_sample> samples,
                             std::size_t backlog, std::uint64_t now_micros) {
  plan_round r;
  const workload_stats observed = samples.size() >= settings_.min_samples
                                      ? summarize_workload(samples, "observed")
                                      : builtin_;
  const shape_capacity cap = max_rate(settings_.shape, observed, settings_.slo, settings_.planner);
  r.max_rate_per_worker = cap.max_rate_per_worker;
  scaling_signal signal;
  signal.forecast_rate_per_s = forecast.rate_per_s;
  signal.backlog = backlog;
  signal.max_rate_per_worker = cap.feasible ? cap.max_rate_per_worker : 0;
  r.demand_per_s = planned_demand_per_s(signal, settings_.horizon_s);
  r.workers = autoscaler_.desired(signal);

  std::string note;
  char buf[256];
  std::snprintf(buf, sizeof buf, "demand %.3f/s (backlog %zu), %s: %.3f/s per worker (%s)",
                r.demand_per_s, backlog, settings_.shape.config.label().c_str(),
                cap.max_rate_per_worker, cap.feasible ? to_string(cap.binding).data() : cap.reason.c_str());
  note = buf;
  if (!settings_.alternatives.empty()) {
    const fleet_plan fp = plan_fleet(settings_.alternatives, observed, settings_.slo,
                                     std::max(r.demand_per_s, 1e-6), settings_.planner);
    if (fp.best && !(fp.shapes[*fp.best].capacity.config == settings_.shape.config))
      note += "; cheapest shape: " + fp.shapes[*fp.best].capacity.config.label();
  }
  if (target_of(current_) != r.workers) r.changed = store_plan(r.workers, now_micros, note);
  r.plan = current_;
  return r;
}

}  // namespace aladdin::node
