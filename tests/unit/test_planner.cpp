#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "plan/planner.hpp"

using namespace aladdin;

namespace {

// A made-up shape with round coefficients: the tests must not hang on the built-in numbers.
worker_profile shape(int tp, double c3 = 0.04, double kv_tokens = 1e6) {
  worker_profile p;
  p.config = {"m", "g", tp};
  p.prefill = {2e-4, 0, 0, 0.01};
  p.decode = {2e-7, 2e-4, c3};
  p.kv.capacity_tokens = kv_tokens;
  p.source = "test";
  return p;
}

workload_stats mixed_workload() {
  std::vector<length_sample> s;
  for (int i = 0; i < 100; ++i) s.push_back({400 + 20 * i, 50 + 5 * (i % 40)});
  return summarize_workload(s, "mixed");
}

// Generous TTFT so that ATGT or KV binds where a test wants them to.
const slo_target loose_ttft{100.0, 0.1};

}  // namespace

TEST_CASE("the ATGT solves its fixed point and the batch follows Little's law") {
  const auto w = mixed_workload();
  const auto p = shape(4);
  for (double rate : {0.2, 1.0, 2.0}) {
    const auto op = evaluate_worker(p, w, rate);
    REQUIRE(op.stable);
    const double beta = p.decode.k2 * w.mean_decode_context + p.decode.c2;
    const double rho = rate * (p.prefill.k1 * w.mean_input + p.prefill.c1);
    CHECK(op.prefill_utilisation == doctest::Approx(rho));
    CHECK(op.batch == doctest::Approx(rate * w.mean_output * op.atgt_s));
    // A = t_dec(1 + B) / (1 − ρ_p)
    CHECK(op.atgt_s == doctest::Approx((beta * (1 + op.batch) + p.decode.c3) / (1 - rho)));
  }
  // Idle: a lone query's iteration; overloaded: unstable.
  const auto idle = evaluate_worker(p, w, 0);
  CHECK(idle.batch == 0);
  CHECK(idle.atgt_s == doctest::Approx(p.decode.k2 * w.mean_decode_context + p.decode.c2 +
                                       p.decode.c3));
  CHECK_FALSE(evaluate_worker(p, w, 1000).stable);
}

TEST_CASE("every predicted metric grows with the rate") {
  const auto w = mixed_workload();
  const auto p = shape(4);
  operating_point prev = evaluate_worker(p, w, 0);
  for (double rate = 0.25; rate < 3.0; rate += 0.25) {
    const auto op = evaluate_worker(p, w, rate);
    REQUIRE(op.stable);
    CHECK(op.atgt_s > prev.atgt_s);
    CHECK(op.ttft_s >= prev.ttft_s);
    CHECK(op.kv_tokens > prev.kv_tokens);
    prev = op;
  }
}

TEST_CASE("a tighter ATGT SLO gives a lower max rate") {
  const auto w = mixed_workload();
  double prev = 1e9;
  for (double atgt : {0.2, 0.12, 0.1, 0.08, 0.06}) {
    const auto c = max_rate(shape(4), w, {100.0, atgt});
    REQUIRE(c.feasible);
    CHECK(c.binding == binding_constraint::atgt);
    CHECK(c.max_rate_per_worker < prev);
    CHECK(c.at_max.atgt_s <= 0.9 * atgt * (1 + 1e-12));
    CHECK(c.at_max.atgt_tail_s == doctest::Approx(0.9 * atgt));
      CHECK(c.at_max.atgt_s < c.at_max.atgt_tail_s);  // the mean sits below the p99 query
    prev = c.max_rate_per_worker;
  }
}

TEST_CASE("more KV capacity never lowers the max rate") {
  const auto w = mixed_workload();
  double prev = 0;
  for (double kv : {4e3, 8e3, 2e4, 1e5, 1e7}) {
    const auto c = max_rate(shape(4, 0.04, kv), w, loose_ttft);
    REQUIRE(c.feasible);
    CHECK(c.max_rate_per_worker >= prev);
    prev = c.max_rate_per_worker;
  }
}

TEST_CASE("a small KV cache binds and the plan fills it exactly") {
  const auto w = mixed_workload();
  const auto c = max_rate(shape(4, 0.04, 8000), w, loose_ttft);
  REQUIRE(c.feasible);
  CHECK(c.binding == binding_constraint::kv);
  CHECK(c.reason.empty());
  CHECK(c.at_max.kv_tokens <= 8000);
  CHECK(c.at_max.kv_tokens == doctest::Approx(8000));
  CHECK(c.at_max.atgt_s < 0.09);
  // A larger cache lifts the rate to where ATGT binds instead.
  CHECK(max_rate(shape(4, 0.04, 1e7), w, loose_ttft).binding == binding_constraint::atgt);
}

TEST_CASE("a shape whose lone decode iteration exceeds the ATGT SLO is infeasible (atgt)") {
  const auto c = max_rate(shape(2, /*c3=*/0.12), mixed_workload(), {2.0, 0.1});
  CHECK_FALSE(c.feasible);
  CHECK(c.binding == binding_constraint::atgt);
  CHECK(c.max_rate_per_worker == 0);
  CHECK(c.rate_per_gpu == 0);
  CHECK(c.reason.find("decode") != std::string::npos);
  // The headroom counts: a lone iteration of 95 ms fits 100 ms but not 0.9 × 100 ms.
  const double per_seq = evaluate_worker(shape(2, 0), mixed_workload(), 0).atgt_s;
  const auto p95 = shape(2, 0.095 - per_seq);
  CHECK(evaluate_worker(p95, mixed_workload(), 0).atgt_s == doctest::Approx(0.095));
  CHECK_FALSE(max_rate(p95, mixed_workload(), {2.0, 0.1}).feasible);
  CHECK(max_rate(p95, mixed_workload(), {2.0, 0.1}, {1.0}).feasible);
}

TEST_CASE("a shape whose long prompts alone miss the TTFT SLO is infeasible (ttft)") {
  auto p = shape(2);
  p.prefill.k1 = 2e-3;  // the longest prompts (~2,400 tokens) take ~5 s
  const auto c = max_rate(p, mixed_workload(), {2.0, 0.1});
  CHECK_FALSE(c.feasible);
  CHECK(c.binding == binding_constraint::ttft);
  CHECK_FALSE(c.reason.empty());
}

TEST_CASE("a shape that cannot hold the p99 query is infeasible (kv)") {
  const auto w = mixed_workload();
  const auto c = max_rate(shape(2, 0.04, w.total_p99 - 1), w, loose_ttft);
  CHECK_FALSE(c.feasible);
  CHECK(c.binding == binding_constraint::kv);
}

TEST_CASE("TTFT binds when its SLO is tight") {
  const auto w = mixed_workload();
  const auto idle = evaluate_worker(shape(4), w, 0);
  const slo_target tight{idle.ttft_s * 1.5, 1.0};
  const auto c = max_rate(shape(4), w, tight);
  REQUIRE(c.feasible);
  CHECK(c.binding == binding_constraint::ttft);
  CHECK(c.at_max.ttft_s <= tight.ttft_s);
  CHECK(c.at_max.ttft_s == doctest::Approx(tight.ttft_s).epsilon(1e-6));
}

TEST_CASE("workers = ceil(demand / rate per worker)") {
  CHECK(workers_needed(10, 2.5) == 4);
  CHECK(workers_needed(10, 3) == 4);
  CHECK(workers_needed(9, 3) == 3);
  CHECK(workers_needed(0.3, 0.1) == 3);  // 2.9999999999999996 in floating point
  CHECK(workers_needed(0.01, 3) == 1);
  CHECK(workers_needed(0, 3) == 0);
  CHECK(workers_needed(0, 0) == 0);
  CHECK_THROWS_AS(workers_needed(1, 0), std::invalid_argument);

  const auto w = mixed_workload();
  const std::vector<worker_profile> profiles = {shape(2), shape(4), shape(8, 0.5)};
  const auto plan = plan_fleet(profiles, w, {2.0, 0.1}, 17.0);
  REQUIRE(plan.shapes.size() == 3);
  for (const auto& s : plan.shapes) {
    if (!s.capacity.feasible) {
      CHECK(s.workers == 0);
      continue;
    }
    CHECK(s.workers == workers_needed(17.0, s.capacity.max_rate_per_worker));
    CHECK(s.gpus == s.workers * s.capacity.gpus_per_worker);
    CHECK(s.capacity.rate_per_gpu ==
          doctest::Approx(s.capacity.max_rate_per_worker / s.capacity.gpus_per_worker));
  }
  CHECK_FALSE(plan.shapes[2].capacity.feasible);
  REQUIRE(plan.best.has_value());
  CHECK(*plan.best != 2);
}

namespace {

shape_plan planned(int tp, double rate_per_worker, double demand, bool feasible = true) {
  shape_plan s;
  s.capacity.config = {"m", "g", tp};
  s.capacity.gpus_per_worker = tp;
  s.capacity.feasible = feasible;
  if (feasible) {
    s.capacity.max_rate_per_worker = rate_per_worker;
    s.capacity.rate_per_gpu = rate_per_worker / tp;
    s.workers = workers_needed(demand, rate_per_worker);
    s.gpus = s.workers * tp;
  }
  return s;
}

}  // namespace

TEST_CASE("best shape: fewest GPUs, then rate per GPU, then fewer GPUs per worker") {
  SUBCASE("highest rate per GPU wins at a large demand") {
    const std::vector<shape_plan> s = {planned(2, 0.6, 60), planned(4, 1.4, 60),
                                       planned(8, 2.4, 60)};
    // 100 × 2 = 200, 43 × 4 = 172, 25 × 8 = 200 GPUs.
    CHECK(choose_shape(s) == 1u);
  }
  SUBCASE("equal GPUs for the demand: the higher rate per GPU wins") {
    // Demand 4: tp2 needs 4 workers (8 GPUs), tp4 needs 2 (8 GPUs) but runs faster per GPU.
    const std::vector<shape_plan> s = {planned(2, 1.0, 4), planned(4, 2.5, 4)};
    CHECK(choose_shape(s) == 1u);
  }
  SUBCASE("a full tie goes to fewer GPUs per worker") {
    const std::vector<shape_plan> s = {planned(8, 4.0, 16), planned(4, 2.0, 16),
                                       planned(2, 1.0, 16)};
    CHECK(choose_shape(s) == 2u);
  }
  SUBCASE("at a small demand, rounding up can beat rate per GPU") {
    // tp8 is more efficient per GPU, but demand 1 needs one tp4 worker (4 GPUs) vs 8 GPUs.
    const std::vector<shape_plan> s = {planned(4, 1.2, 1), planned(8, 3.0, 1)};
    CHECK(choose_shape(s) == 0u);
  }
  SUBCASE("infeasible shapes are never chosen") {
    const std::vector<shape_plan> s = {planned(2, 0, 5, false), planned(8, 1.0, 5)};
    CHECK(choose_shape(s) == 1u);
    const std::vector<shape_plan> none = {planned(2, 0, 5, false)};
    CHECK_FALSE(choose_shape(none).has_value());
  }
}

namespace {

worker_config tp(int n) { return {"m", "g", n}; }

}  // namespace

TEST_CASE("fleet diff") {
  SUBCASE("grow") {
    const std::vector<fleet_entry> cur = {{tp(4), 10}};
    const auto a = diff_fleet(cur, {tp(4), 13});
    REQUIRE(a.size() == 1);
    CHECK(a[0] == fleet_action{fleet_action_kind::start, tp(4), 3});
  }
  SUBCASE("shrink") {
    const std::vector<fleet_entry> cur = {{tp(4), 10}};
    const auto a = diff_fleet(cur, {tp(4), 6});
    REQUIRE(a.size() == 1);
    CHECK(a[0] == fleet_action{fleet_action_kind::drain, tp(4), 4});
  }
  SUBCASE("switch shape: start the new one first, then drain the others in order") {
    const std::vector<fleet_entry> cur = {{tp(8), 2}, {tp(4), 10}};
    const auto a = diff_fleet(cur, {tp(2), 30});
    REQUIRE(a.size() == 3);
    CHECK(a[0] == fleet_action{fleet_action_kind::start, tp(2), 30});
    CHECK(a[1] == fleet_action{fleet_action_kind::drain, tp(4), 10});
    CHECK(a[2] == fleet_action{fleet_action_kind::drain, tp(8), 2});
  }
  SUBCASE("keep the target shape, drain the rest") {
    const std::vector<fleet_entry> cur = {{tp(4), 10}, {tp(8), 2}};
    const auto a = diff_fleet(cur, {tp(4), 8});
    REQUIRE(a.size() == 2);
    CHECK(a[0] == fleet_action{fleet_action_kind::drain, tp(4), 2});
    CHECK(a[1] == fleet_action{fleet_action_kind::drain, tp(8), 2});
  }
  SUBCASE("no-op") {
    const std::vector<fleet_entry> cur = {{tp(4), 10}, {tp(8), 0}};
    CHECK(diff_fleet(cur, {tp(4), 10}).empty());
    CHECK(diff_fleet({}, {tp(4), 0}).empty());
  }
  SUBCASE("from an empty fleet, and repeated entries add up") {
    const auto a = diff_fleet({}, {tp(2), 5});
    REQUIRE(a.size() == 1);
    CHECK(a[0] == fleet_action{fleet_action_kind::start, tp(2), 5});
    const std::vector<fleet_entry> cur = {{tp(2), 3}, {tp(2), 4}};
    const auto b = diff_fleet(cur, {tp(2), 5});
    REQUIRE(b.size() == 1);
    CHECK(b[0] == fleet_action{fleet_action_kind::drain, tp(2), 2});
  }
  SUBCASE("another model or GPU type is another shape") {
    const std::vector<fleet_entry> cur = {{{"m", "other", 4}, 3}};
    const auto a = diff_fleet(cur, {tp(4), 3});
    REQUIRE(a.size() == 2);
    CHECK(a[0].kind == fleet_action_kind::start);
    CHECK(a[1] == fleet_action{fleet_action_kind::drain, {"m", "other", 4}, 3});
  }
  CHECK_THROWS_AS(diff_fleet({}, {tp(4), -1}), std::invalid_argument);
}

TEST_CASE("bad planner inputs are rejected") {
  const auto w = mixed_workload();
  CHECK_THROWS_AS(max_rate(shape(4), w, {0.0, 0.1}), std::invalid_argument);
  CHECK_THROWS_AS(max_rate(shape(4), w, {2.0, 0.1}, {1.5}), std::invalid_argument);
  CHECK_THROWS_AS(evaluate_worker(shape(4), w, -1), std::invalid_argument);
  const std::vector<length_sample> silent = {{100, 0}};
  CHECK_THROWS_AS(max_rate(shape(4), summarize_workload(silent, "x"), {2.0, 0.1}),
                  std::invalid_argument);
  CHECK_THROWS_AS(plan_fleet({}, w, {2.0, 0.1}, -1), std::invalid_argument);
}
