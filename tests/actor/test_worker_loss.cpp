// Loss detection by missed heartbeats, in virtual time.

#include <doctest/doctest.h>

#include "tests/actor/actor_fixture.hpp"

using namespace aladdin;
using namespace aladdin::node;
namespace cc = aladdin::client_channel;
namespace wc = aladdin::worker_channel;
using aladdin::test::actor_fixture;

namespace {

wc::heartbeat beat(std::uint32_t id = 0) {
  wc::heartbeat hb;
  hb.worker_id = id;
  return hb;
}

}  // namespace

TEST_CASE("actor loss: a worker that stops heartbeating is lost, its started query fails, the other moves") {
  actor_fixture f;  // heartbeat timeout: 1 s
  f.spawn_core();
  f.register_worker("w1");
  f.submit("c", 1, 400);
  f.submit("c", 2, 400);
  f.collect();
  auto asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 2);
  CHECK(asg[0].first == "peer-w1");
  CHECK(asg[1].first == "peer-w1");
  const std::uint64_t started = asg[0].second.query_id, waiting = asg[1].second.query_id;
  f.from_worker("w1", {wc::first_token{started, 0}});
  f.register_worker("w2");
  f.collect();

  // w2 keeps beating, w1 falls silent.
  for (int i = 0; i < 3; ++i) {
    f.advance(std::chrono::milliseconds(400));
    f.from_worker("w2", {beat()});
  }
  f.collect();
  CHECK(!f.proxy_of("w1"));  // out of the directory: its messages now get unknownWorker
  REQUIRE(f.proxy_of("w2"));
  const auto failed = f.frames<cc::query_failed>();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].second.query_id == started);
  CHECK(failed[0].second.reason == cc::failure_code::worker_lost);
  CHECK(f.store.get_query(query_id{started}).value().state == journal_state::failed);
  asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 1);
  CHECK(asg[0].first == "peer-w2");
  CHECK(asg[0].second.query_id == waiting);
  const auto moved = f.store.get_query(query_id{waiting}).value();
  CHECK(moved.state == journal_state::dispatched);
  CHECK(moved.worker.value != 0);
  CHECK(f.store.get_worker(moved.worker).value().name == "w2");

  // w2 has kept every heartbeat deadline: still alive after more of them.
  for (int i = 0; i < 5; ++i) {
    f.advance(std::chrono::milliseconds(600));
    f.from_worker("w2", {beat()});
  }
  CHECK(f.proxy_of("w2"));
}

TEST_CASE("actor loss: an assignment the worker never reports is placed again") {
  actor_fixture f;
  f.spawn_core();
  f.register_worker("w1");
  f.register_worker("w2");
  f.submit("c", 1, 400);
  f.collect();
  auto asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 1);
  const std::string first = asg[0].first == "peer-w1" ? "w1" : "w2";
  const std::string other = first == "w1" ? "w2" : "w1";
  // Two complete heartbeats from its worker that do not list it: lost on the way.
  f.from_worker(first, {beat()});
  f.from_worker(other, {beat()});
  f.collect();
  CHECK(f.frames<wc::assign_query>().empty());
  f.from_worker(first, {beat()});
  f.collect();
  asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 1);
  CHECK(asg[0].second.query_id == f.store.unfinished().value().at(0).id.value);
  CHECK(f.frames<cc::query_failed>().empty());
}

TEST_CASE("actor loss: a stream the engine broke before the first token is placed again; after it, it fails") {
  actor_fixture f;
  f.spawn_core();
  f.register_worker("w1");
  f.submit("c", 1, 400);
  f.submit("c", 2, 400);
  f.collect();
  auto asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 2);
  const std::uint64_t started = asg[0].second.query_id, waiting = asg[1].second.query_id;
  f.from_worker("w1", {wc::first_token{started, 0}});
  f.collect();
  f.from_worker("w1", {wc::engine_rejected{waiting, wc::engine_reject_code::stream_broken, "reset"},
                       wc::engine_rejected{started, wc::engine_reject_code::stream_broken, "reset"}});
  f.collect();
  // The one that had not started is dispatched again (the worker is alive: it may be the same);
  // the started one fails, its client told why.
  asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 1);
  CHECK(asg[0].second.query_id == waiting);
  CHECK(f.store.get_query(query_id{waiting}).value().state == journal_state::dispatched);
  const auto failed = f.frames<cc::query_failed>();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].second.query_id == started);
  CHECK(failed[0].second.detail.find("after the first token") != std::string::npos);
  CHECK(f.store.get_query(query_id{started}).value().state == journal_state::failed);
  // Broken again and again: after max_placements dispatches it fails too, not forever.
  for (int k = 0; k < 5; ++k) {
    f.from_worker("w1", {wc::engine_rejected{waiting, wc::engine_reject_code::stream_broken, "reset"}});
    f.collect();
  }
  CHECK(f.store.get_query(query_id{waiting}).value().state == journal_state::failed);
}
