// The control node with the real emulated workers (`aladdin worker --emulate`, started by the
// local provisioner). These tests run only when the aladdin binary has the worker command;
// otherwise they say so and pass (the fake-worker tests cover the node alone).

#include <doctest/doctest.h>

#include <signal.h>

#include <fstream>
#include <regex>
#include <set>

#include <zmq.hpp>

#include "actors/caf/control_node.hpp"
#include "actors/loadgen/loadgen.hpp"
#include "actors/node/process_launcher.hpp"
#include "storage/rocksdb_store.hpp"
#include "tests/support/node_fixtures.hpp"
#include "tests/support/test_client.hpp"
#include "trace/builtin_workload.hpp"

using namespace aladdin;
using namespace aladdin::test;
using namespace std::chrono_literals;

namespace {

int free_port() {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::router);
  s.set(zmq::sockopt::linger, 0);
  s.bind("tcp://127.0.0.1:*");
  const std::string ep = s.get(zmq::sockopt::last_endpoint);
  return std::stoi(ep.substr(ep.rfind(':') + 1));
}

// Worker processes a killed node started: no longer anybody's children, so killed by pid (from
// the node's log) if they outlive the test.
struct orphan_guard {
  std::string log;
  ~orphan_guard() {
    std::ifstream in(log);
    const std::regex started(R"(started worker \S+ \(pid (\d+)\))");
    std::string line;
    std::smatch m;
    while (std::getline(in, line))
      if (std::regex_search(line, m, started)) ::kill(std::stoi(m[1]), SIGKILL);
  }
};

}  // namespace

TEST_CASE("control node with emulated workers: a replay through the local provisioner loses nothing") {
  temp_dir dir("emulated");
  node::serve_options o = loopback_node(dir.str(), "");
  o.provisioner = node::provisioner_kind::local;
  o.workers = 2;
  o.worker_command = ALADDIN_BINARY;
  o.time_scale = 20;
  o.heartbeat_timeout_s = 2;
  node::control_node n(o);
  n.start();
  REQUIRE(eventually([&] { return n.stats().workers == 2; }, 30s));

  const trace arrivals = generate_builtin_trace(2.0, 100, arrival_process::poisson(), 3);
  node::loadgen_options lo;
  lo.endpoint = n.client_endpoint();
  lo.time_scale = o.time_scale;
  lo.drain_timeout_s = 30;
  const node::loadgen_report r = node::run_loadgen(lo, arrivals);
  MESSAGE(r.text());
  CHECK(r.sent == arrivals.size());
  CHECK(r.lost == 0);
  CHECK(r.unanswered == 0);
  CHECK(r.finished + r.failed == r.accepted);
  CHECK(r.finished > 0);
  n.stop();
}

TEST_CASE("aladdin worker without --emulate is the emulated worker, the default engine") {
  temp_dir dir("emulated-default");
  node::serve_options o = loopback_node(dir.str(), "plain-1");
  o.time_scale = 20;  // the worker's: another would be refused at registration
  node::control_node n(o);
  n.start();
  node::spawn_spec spec;
  spec.program = ALADDIN_BINARY;
  spec.args = {"worker", "--connect", n.worker_endpoint(), "--name", "plain-1", "--time-scale", "20"};
  spec.log_file = dir.str() + "/plain-1.log";
  auto worker = node::child_process::spawn(spec);
  CHECK(eventually([&] { return n.stats().workers == 1; }, 30s));
  worker.stop(5s);
  n.stop();
}

TEST_CASE("control node killed with SIGKILL: its emulated workers carry on and are re-adopted by the restarted node") {
  temp_dir dir("emulated-crash");
  const std::string data = (dir.path() / "state").string();
  const std::string client_ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  const std::string worker_ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  const std::string log = dir.str() + "/node.log";
  orphan_guard guard{log};
  auto start = [&] {
    node::spawn_spec spec;
    spec.program = ALADDIN_BINARY;
    spec.args = {"serve", "--data-dir", data, "--listen", client_ep, "--worker-listen", worker_ep,
                 "--provisioner", "local", "--workers", "2", "--time-scale", "10",
                 "--heartbeat-timeout", "2s", "--adopt-grace", "2s", "--log", "info"};
    spec.pipe_stdout = true;
    spec.log_file = log;
    auto child = node::child_process::spawn(spec);
    REQUIRE(child.read_line(15s).has_value());
    return child;
  };
  auto node = start();
  test_client c(client_ep, "emulated-crash-client");
  // Long enough outputs that most are still running when the node dies.
  const std::uint64_t n = 24;
  for (std::uint64_t i = 0; i < n; ++i) c.submit(i, 400, 300);
  REQUIRE(c.receive_until([&] { return c.count<client_channel::query_accepted>() + c.count<client_channel::query_rejected>() == n; }, 30s));
  std::set<std::uint64_t> accepted;
  for (const auto& a : c.all<client_channel::query_accepted>()) accepted.insert(a.query_id);
  REQUIRE(!accepted.empty());
  c.receive_until([] { return false; }, 500ms);

  node.kill();
  REQUIRE(node.wait_for(5s).has_value());
  auto again = start();
  auto ended = [&] {
    std::set<std::uint64_t> e;
    for (const auto& f : c.all<client_channel::query_finished>()) e.insert(f.query_id);
    for (const auto& f : c.all<client_channel::query_failed>()) e.insert(f.query_id);
    return e;
  };
  REQUIRE(c.receive_until([&] { return ended().size() == accepted.size(); }, 60s));
  CHECK(ended() == accepted);
  MESSAGE(c.count<client_channel::query_finished>() << " finished, " << c.count<client_channel::query_failed>() << " failed");
  again.stop(10s);
  auto store = rocksdb_store::open({data});
  REQUIRE(store.ok());
  CHECK(store.value()->unfinished().value().empty());
}
