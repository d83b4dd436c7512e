// A worker that stops heartbeating, over real ZeroMQ: its queries move or fail, none vanishes.

#include <doctest/doctest.h>

#include "actors/caf/control_node.hpp"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"
#include "tests/support/test_client.hpp"

using namespace aladdin;
using namespace aladdin::test;
using namespace std::chrono_literals;

TEST_CASE("control node with fake workers: queries of a worker that stops heartbeating are placed again") {
  temp_dir dir("loss");
  node::control_node n(loopback_node(dir.str(), "slow,fast"));  // heartbeat timeout 0.5 s
  n.start();
  fake_worker_options so;
  so.endpoint = n.worker_endpoint();
  so.name = "slow";
  so.first_token_after = std::chrono::hours(1);  // holds them, unstarted
  so.complete = false;
  fake_worker slow(so);
  slow.start();
  REQUIRE(eventually([&] { return slow.registered(); }));

  test_client c(n.client_endpoint(), "client-loss");
  for (std::uint64_t i = 0; i < 6; ++i) c.submit(i, 200);
  REQUIRE(c.receive_until([&] { return c.count<client_channel::query_accepted>() == 6; }, 10s));
  REQUIRE(eventually([&] { return slow.assigned() == 6; }));

  fake_worker_options fo = so;
  fo.name = "fast";
  fo.first_token_after = 1ms;
  fo.complete_after = 5ms;
  fo.complete = true;
  fake_worker fast(fo);
  fast.start();
  REQUIRE(eventually([&] { return fast.registered(); }));
  slow.stop();  // silent from now on

  REQUIRE(c.receive_until([&] { return c.count<client_channel::query_finished>() == 6; }, 10s));
  CHECK(fast.assigned() == 6);
  CHECK(c.count<client_channel::query_failed>() == 0);
}

TEST_CASE("control node with fake workers: started queries of a lost worker fail with workerLost") {
  temp_dir dir("loss2");
  node::control_node n(loopback_node(dir.str(), "only"));
  n.start();
  fake_worker_options o;
  o.endpoint = n.worker_endpoint();
  o.name = "only";
  o.first_token_after = 1ms;
  o.complete = false;
  fake_worker w(o);
  w.start();
  REQUIRE(eventually([&] { return w.registered(); }));
  test_client c(n.client_endpoint(), "client-loss2");
  for (std::uint64_t i = 0; i < 4; ++i) c.submit(i, 200);
  REQUIRE(c.receive_until([&] { return c.count<client_channel::first_token>() == 4; }, 10s));
  w.stop();
  REQUIRE(c.receive_until([&] { return c.count<client_channel::query_failed>() == 4; }, 10s));
  for (const auto& f : c.all<client_channel::query_failed>()) CHECK(f.reason == client_channel::failure_code::worker_lost);
}
