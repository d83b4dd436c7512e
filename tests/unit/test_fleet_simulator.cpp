// The fleet simulator: conservation, determinism, modes, admission.

#include <doctest/doctest.h>

#include "model/builtin_profiles.hpp"
#include "placement/registry.hpp"
#include "sim/fleet_simulator.hpp"
#include "trace/builtin_workload.hpp"
#include "trace/load_curve.hpp"

using namespace aladdin;
using namespace aladdin::sim;

namespace {

simulation_config base_config(const std::string& policy, int workers, int tp = 4) {
  simulation_config c;
  c.policy = policy;
  c.profile = *find_builtin_profile("llama2-70b", "a100-80gb", tp);
  c.truth = ground_truth::builtin("llama2-70b", "a100-80gb", tp);
  c.workers = workers;
  c.slo = {2.0, 0.1};
  c.seed = 3;
  return c;
}

trace small_trace(double rate, double seconds, std::uint64_t seed = 5) {
  return generate_builtin_trace(rate, seconds, arrival_process::poisson(), seed);
}

bool same(const simulation_result& a, const simulation_result& b) {
  if (a.timeline.size() != b.timeline.size()) return false;
  for (std::size_t i = 0; i < a.timeline.size(); ++i)
    if (a.timeline[i].arrivals != b.timeline[i].arrivals || a.timeline[i].met != b.timeline[i].met)
      return false;
  return a.queries == b.queries && a.finished == b.finished && a.met_slo == b.met_slo &&
         a.ttft_p50_s == b.ttft_p50_s && a.ttft_p99_s == b.ttft_p99_s &&
         a.atgt_p50_s == b.atgt_p50_s && a.atgt_p99_s == b.atgt_p99_s &&
         a.preemptions == b.preemptions && a.iterations == b.iterations &&
         a.makespan_s == b.makespan_s && a.queued_at_intake == b.queued_at_intake;
}

}  // namespace

TEST_CASE("fleet simulator: every query is accounted for under every policy") {
  const trace t = small_trace(3, 120);
  for (const auto& p : policies()) {
    CAPTURE(p.name);
    const auto r = simulate(t, base_config(p.name, 3));
    CHECK(r.queries == t.size());
    CHECK(r.finished + r.failed + r.unfinished + r.over_context == r.queries);
    CHECK(r.unfinished == 0);  // the run goes on until the fleet is idle
    CHECK(r.met_slo <= r.finished);
    CHECK(r.attainment >= 0);
    CHECK(r.attainment <= 1);
    CHECK(r.gpus == 12);
    CHECK(r.iterations > 0);
  }
}

TEST_CASE("fleet simulator: the same seed gives the same run, another seed another") {
  const trace t = small_trace(4, 120);
  for (const char* policy : {"aladdin", "p2c", "oracle"}) {
    CAPTURE(policy);
    const auto a = simulate(t, base_config(policy, 2));
    const auto b = simulate(t, base_config(policy, 2));
    CHECK(same(a, b));
    auto other = base_config(policy, 2);
    other.seed = 4;  // engine noise differs
    CHECK_FALSE(same(a, simulate(t, other)));
  }
}

TEST_CASE("fleet simulator: a light load meets its SLOs with every policy") {
  const trace t = small_trace(0.5, 120);
  for (const auto& p : policies()) {
    CAPTURE(p.name);
    auto c = base_config(p.name, 4);
    c.slo = {5.0, 0.2};
    CHECK(simulate(t, c).attainment == doctest::Approx(1.0));
  }
}

TEST_CASE("fleet simulator: an overloaded fleet holds queries at the intake and loses none") {
  const trace t = small_trace(6, 60);
  const auto r = simulate(t, base_config("aladdin", 1));
  CHECK(r.queued_at_intake > 0);
  CHECK(r.finished + r.over_context == r.queries);
  CHECK(r.attainment < 1.0);
}

TEST_CASE("fleet simulator: aladdin packs, so more workers never hurt its attainment much") {
  const trace t = small_trace(3, 240);
  const auto few = simulate(t, base_config("aladdin", 2));
  const auto many = simulate(t, base_config("aladdin", 6));
  CHECK(many.attainment >= few.attainment - 0.02);
}

TEST_CASE("fleet simulator: chunked prefill and split phase run the same workload") {
  const trace t = small_trace(2, 120);
  auto chunked = base_config("jsq", 2);
  chunked.mode = serving_mode::chunked;
  const auto rc = simulate(t, chunked);
  CHECK(rc.finished + rc.over_context == rc.queries);
  const auto rp = simulate(t, base_config("jsq", 2));
  CHECK(rc.iterations != rp.iterations);

  auto split = base_config("aladdin", 2);
  split.mode = serving_mode::split;
  split.prefill_workers = 1;
  const auto rs = simulate(t, split);
  CHECK(rs.finished + rs.over_context == rs.queries);
  CHECK(rs.gpus == 12);  // 2 decode + 1 prefill workers of 4 GPUs
  CHECK(rs.ttft_p50_s > 0);
  CHECK(rs.attainment > 0.5);
}

TEST_CASE("fleet simulator: a query too large for any worker fails instead of hanging") {
  trace t;
  for (int i = 0; i < 10; ++i) t.push_back({i * 1.0, 500, 20});
  t.push_back({t.back().arrival_s + 1, 3900, 10});  // within the 4,096-token context
  auto c = base_config("jsq", 2, 2);
  c.profile.kv.capacity_tokens = 3000;  // but not within a worker's KV cache
  const auto r = simulate(t, c);
  CHECK(r.failed == 1);
  CHECK(r.over_context == 0);
  CHECK(r.finished + r.failed == r.queries);
}

TEST_CASE("fleet simulator: bad configurations are refused with a reason") {
  const trace t = small_trace(1, 10);
  CHECK_THROWS_AS(simulate(t, base_config("no-such-policy", 1)), std::invalid_argument);
  CHECK_THROWS_AS(simulate(t, base_config("jsq", 0)), std::invalid_argument);
  auto split = base_config("jsq", 1);
  split.mode = serving_mode::split;
  split.prefill_workers = 0;
  CHECK_THROWS_AS(simulate(t, split), std::invalid_argument);
}

TEST_CASE("fleet simulator: the policy is built from the configured knobs") {
  const trace t = small_trace(4, 120);
  auto packed = base_config("aladdin", 4);
  packed.policy_options = {{"comfort-tightness", "1"}};
  auto spread = base_config("aladdin", 4);
  spread.policy_options = {{"comfort-tightness", "0.05"}};
  CHECK_FALSE(same(simulate(t, packed), simulate(t, spread)));
  auto bad = base_config("aladdin", 1);
  bad.policy_options = {{"comfort-tightness", "2"}};
  CHECK_THROWS_AS(simulate(t, bad), std::invalid_argument);
  auto knobless = base_config("jsq", 1);
  knobless.policy_options = {{"comfort-tightness", "0.9"}};
  CHECK_THROWS_AS(simulate(t, knobless), std::invalid_argument);
}

TEST_CASE("fleet simulator: quantiles are nearest-rank") {
  CHECK(quantile({}, 0.5) == 0);
  CHECK(quantile({3, 1, 2}, 0.5) == 2);
  CHECK(quantile({1, 2, 3, 4}, 0.99) == 4);
  CHECK(quantile({1, 2, 3, 4}, 0.25) == 1);
}

namespace {
trace curve_trace(std::vector<double> rates, double window_s, std::uint64_t seed) {
  load_curve c;
  c.window_s = window_s;
  for (std::size_t k = 0; k < rates.size(); ++k)
    c.windows.push_back({static_cast<double>(k) * window_s, rates[k]});
  return generate_arrivals(
      c, 1.0,
      [](rng& r) {
        auto s = sample_builtin_lengths(r);
        return std::pair<int, int>{s.input_tokens, s.output_tokens};
      },
      seed);
}
}  // namespace

TEST_CASE("fleet simulator: the planner grows the fleet for a ramp and releases it after") {
  // Quiet, busy, quiet.
  const trace t = curve_trace({0.5, 0.5, 6, 6, 6, 0.5, 0.5, 0.5}, 60, 9);
  auto c = base_config("aladdin", 1);
  c.scaling.kind = autoscaler_kind::planner;
  c.scaling.interval_s = 10;
  c.scaling.startup_s = 20;
  c.scaling.max_rate_per_worker = 1.2;
  c.scaling.stabilization_intervals = 3;
  const auto r = simulate(t, c);
  CHECK(r.scale_ups > 0);
  CHECK(r.scale_downs > 0);
  CHECK(r.workers_started >= 4);
  CHECK(r.finished + r.over_context == r.queries);
  // Busy windows were served by more workers than quiet ones.
  int quiet = r.timeline.front().workers, busy = 0;
  for (const auto& w : r.timeline) busy = std::max(busy, w.workers);
  CHECK(busy >= quiet + 3);
  CHECK(r.timeline.back().workers < busy);
  // Paying for the peak all along costs more.
  auto fixed = base_config("aladdin", busy);
  CHECK(simulate(t, fixed).gpu_hours > r.gpu_hours);
  // And the same seed replays the same decisions.
  const auto again = simulate(t, c);
  CHECK(again.gpu_hours == r.gpu_hours);
  CHECK(again.scale_ups == r.scale_ups);
}

TEST_CASE("fleet simulator: a reactive autoscaler follows outstanding queries") {
  const trace t = curve_trace({0.5, 6, 6, 6, 0.5, 0.5}, 60, 10);
  auto c = base_config("jsq", 1);
  c.scaling.kind = autoscaler_kind::reactive;
  c.scaling.interval_s = 10;
  c.scaling.startup_s = 20;
  c.scaling.target_outstanding_per_worker = 10;
  c.scaling.stabilization_intervals = 2;
  const auto r = simulate(t, c);
  CHECK(r.scale_ups > 0);
  CHECK(r.workers_started > 0);
  CHECK(r.finished + r.over_context == r.queries);
}

TEST_CASE("fleet simulator: scaling is refused in split mode") {
  auto c = base_config("jsq", 1);
  c.mode = serving_mode::split;
  c.prefill_workers = 1;
  c.scaling.kind = autoscaler_kind::planner;
  CHECK_THROWS_AS(simulate(small_trace(1, 10), c), std::invalid_argument);
}
