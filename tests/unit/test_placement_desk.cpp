// The placement desk (src/placement/placement_desk.hpp): the admission rule the fleet simulator
// and the live node's placement actor share.

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "model/builtin_profiles.hpp"
#include "placement/placement_desk.hpp"
#include "placement/worker_schedule.hpp"

using namespace aladdin;

namespace {

worker_profile tp4(double kv_tokens = 0) {
  worker_profile p = *find_builtin_profile("llama2-70b", "a100-80gb", 4);
  if (kv_tokens > 0) p.kv.capacity_tokens = kv_tokens;
  return p;
}

desk_query query(std::uint64_t id, int prompt, double arrival_s = 0, slo_target slo = {}) {
  desk_query q;
  q.id = query_id{id};
  q.prompt_tokens = prompt;
  q.arrival_s = arrival_s;
  q.slo = slo;
  return q;
}

constexpr worker_id w1{1}, w11{11};

}  // namespace

TEST_CASE("placement desk: a query no worker can take waits, first come first served, until capacity frees") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(w11, tp4(3000)));
  desk_decisions out;
  auto& placed = out.placed;
  std::vector<desk_query> batch = {query(1, 1500), query(2, 1500), query(3, 1500)};
  desk.offer(batch, 0, out);
  REQUIRE(placed.size() == 1);
  CHECK(placed[0].worker == w11);
  CHECK(placed[0].query.value == 1);
  CHECK(desk.waiting() == 2);
  placed.clear();
  desk.retry(0.1, out);
  CHECK(placed.empty());  // nothing freed yet
  desk.first_token(w11, query_id{1}, 0.2);
  desk.completed(w11, query_id{1}, 1500, 40, 0.5);
  desk.retry(0.5, out);
  REQUIRE(placed.size() == 1);
  CHECK(placed[0].query.value == 2);  // the oldest first
  CHECK(desk.waiting() == 1);
  CHECK(desk.counters().waited == 2);
}

TEST_CASE("placement desk: past its TTFT SLO a waiting query is placed without the TTFT constraint") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(w1, tp4()));
  desk_decisions out;
  auto& placed = out.placed;
  // Something runs, so the fleet is not idle (an idle fleet would take it best effort at once).
  std::vector<desk_query> batch = {query(1, 100)};
  desk.offer(batch, 0, out);
  REQUIRE(placed.size() == 1);
  desk.first_token(w1, query_id{1}, 0.05);
  placed.clear();
  // A prompt whose prefill alone takes longer than a 0.2 s TTFT SLO: no worker can meet it.
  batch = {query(2, 8000, 0.05, {0.2, 0.1})};
  desk.offer(batch, 0.05, out);
  CHECK(placed.empty());
  CHECK(desk.waiting() == 1);
  desk.retry(0.15, out);
  CHECK(placed.empty());
  desk.retry(0.3, out);  // its TTFT is lost: only the others' SLOs matter now
  REQUIRE(placed.size() == 1);
  CHECK(placed[0].query.value == 2);
  CHECK(desk.counters().forced == 0);
}

TEST_CASE("placement desk: refused for its TTFT headroom alone, a query still within its SLO goes where it comes soonest") {
  // What the schedule predicts for a 4,000-token prompt behind one decoding query.
  const fixed_lengths lengths(256);
  worker_schedule alone(tp4(), &lengths);
  alone.add_queued({query_id{1}, 100, 0, {}, 256}, {100, -1}, 0);
  alone.start_decoding(query_id{1}, 0.05);
  const double ttft = alone.evaluate({query_id{2}, 4000, 0.05, {}, 256}, 0.05).predicted_ttft_s;
  REQUIRE(ttft > 0.5);

  for (const double slo : {ttft / 0.95, ttft / 1.05}) {  // within its SLO, or past it
    CAPTURE(slo);
    placement_desk desk({});
    REQUIRE(desk.add_worker(w1, tp4()));
    desk_decisions out;
    std::vector<desk_query> batch = {query(1, 100)};
    desk.offer(batch, 0, out);
    desk.first_token(w1, query_id{1}, 0.05);
    out.placed.clear();
    // Planned with 0.9 of its SLO, the prompt fits nowhere; waiting could only make it later.
    batch = {query(2, 4000, 0.05, {slo, 0.1})};
    desk.offer(batch, 0.05, out);
    if (ttft <= slo) {
      REQUIRE(out.placed.size() == 1);
      CHECK(out.placed[0].late);
      CHECK(desk.counters().late == 1);
      CHECK(desk.waiting() == 0);
    } else {
      CHECK(out.placed.empty());
      CHECK(desk.waiting() == 1);
      CHECK(desk.counters().late == 0);
    }
  }
}

TEST_CASE("placement desk: an idle fleet takes the oldest waiting query best effort") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(w1, tp4()));
  desk_decisions out;
  auto& placed = out.placed;
  // An ATGT no decode iteration can meet: refused everywhere, at any time.
  std::vector<desk_query> batch = {query(1, 100, 0, {2.0, 0.0001}), query(2, 100, 0, {2.0, 0.0001})};
  desk.offer(batch, 0, out);
  CHECK(placed.empty());
  desk.retry(0.1, out);
  REQUIRE(placed.size() == 1);  // one at a time
  CHECK(placed[0].query.value == 1);
  CHECK(desk.counters().forced == 1);
  placed.clear();
  desk.retry(0.2, out);  // the fleet is no longer idle
  CHECK(placed.empty());
}

TEST_CASE("placement desk: a withdrawn waiting query leaves the queue and is never decided") {
  placement_desk desk({});
  desk_decisions out;
  desk.offer(std::vector<desk_query>{query(1, 500), query(2, 500)}, 0, out);  // no worker: both wait
  REQUIRE(desk.waiting() == 2);
  CHECK(desk.withdraw(query_id{1}));
  CHECK(!desk.withdraw(query_id{1}));  // once
  CHECK(!desk.withdraw(query_id{9}));  // never here
  CHECK(desk.waiting() == 1);
  REQUIRE(desk.add_worker(w1, tp4()));
  out.clear();
  desk.retry(1, out);
  REQUIRE(out.placed.size() == 1);
  CHECK(out.placed[0].query == query_id{2});
  CHECK(desk.waiting() == 0);
}

TEST_CASE("placement desk: a query waiting past max_wait expires") {
  desk_options o;
  o.max_wait_s = 5;
  placement_desk desk(o);
  desk_decisions out;
  std::vector<desk_query> batch = {query(1, 100, 0), query(2, 100, 3)};
  desk.offer(batch, 3, out);  // no workers at all
  desk.retry(5.5, out);
  REQUIRE(out.expired.size() == 1);
  CHECK(out.expired[0].query.value == 1);
  CHECK(out.expired[0].reason == reject_reason::no_workers);  // the last reason it was refused
  CHECK(out.expired[0].waited_s == doctest::Approx(5.5));
  CHECK(desk.waiting() == 1);
}

TEST_CASE("placement desk: the engine's hint is the prediction") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(w1, tp4()));
  desk_decisions out;
  auto& placed = out.placed;
  std::vector<desk_query> batch = {query(1, 100)};
  desk.offer(batch, 0, out);
  REQUIRE(placed.size() == 1);
  // desk_query has no maxOutputTokens: the client's hard stop (the truth, in emulation) cannot
  // reach placement; the node forwards it to the worker beside the desk.
  CHECK(placed[0].output_hint == static_cast<std::uint32_t>(std::round(desk.predictor().predict(100).mean)));
}

TEST_CASE("placement desk: lost queries go back among the waiting in arrival order") {
  placement_desk desk({});
  desk_decisions out;
  auto& placed = out.placed;
  std::vector<desk_query> batch = {query(5, 100, 7.5), query(7, 100, 7.7)};
  desk.offer(batch, 7.7, out);
  std::vector<desk_query> lost = {query(6, 100, 7.6), query(1, 100, 7.1)};
  desk.reoffer(lost, 7.8, out);
  REQUIRE(desk.add_worker(w1, tp4()));
  desk.retry(7.8, out);
  REQUIRE(placed.size() == 4);
  CHECK(placed[0].query.value == 1);
  CHECK(placed[1].query.value == 5);
  CHECK(placed[2].query.value == 6);
  CHECK(placed[3].query.value == 7);
}

TEST_CASE("placement desk: policies that need true output lengths are refused") {
  auto with = [](const char* policy) {
    desk_options o;
    o.policy = policy;
    return o;
  };
  CHECK_THROWS_AS(placement_desk(with("oracle")), std::invalid_argument);
  desk_options oracle = with("oracle");
  oracle.allow_true_lengths = true;  // the simulator's oracle
  CHECK_NOTHROW(placement_desk{oracle});
  CHECK_THROWS_AS(placement_desk(with("no-such-policy")), std::invalid_argument);
  CHECK_NOTHROW(placement_desk(with("jsq")));
}

TEST_CASE("placement desk: a query that can never fit is refused at once, not parked") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(w1, tp4(3000)));
  desk_decisions out;
  std::vector<desk_query> batch = {query(1, 5000), query(2, 100)};
  desk.offer(batch, 0, out);
  REQUIRE(out.refused.size() == 1);
  CHECK(out.refused[0].query.value == 1);
  CHECK(out.refused[0].scope == wait_scope::never_fits);
  CHECK(out.refused[0].reason == reject_reason::kv);
  REQUIRE(out.placed.size() == 1);
  CHECK(out.placed[0].query.value == 2);
  CHECK(desk.waiting() == 0);
  CHECK(desk.counters().never_fit == 1);
  // With no workers at all nothing is known yet: it waits for the fleet.
  placement_desk empty({});
  desk_decisions none;
  std::vector<desk_query> one = {query(3, 5000)};
  empty.offer(one, 0, none);
  CHECK(none.refused.empty());
  CHECK(empty.waiting() == 1);
}

TEST_CASE("placement desk: refusals are counted by the constraint that excluded the most workers") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(w1, tp4()));
  desk_decisions out;
  std::vector<desk_query> batch = {query(1, 100)};
  desk.offer(batch, 0, out);
  desk.first_token(w1, query_id{1}, 0.05);
  batch = {query(2, 100, 0.05, {2.0, 0.0001})};  // no decode iteration meets this ATGT
  desk.offer(batch, 0.05, out);
  CHECK(desk.counters().rejections == 1);
  CHECK(desk.counters().refused_atgt == 1);
  CHECK(desk.waiting() == 1);
}

TEST_CASE("placement desk: a heartbeat's progress is one update, and starts queries it lists as running") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(w1, tp4()));
  desk_decisions out;
  std::vector<desk_query> batch = {query(1, 100), query(2, 200)};
  desk.offer(batch, 0, out);
  REQUIRE(out.placed.size() == 2);
  CHECK(desk.cluster().summary(worker_slot{0}).running == 0);
  const std::vector<progress_report> hb = {{query_id{1}, 5}, {query_id{2}, 3}, {query_id{99}, 1}};
  desk.progress(w1, hb, 0.5);
  CHECK(desk.cluster().summary(worker_slot{0}).running == 2);
  CHECK(desk.outstanding(w1) == 2);
  desk.progress(worker_id{42}, hb, 0.5);  // an unknown worker changes nothing
  CHECK(desk.outstanding(worker_id{42}) == 0);
}

TEST_CASE("placement desk: a decode-only worker plans no prefill (split serving's decode pool)") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(w1, tp4(), worker_role::decode_only));
  REQUIRE(desk.add_worker(worker_id{2}, tp4()));
  const worker_slot decode{0}, unified{1};
  CHECK(desk.cluster().summary(decode).shape != desk.cluster().summary(unified).shape);
  CHECK(desk.cluster().summary(decode).prefill_one_s(4000) == 0);
  CHECK(desk.cluster().summary(unified).prefill_one_s(4000) > 0);
}

TEST_CASE("placement desk: outcomes of planned queries feed the loop; a removed worker's do not") {
  const auto run = [](bool remove_first) {
    placement_desk desk({});
    REQUIRE(desk.add_worker(w1, tp4()));
    desk_decisions out;
    const desk_query q = query(1, 500, 0, {2.0, 0.1});
    desk.offer({&q, 1}, 0, out);
    REQUIRE(out.placed.size() == 1);
    desk.first_token(w1, q.id, 0.2);
    if (remove_first) {
      desk.remove_worker(w1);
      REQUIRE(desk.add_worker(w1, tp4()));  // the same id back, a new incarnation
    }
    desk.completed(w1, q.id, 500, 11, 2.2);  // ATGT 0.2 s: a planned miss
    return desk.feedback().by_worker(w1);
  };
  const slo_error_counts judged = run(false);
  CHECK(judged.atgt_planned == 1);
  CHECK(judged.atgt_missed == 1);
  CHECK(judged.ttft_missed == 0);
  CHECK(run(true).atgt_planned == 0);
}
