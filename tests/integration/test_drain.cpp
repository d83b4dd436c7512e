// Graceful drain (control_node::begin_drain / wait_drained / fail_in_flight, and `aladdin serve`
// on SIGTERM): intake closes with queryRejected{draining}, running queries finish, and what is
// left when --shutdown-timeout passes fails explicitly (shuttingDown), its clients told, its
// workers told to cancel. Every wait is on the event itself, with a generous bound.

#include <doctest/doctest.h>

#include <zmq.hpp>

#include <fstream>
#include <future>

#include "actors/caf/control_node.hpp"
#include "actors/node/process_launcher.hpp"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"
#include "tests/support/node_with_worker.hpp"
#include "tests/support/test_client.hpp"

using namespace aladdin;
using namespace aladdin::test;
using namespace std::chrono_literals;
namespace cc = aladdin::client_channel;

namespace {

fake_worker_options holding_worker() {
  fake_worker_options wo;
  wo.complete = false;  // holds every query until set_completing(true)
  return wo;
}

std::size_t rejected_draining(const test_client& c) {
  std::size_t n = 0;
  for (const auto& r : c.all<cc::query_rejected>()) n += r.reason == cc::reject_code::draining;
  return n;
}

}  // namespace

TEST_CASE("graceful drain: new queries are refused draining, running ones finish, then the node is drained") {
  temp_dir dir("drain-finish");
  node_with_worker f(loopback_node(dir.str(), "fake-1"), holding_worker());
  auto& n = f.node;
  test_client c(n.client_endpoint(), "drain-client");
  for (std::uint64_t i = 0; i < 3; ++i) c.submit(i, 200);
  REQUIRE(c.receive_until([&] { return c.count<cc::query_accepted>() == 3; }, 15s));
  REQUIRE(eventually([&] { return f.worker->holding().size() == 3; }, 15s));
  CHECK(n.in_flight() == 3);
  CHECK_FALSE(n.draining());

  n.begin_drain();
  CHECK(n.draining());
  CHECK(n.render_prometheus().find("\naladdin_draining 1\n") != std::string::npos);
  c.submit(99, 200);
  REQUIRE(c.receive_until([&] { return rejected_draining(c) == 1; }, 15s));
  CHECK(c.count<cc::query_accepted>() == 3);  // the late one was never accepted

  // The drain waits on the queries' ends: started before they can end, it returns when they do.
  auto drained = std::async(std::launch::async, [&] { return n.wait_drained(60); });
  f.worker->set_completing(true);
  CHECK(drained.get());
  CHECK(n.in_flight() == 0);
  REQUIRE(c.receive_until([&] { return c.count<cc::query_finished>() == 3; }, 15s));
  CHECK(c.count<cc::query_failed>() == 0);
  CHECK(n.fail_in_flight() == 0);  // nothing is left to fail
}

TEST_CASE("graceful drain: past the timeout the rest fail shuttingDown, clients told, workers told to cancel") {
  temp_dir dir("drain-abort");
  node_with_worker f(loopback_node(dir.str(), "fake-1"), holding_worker());
  auto& n = f.node;
  test_client c(n.client_endpoint(), "drain-client");
  for (std::uint64_t i = 0; i < 4; ++i) c.submit(i, 200);
  REQUIRE(c.receive_until([&] { return c.count<cc::query_accepted>() == 4; }, 15s));
  REQUIRE(eventually([&] { return f.worker->holding().size() == 4; }, 15s));

  n.begin_drain();
  CHECK_FALSE(n.wait_drained(0.05));  // the worker holds them: they cannot end
  CHECK(n.fail_in_flight() == 4);
  CHECK(n.in_flight() == 0);
  REQUIRE(c.receive_until([&] { return c.count<cc::query_failed>() == 4; }, 15s));
  for (const auto& q : c.all<cc::query_failed>()) CHECK(q.reason == cc::failure_code::shutting_down);
  CHECK(eventually([&] { return f.worker->cancelled() == 4; }, 15s));
  // A completion that comes after the failure does not end them twice.
  f.worker->set_completing(true);
  c.receive_until([] { return false; }, 300ms);
  CHECK(c.count<cc::query_finished>() == 0);
  CHECK(c.count<cc::query_failed>() == 4);
  CHECK(n.render_prometheus().find(R"(aladdin_queries_total{outcome="failed",reason="shutting_down"} 4)") != std::string::npos);
}

TEST_CASE("aladdin serve on SIGTERM: a query longer than --shutdown-timeout fails shuttingDown, and serve exits 0") {
  temp_dir dir("drain-serve");
  node::spawn_spec spec;
  spec.program = ALADDIN_BINARY;
  // One emulated worker (the local provisioner starts `aladdin worker --emulate`), real time.
  spec.args = {"serve", "--data-dir", dir.str() + "/state", "--listen", "tcp://127.0.0.1:0", "--worker-listen",
               "tcp://127.0.0.1:0", "--provisioner", "local", "--workers", "1", "--min-workers", "1",
               "--shutdown-timeout", "1s", "--log-level", "info", "--log-format", "json"};
  spec.pipe_stdout = true;
  spec.log_file = dir.str() + "/node.log";
  auto node = node::child_process::spawn(spec);
  const auto ready = node.read_line(30s);
  REQUIRE(ready.has_value());
  const auto at = ready->find("client=") + 7;
  const std::string client_ep = ready->substr(at, ready->find(' ', at) - at);
  test_client c(client_ep, "drain-serve-client");
  // About 4,000 tokens at a real GPU's pace: minutes, far longer than the 1 s the drain gives it.
  c.submit(1, 90, 4000);
  REQUIRE(c.receive_until([&] { return c.count<cc::first_token>() == 1; }, 60s));
  node.terminate();
  REQUIRE(c.receive_until([&] { return c.count<cc::query_failed>() == 1; }, 60s));
  CHECK(c.all<cc::query_failed>().front().reason == cc::failure_code::shutting_down);
  const auto status = node.wait_for(60s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(c.count<cc::query_finished>() == 0);
  // Its log is JSON lines, the drain in them.
  std::ifstream log(dir.str() + "/node.log");
  std::string line;
  int lines = 0;
  bool drained = false;
  while (std::getline(log, line)) {
    ++lines;
    CHECK_MESSAGE(line.rfind(R"({"ts":")", 0) == 0, line);
    CHECK(line.back() == '}');
    drained = drained || line.find(R"x("level":"warn","process":"serve","msg":"--shutdown-timeout 1 s passed: 1 queries failed (shuttingDown)")x") != std::string::npos;
  }
  CHECK(lines > 3);
  CHECK(drained);
}
