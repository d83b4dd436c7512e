// The loop from SLO outcomes back to planning margins (placement/slo_feedback.hpp) and the
// per-query decision records (placement/decision_record.hpp).

#include <doctest/doctest.h>

#include <cmath>

#include "placement/decision_record.hpp"
#include "model/calibration.hpp"
#include "placement/length_source.hpp"
#include "placement/slo_feedback.hpp"
#include "placement/worker_schedule.hpp"
#include "util/rng.hpp"

using namespace aladdin;

namespace {

const worker_shape_model* shape_a() {
  static const worker_shape_model m;
  return &m;
}
const worker_shape_model* shape_b() {
  static const worker_shape_model m;
  return &m;
}

slo_outcome planned(bool ttft_missed, bool atgt_missed) {
  slo_outcome o;
  o.ttft_planned = o.atgt_planned = true;
  o.ttft_missed = ttft_missed;
  o.atgt_missed = atgt_missed;
  return o;
}

}  // namespace

TEST_CASE("slo feedback: a model that meets every SLO keeps its margins") {
  slo_feedback f({});
  for (int i = 0; i < 1000; ++i) f.observe(shape_a(), worker_id{1}, planned(false, false));
  CHECK(f.margin(shape_a()).ttft == 1.0);
  CHECK(f.margin(shape_a()).atgt == 1.0);
  CHECK(f.by_shape(shape_a()).atgt_planned == 1000);
  CHECK(f.by_worker(worker_id{1}).atgt_missed == 0);
}

TEST_CASE("slo feedback: misses tighten only their own dimension and shape, within bounds") {
  slo_feedback f({});
  f.observe(shape_a(), worker_id{1}, planned(false, true));
  CHECK(f.margin(shape_a()).atgt < 1.0);
  CHECK(f.margin(shape_a()).ttft == 1.0);
  CHECK(f.margin(shape_b()).atgt == 1.0);
  for (int i = 0; i < 10000; ++i) f.observe(shape_a(), worker_id{1}, planned(true, true));
  CHECK(f.margin(shape_a()).atgt == doctest::Approx(slo_feedback_options{}.min_margin));
  CHECK(f.margin(shape_a()).ttft == doctest::Approx(slo_feedback_options{}.min_margin));
  CHECK(f.by_worker(worker_id{1}).ttft_missed == 10000);
  CHECK(f.by_worker(worker_id{2}).ttft_planned == 0);
}

TEST_CASE("slo feedback: the margin settles where the miss rate meets the risk budget") {
  // A made-up world in which misses fall as the margin shrinks: p(m) = 0.05 · m⁴. The budget
  // 0.005 is met at m = (0.1)^(1/4) ≈ 0.562.
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    slo_feedback f({});
    rng r(seed);
    double sum = 0;
    int counted = 0;
    for (int i = 0; i < 400000; ++i) {
      const double m = f.margin(shape_a()).atgt;
      const bool missed = r.uniform() < 0.05 * std::pow(m, 4);
      slo_outcome o;
      o.atgt_planned = true;
      o.atgt_missed = missed;
      f.observe(shape_a(), worker_id{0}, o);
      if (i >= 200000) {
        sum += f.margin(shape_a()).atgt;
        ++counted;
      }
    }
    CHECK(sum / counted == doctest::Approx(std::pow(0.1, 0.25)).epsilon(0.08));
  }
}

TEST_CASE("slo feedback: a miss after waiting gives margin back; best effort and one-token answers do not count") {
  slo_feedback f({});
  for (int i = 0; i < 20; ++i) f.observe(shape_a(), worker_id{0}, planned(true, true));
  const slo_margin low = f.margin(shape_a());
  slo_outcome waited = planned(true, false);
  waited.waited = true;
  f.observe(shape_a(), worker_id{0}, waited);
  CHECK(f.margin(shape_a()).ttft > low.ttft);
  CHECK(f.margin(shape_a()).atgt > low.atgt);
  const slo_margin after = f.margin(shape_a());
  slo_outcome best_effort;  // nothing planned
  best_effort.ttft_missed = best_effort.atgt_missed = true;
  f.observe(shape_a(), worker_id{0}, best_effort);
  CHECK(f.margin(shape_a()) == after);
}

TEST_CASE("slo feedback: disabled, it counts but never corrects; bad options are refused") {
  slo_feedback_options o;
  o.enabled = false;
  slo_feedback f(o);
  for (int i = 0; i < 100; ++i) f.observe(shape_a(), worker_id{0}, planned(true, true));
  CHECK(f.margin(shape_a()) == slo_margin{});
  CHECK(f.by_shape(shape_a()).ttft_missed == 100);
  slo_feedback_options bad;
  bad.risk_budget = 0;
  CHECK_THROWS_AS(slo_feedback{bad}, std::invalid_argument);
  bad = {};
  bad.min_margin = 1.5;
  CHECK_THROWS_AS(slo_feedback{bad}, std::invalid_argument);
}

TEST_CASE("decision records: outcomes, CSV and prediction error by kind") {
  decision_record a;
  a.query = 7;
  a.arrival_s = 10;
  a.prompt_tokens = 100;
  a.output_tokens = 11;
  a.slo = {2, 0.1};
  a.kind = decision_kind::planned;
  a.worker = 3;
  a.expected_output_tokens = 22;
  a.predicted_ttft_s = 0.5;
  a.predicted_iteration_s = 0.05;
  a.first_token_s = 10.75;  // TTFT 0.75 s: 0.25 s later than predicted
  a.finish_s = 11.75;       // 10 tokens after the first in 1 s: ATGT 0.1 s
  CHECK(a.ttft_s() == doctest::Approx(0.75));
  CHECK(a.atgt_s() == doctest::Approx(0.1));
  CHECK(a.met());
  decision_record b = a;
  b.query = 8;
  b.kind = decision_kind::best_effort;
  b.finish_s = 13.75;  // ATGT 0.3 s
  CHECK_FALSE(b.met());
  decision_record c;
  c.kind = decision_kind::expired;
  const std::vector<decision_record> all{a, b, c};
  const std::string csv = decisions_csv(all);
  CHECK(csv.rfind("query,arrival_s,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);
  CHECK(csv.find("\n7,10.000000,100,11,2,0.1,planned,3,") != std::string::npos);
  CHECK(csv.find(",expired,-1,") != std::string::npos);
  const auto errors = prediction_errors(all);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].kind == decision_kind::planned);
  CHECK(errors[0].ttft_error_p50_s == doctest::Approx(0.25));
  CHECK(errors[0].atgt_ratio_p50 == doctest::Approx(2.0));
  CHECK(errors[0].length_ratio_p50 == doctest::Approx(0.5));
  CHECK(errors[1].kind == decision_kind::best_effort);
  CHECK(errors[1].missed_atgt == 1);
}

TEST_CASE("calibration: a prefill batch's factor is learnt by batch size; the schedule predicts with it") {
  latency_calibration c;
  CHECK(c.prefill_batch_factor(9) == 1.0);
  for (int i = 0; i < 40; ++i) c.observe_prefill_batch(8, 1.0, 1.25);
  CHECK(c.prefill_batch_factor(8) == doctest::Approx(1.25).epsilon(0.01));
  CHECK(c.prefill_batch_factor(1) == 1.0);  // one prompt alone is never corrected here
  c.observe_prefill_batch(1, 1.0, 5.0);     // and a "batch" of one is ignored
  CHECK(c.prefill_batch_factor(1) == 1.0);

  // A worker whose batches of 2–3 prompts take 1.5x their single costs: a query joining two
  // queued prompts is predicted at 1.5x the serial sum.
  worker_shape_model shape;
  shape.profile.config = {"m", "g", 4};
  shape.profile.prefill = {2e-4, 0, 0, 0.02};
  shape.profile.decode = {2e-7, 2e-4, 0.04};
  shape.profile.kv.bytes_per_token = 1;
  shape.profile.kv.capacity_tokens = 100000;
  fixed_lengths lengths(10);
  worker_schedule s(&shape, &lengths, {1.0, 1.0, 1.0, 0.0});
  const auto query = [](std::uint64_t id) {
    query_request q;
    q.id = query_id{id};
    q.input_tokens = 1000;  // 0.22 s alone
    q.expected_output_tokens = 10;
    q.slo = {100, 100};
    return q;
  };
  s.add_queued(query(1), {1000, 10}, 0);
  s.add_queued(query(2), {1000, 10}, 0);
  const double serial = s.evaluate(query(3), 0).predicted_ttft_s;
  CHECK(serial == doctest::Approx(0.66));
  for (int i = 0; i < 400; ++i) shape.calibration.observe_prefill_batch(3, 1.0, 1.5);
  s.refresh_margin();  // any rebuild picks the factor up
  CHECK(s.evaluate(query(3), 0).predicted_ttft_s == doctest::Approx(0.66 * 1.5).epsilon(0.02));
  CHECK(s.summary().prefill_batch_factor == doctest::Approx(1.5).epsilon(0.02));
}
