// A restarted node re-adopts what re-registered workers report and places the rest again.

#include <doctest/doctest.h>

#include "actors/node/worker_registry.hpp"
#include "tests/actor/actor_fixture.hpp"

using namespace aladdin;
using namespace aladdin::node;
namespace cc = aladdin::client_channel;
namespace wc = aladdin::worker_channel;
using aladdin::test::actor_fixture;

namespace {

journal_entry accepted(query_id id, const std::string& client) {
  journal_entry e;
  e.id = id;
  e.client_id = client;
  e.client_query_id = id.value * 10;
  e.model = "llama2-70b";
  e.prompt_tokens = 300;
  e.max_output_tokens = 50;
  e.ttft_slo_micros = 2'000'000;
  e.atgt_slo_micros = 100'000;
  e.accepted_micros = 1'700'000'000'000'000ULL;
  return e;
}

}  // namespace

TEST_CASE("actor recovery: reported queries are re-adopted, unreported ones placed again after the grace period") {
  actor_fixture f;  // adopt grace: 2 s
  // What the previous run left: worker w1, three queries dispatched to it, one never dispatched.
  const worker_id w = f.store.allocate_worker_id().value();
  worker_record rec{w, "w1", {"llama2-70b", "a100-80gb", 4}, "", worker_state::active, 1};
  REQUIRE(f.store.upsert_worker(rec).ok());
  std::vector<query_id> ids;
  for (int i = 0; i < 4; ++i) {
    const query_id q = f.store.next_query_id().value();
    REQUIRE(f.store.accept(accepted(q, "client-" + std::to_string(i))).ok());
    if (i < 3) REQUIRE(f.store.mark_dispatched(q, w).ok());
    ids.push_back(q);
  }
  f.spawn_core(recovery_book(f.store.unfinished().value()), f.store.list_workers().value());

  f.register_worker("w1");
  f.collect();
  REQUIRE(f.frames<wc::registered>().size() == 1);
  CHECK(f.frames<wc::registered>()[0].second.worker_id == w.value);  // same name, same id

  wc::heartbeat hb;
  hb.worker_id = w.value;
  hb.running.push_back({ids[0].value, 12});
  hb.waiting.push_back(ids[1].value);
  hb.waiting.push_back(999999);  // not ours: cancelled
  hb.waiting_count = 2;
  f.from_worker("w1", {hb});
  f.collect();
  CHECK(f.frames<wc::assign_query>().empty());  // adopted where they are, not sent again
  const auto cancels = f.frames<wc::cancel_query>();
  REQUIRE(cancels.size() == 1);
  CHECK(cancels[0].second.query_id == 999999);

  // The grace period ends (w1 keeps beating, listing what it holds): the two nobody reported
  // are placed (on w1, the only worker).
  hb.waiting.pop_back();
  hb.waiting_count = 1;
  for (int i = 0; i < 3; ++i) {
    f.advance(std::chrono::milliseconds(700));
    f.from_worker("w1", {hb});
  }
  f.collect();
  auto asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 2);
  CHECK(asg[0].second.query_id == ids[2].value);
  CHECK(asg[1].second.query_id == ids[3].value);

  // The adopted ones finish as usual and reach their clients.
  f.from_worker("w1", {wc::query_completed{ids[0].value, 50, 0}, wc::query_completed{ids[1].value, 50, 0}});
  f.collect();
  const auto fin = f.frames<cc::query_finished>();
  REQUIRE(fin.size() == 2);
  CHECK(fin[0].first == "client-0");
  CHECK(fin[1].first == "client-1");
  CHECK(f.store.get_query(ids[0]).value().state == journal_state::finished);
  CHECK(f.store.unfinished().value().size() == 2);
}

TEST_CASE("actor recovery: a completion that arrives before its worker re-registers still ends the query") {
  actor_fixture f;
  const worker_id w = f.store.allocate_worker_id().value();
  REQUIRE(f.store.upsert_worker({w, "w1", {"llama2-70b", "a100-80gb", 4}, "", worker_state::active, 1}).ok());
  const query_id q = f.store.next_query_id().value();
  REQUIRE(f.store.accept(accepted(q, "client-x")).ok());
  REQUIRE(f.store.mark_dispatched(q, w).ok());
  f.spawn_core(recovery_book(f.store.unfinished().value()), f.store.list_workers().value());
  caf::anon_send(f.placement, stray_batch{"peer-w1", {wc::query_completed{q.value, 42, 0}}});
  f.run();
  f.collect();
  const auto fin = f.frames<cc::query_finished>();
  REQUIRE(fin.size() == 1);
  CHECK(fin[0].first == "client-x");
  CHECK(f.store.get_query(q).value().state == journal_state::finished);
}

TEST_CASE("actor recovery: a completion right behind the heartbeat that re-adopts its query ends it once") {
  actor_fixture f;
  const worker_id w = f.store.allocate_worker_id().value();
  REQUIRE(f.store.upsert_worker({w, "w1", {"llama2-70b", "a100-80gb", 4}, "", worker_state::active, 1}).ok());
  const query_id q = f.store.next_query_id().value();
  REQUIRE(f.store.accept(accepted(q, "client-y")).ok());
  REQUIRE(f.store.mark_dispatched(q, w).ok());
  f.spawn_core(recovery_book(f.store.unfinished().value()), f.store.list_workers().value());
  f.register_worker("w1");
  wc::heartbeat hb;
  hb.worker_id = w.value;
  hb.running.push_back({q.value, 40});
  // One batch: the heartbeat (the adoption goes through placement) and the completion.
  f.from_worker("w1", {hb, wc::query_completed{q.value, 50, 0}});
  f.collect();
  const auto fin = f.frames<cc::query_finished>();
  REQUIRE(fin.size() == 1);
  CHECK(fin[0].first == "client-y");
  CHECK(f.store.get_query(q).value().state == journal_state::finished);
  CHECK(f.frames<wc::assign_query>().empty());
}

TEST_CASE("actor recovery: a worker that registers again on the same connection keeps its queries") {
  actor_fixture f;
  f.spawn_core();
  f.register_worker("w1");
  f.submit("c", 1, 300);
  f.collect();
  REQUIRE(f.frames<wc::assign_query>().size() == 1);
  const auto proxy = f.proxy_of("w1");
  f.register_worker("w1");  // a retry: the worker re-sends until answered
  f.collect();
  CHECK(f.frames<wc::registered>().size() == 1);
  CHECK(f.proxy_of("w1") == proxy);
  CHECK(f.frames<cc::query_failed>().empty());
  CHECK(f.frames<wc::assign_query>().empty());
}

TEST_CASE("actor recovery: a restarted node expects back the workers that were active or starting") {
  std::vector<worker_record> known(4);
  const worker_state states[] = {worker_state::active, worker_state::starting, worker_state::draining,
                                 worker_state::gone};
  for (std::size_t i = 0; i < known.size(); ++i) {
    known[i].id = worker_id{static_cast<std::uint32_t>(i)};
    known[i].name = "w" + std::to_string(i);
    known[i].state = states[i];
  }
  CHECK(expected_back(known) == std::vector<std::string>{"w0", "w1"});
}
