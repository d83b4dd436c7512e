// The achievable ceiling and scaled SLOs, on a ground truth small enough to compute by hand.

#include <doctest/doctest.h>

#include "model/builtin_profiles.hpp"
#include "sim/ceiling.hpp"
#include "sim/fleet_simulator.hpp"
#include "trace/workload_family.hpp"

using namespace aladdin;
using namespace aladdin::sim;

namespace {

// P1(l) = 0.2 s per 1,000 tokens − 0.1 s (through (1000, 0.1) and (2000, 0.3)); decode alone
// 20 ms at the reference context 1,050 (prompt 1,000 + 100 / 2) plus 10 µs per context token
// (the slope through (1050, 20 ms) and (2050, 30 ms)).
ground_truth hand_truth() {
  std::vector<profile_point> points = {
      {1000, 1, 100, 1, 100, 20},
      {2000, 1, 100, 1, 300, 30},
      {1000, 2, 100, 1, 180, 22},
  };
  return ground_truth::from_points({"hand", "gpu", 2}, points, "hand");
}

model_spec model_with_context(int context) {
  model_spec m;
  m.name = "hand";
  m.context_tokens = context;
  return m;
}

}  // namespace

TEST_CASE("ceiling: latency alone is the lone prefill and the mean lone decode at the growing context") {
  const ground_truth t = hand_truth();
  const lone_latency a = latency_alone(t, 1500, 11);
  CHECK(a.ttft_s == doctest::Approx(0.2));
  // Contexts 1,501 … 1,510, mean 1,505.5: 20 ms + 10 µs · (1,505.5 − 1,050).
  CHECK(a.atgt_s == doctest::Approx(0.02 + 1e-5 * 455.5));
  CHECK(latency_alone(t, 1500, 1).atgt_s == 0);  // a one-token answer has no decode
}

TEST_CASE("ceiling: counts what meets the SLO alone, what misses TTFT or ATGT, what cannot fit, what is over the context") {
  const ground_truth t = hand_truth();
  trace q = {
      {0, 1500, 11},    // TTFT 0.2, ATGT 24.6 ms: meets 0.25 s / 25 ms
      {1, 2000, 11},    // TTFT 0.3 > 0.25, ATGT 29.6 ms > 25: misses both
      {2, 1500, 1},     // no decode: meets
      {3, 1000, 2000},  // 3,000 tokens > the 2,500-token KV cache
      {4, 4000, 200},   // 4,200 > the 4,096-token context: rejected, in no shape's count
  };
  const ceiling_shape shape{&t, 2500};
  workload_ceiling c = achievable_ceiling(q, {0.25, 0.025}, {&shape, 1}, model_with_context(4096));
  CHECK(c.queries == 5);
  CHECK(c.over_context == 1);
  REQUIRE(c.shapes.size() == 1);
  CHECK(c.shapes[0].admitted == 4);
  CHECK(c.shapes[0].over_kv == 1);
  CHECK(c.shapes[0].missed_ttft == 1);
  CHECK(c.shapes[0].missed_atgt == 1);  // the 2,000-token prompt decodes at 29.6 ms too
  CHECK(c.shapes[0].achievable == 2);
  CHECK(c.best_fraction() == doctest::Approx(0.5));
  CHECK(c.best_tp() == 2);

  // A tighter ATGT SLO (24 ms) makes the first miss too; the second's own TTFT SLO of 0.35 s
  // rescues its TTFT, not its ATGT.
  q[1].slo_ttft_s = 0.35;
  c = achievable_ceiling(q, {0.25, 0.024}, {&shape, 1}, model_with_context(4096));
  CHECK(c.shapes[0].missed_ttft == 0);
  CHECK(c.shapes[0].missed_atgt == 2);  // 1,500 and 2,000-token prompts decode above 24 ms
  CHECK(c.shapes[0].achievable == 1);   // only the one-token answer
  // Without a context limit the 4,200-token query is admitted (and does not fit the KV cache).
  c = achievable_ceiling(q, {0.25, 0.025}, {&shape, 1}, model_with_context(0));
  CHECK(c.over_context == 0);
  CHECK(c.shapes[0].admitted == 5);
  CHECK(c.shapes[0].over_kv == 2);
}

TEST_CASE("ceiling: --slo-scale K sets each query's SLO to K times its latency alone, so K >= 1 reaches 1") {
  const ground_truth t = hand_truth();
  trace q = {{0, 1500, 11}, {1, 2000, 1}};
  scale_slos(q, t, 2.0);
  CHECK(q[0].slo_ttft_s == doctest::Approx(0.4));
  CHECK(q[0].slo_atgt_s == doctest::Approx(2 * (0.02 + 1e-5 * 455.5)));
  CHECK(q[1].slo_ttft_s == doctest::Approx(0.6));
  CHECK(q[1].slo_atgt_s == 0);  // keeps the run's ATGT, which it cannot miss
  const ceiling_shape shape{&t, 1e6};
  CHECK(achievable_ceiling(q, {0.01, 0.001}, {&shape, 1}, model_with_context(0)).best_fraction() == 1.0);
  scale_slos(q, t, 0.5);
  CHECK(achievable_ceiling(q, {10, 10}, {&shape, 1}, model_with_context(0)).best_fraction() == 0.0);
  CHECK_THROWS_AS(scale_slos(q, t, 0), std::invalid_argument);
}

TEST_CASE("ceiling: within_context keeps what fits the model's context, in order") {
  const trace q = {{0, 100, 10}, {1, 4090, 10}, {2, 4000, 96}};
  std::size_t over = 0;
  const trace kept = within_context(q, model_with_context(4096), &over);
  CHECK(over == 1);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].input_tokens == 100);
  CHECK(kept[1].input_tokens == 4000);  // 4,096 exactly fits
}

TEST_CASE("ceiling: a fleet where every query runs alone attains the ceiling, up to the engine's noise") {
  const trace t = generate_family_trace(workload_family::code, 2, 120, 4);
  simulation_config c;
  c.policy = "jsq";
  c.profile = *find_builtin_profile("llama2-70b", "a100-80gb", 4);
  c.truth = ground_truth::builtin("llama2-70b", "a100-80gb", 4);
  c.workers = 300;  // more workers than queries: jsq gives each an idle one
  c.slo = {0.4, 0.1};
  const ceiling_shape shape{&*c.truth, c.profile.kv.capacity_tokens};
  const workload_ceiling w = achievable_ceiling(t, c.slo, {&shape, 1}, *find_model("llama2-70b"));
  REQUIRE(w.shapes[0].admitted > 150);
  CHECK(w.best_fraction() > 0.3);
  CHECK(w.best_fraction() < 0.9);
  const simulation_result r = simulate(t, c);
  CHECK(r.over_context == w.over_context);
  CHECK(r.attainment == doctest::Approx(w.best_fraction()).epsilon(0.03));
}
