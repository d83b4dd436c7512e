// The placement desk alone (no actors): admission mirrors the fleet simulator.

#include <doctest/doctest.h>

#include <stdexcept>

#include "actors/node/placement_desk.hpp"
#include "model/builtin_profiles.hpp"

using namespace aladdin;
using namespace aladdin::node;

namespace {

worker_profile tp4(double kv_tokens = 0) {
  worker_profile p = *find_builtin_profile("llama2-70b", "a100-80gb", 4);
  if (kv_tokens > 0) p.kv.capacity_tokens = kv_tokens;
  return p;
}

ticket query(std::uint64_t id, std::uint32_t prompt, double arrival_s = 0, slo_target slo = {}) {
  ticket t;
  t.id = query_id{id};
  t.prompt_tokens = prompt;
  t.max_output_tokens = 7;
  t.arrival_s = arrival_s;
  t.slo = slo;
  return t;
}

}  // namespace

TEST_CASE("placement desk: a query no worker can take waits, first come first served, until capacity frees") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(11, tp4(3000)));
  std::vector<dispatch> placed;
  std::vector<ticket> batch = {query(1, 1500), query(2, 1500), query(3, 1500)};
  desk.offer(batch, 0, placed);
  REQUIRE(placed.size() == 1);
  CHECK(placed[0].worker == 11);
  CHECK(placed[0].query.id.value == 1);
  CHECK(desk.waiting() == 2);
  placed.clear();
  std::vector<ticket> expired;
  desk.retry(0.1, placed, expired);
  CHECK(placed.empty());  // nothing freed yet
  desk.first_token(11, query_id{1}, 0.2);
  desk.completed(11, query_id{1}, 1500, 40, 0.5);
  desk.retry(0.5, placed, expired);
  REQUIRE(placed.size() == 1);
  CHECK(placed[0].query.id.value == 2);  // the oldest first
  CHECK(desk.waiting() == 1);
  CHECK(desk.counters().waited == 2);
}

TEST_CASE("placement desk: past its TTFT SLO a waiting query is placed without the TTFT constraint") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(1, tp4()));
  std::vector<dispatch> placed;
  std::vector<ticket> expired;
  // Something runs, so the fleet is not idle (an idle fleet would take it best effort at once).
  std::vector<ticket> batch = {query(1, 100)};
  desk.offer(batch, 0, placed);
  REQUIRE(placed.size() == 1);
  desk.first_token(1, query_id{1}, 0.05);
  placed.clear();
  // A prompt whose prefill alone takes longer than a 0.2 s TTFT SLO: no worker can meet it.
  batch = {query(2, 8000, 0.05, {0.2, 0.1})};
  desk.offer(batch, 0.05, placed);
  CHECK(placed.empty());
  CHECK(desk.waiting() == 1);
  desk.retry(0.15, placed, expired);
  CHECK(placed.empty());
  desk.retry(0.3, placed, expired);  // its TTFT is lost: only the others' SLOs matter now
  REQUIRE(placed.size() == 1);
  CHECK(placed[0].query.id.value == 2);
  CHECK(desk.counters().forced == 0);
}

TEST_CASE("placement desk: an idle fleet takes the oldest waiting query best effort") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(1, tp4()));
  std::vector<dispatch> placed;
  std::vector<ticket> expired;
  // An ATGT no decode iteration can meet: refused everywhere, at any time.
  std::vector<ticket> batch = {query(1, 100, 0, {2.0, 0.0001}), query(2, 100, 0, {2.0, 0.0001})};
  desk.offer(batch, 0, placed);
  CHECK(placed.empty());
  desk.retry(0.1, placed, expired);
  REQUIRE(placed.size() == 1);  // one at a time
  CHECK(placed[0].query.id.value == 1);
  CHECK(desk.counters().forced == 1);
  placed.clear();
  desk.retry(0.2, placed, expired);  // the fleet is no longer idle
  CHECK(placed.empty());
}

TEST_CASE("placement desk: a query waiting past max_wait expires") {
  desk_options o;
  o.max_wait_s = 5;
  placement_desk desk(o);
  std::vector<dispatch> placed;
  std::vector<ticket> expired;
  std::vector<ticket> batch = {query(1, 100, 0), query(2, 100, 3)};
  desk.offer(batch, 3, placed);  // no workers at all
  desk.retry(5.5, placed, expired);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].id.value == 1);
  CHECK(desk.waiting() == 1);
}

TEST_CASE("placement desk: the engine's hint is the prediction, never the client's maxOutputTokens") {
  placement_desk desk({});
  REQUIRE(desk.add_worker(1, tp4()));
  std::vector<dispatch> placed;
  std::vector<ticket> batch = {query(1, 100)};
  desk.offer(batch, 0, placed);
  REQUIRE(placed.size() == 1);
  CHECK(placed[0].query.max_output_tokens == 7);   // carried through for the worker...
  CHECK(placed[0].output_hint != 7);               // ...but predicted independently
  CHECK(placed[0].output_hint == static_cast<std::uint32_t>(std::round(desk.predictor().predict(100).mean)));
}

TEST_CASE("placement desk: lost queries go back among the waiting in arrival order") {
  placement_desk desk({});
  std::vector<dispatch> placed;
  std::vector<ticket> batch = {query(5, 100, 7.5), query(7, 100, 7.7)};
  desk.offer(batch, 7.7, placed);
  std::vector<ticket> lost = {query(6, 100, 7.6), query(1, 100, 7.1)};
  desk.reoffer(lost, 7.8, placed);
  REQUIRE(desk.add_worker(1, tp4()));
  std::vector<ticket> expired;
  desk.retry(7.8, placed, expired);
  REQUIRE(placed.size() == 4);
  CHECK(placed[0].query.id.value == 1);
  CHECK(placed[1].query.id.value == 5);
  CHECK(placed[2].query.id.value == 6);
  CHECK(placed[3].query.id.value == 7);
}

TEST_CASE("placement desk: policies that need true output lengths are refused") {
  auto with = [](const char* policy) {
    desk_options o;
    o.policy = policy;
    return o;
  };
  CHECK_THROWS_AS(placement_desk(with("oracle")), std::invalid_argument);
  CHECK_THROWS_AS(placement_desk(with("no-such-policy")), std::invalid_argument);
  CHECK_NOTHROW(placement_desk(with("jsq")));
}
