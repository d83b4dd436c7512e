// The control node as a child process, killed with SIGKILL mid-run and restarted on the same
// data directory and ports: every query it accepted ends with an outcome at its client (re-
// adopted from the worker that still runs it, or placed again), none vanishes.

#include <doctest/doctest.h>

#include <zmq.hpp>

#include <set>

#include "actors/node/process_launcher.hpp"
#include "storage/rocksdb_store.hpp"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"
#include "tests/support/test_client.hpp"

using namespace aladdin;
using namespace aladdin::test;
using namespace std::chrono_literals;

namespace {

// A port free right now on loopback (the node must come back on the same one).
int free_port() {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::router);
  s.set(zmq::sockopt::linger, 0);
  s.bind("tcp://127.0.0.1:*");
  const std::string ep = s.get(zmq::sockopt::last_endpoint);
  return std::stoi(ep.substr(ep.rfind(':') + 1));
}

node::child_process start_node(const std::string& dir, const std::string& client_ep, const std::string& worker_ep,
                               const std::string& workers = "crash-worker", const std::string& durability = "wal") {
  node::spawn_spec spec;
  spec.program = ALADDIN_BINARY;
  spec.args = {"serve", "--data-dir", dir, "--listen", client_ep, "--worker-listen", worker_ep,
               "--provisioner", "static", "--static-workers", workers, "--log", "warn",
               "--heartbeat-timeout", "2s", "--adopt-grace", "1s", "--retry-interval", "20ms",
               "--durability", durability};
  spec.pipe_stdout = true;
  spec.log_file = dir + "-node.log";
  auto child = node::child_process::spawn(spec);
  const auto line = child.read_line(15s);
  REQUIRE_MESSAGE(line.has_value(), "the node did not report ready");
  CHECK(line->rfind("ready ", 0) == 0);
  return child;
}

std::set<std::uint64_t> outcomes(const test_client& c) {
  std::set<std::uint64_t> ended;
  for (const auto& f : c.all<client_channel::query_finished>()) ended.insert(f.query_id);
  for (const auto& f : c.all<client_channel::query_failed>()) ended.insert(f.query_id);
  return ended;
}

}  // namespace

TEST_CASE("control node killed with SIGKILL and restarted: its worker's queries are re-adopted, none vanishes") {
  // At both levels that keep a journal (group commit: the WAL alone, or fsynced per group).
  std::string durability = "wal";
  SUBCASE("wal") { durability = "wal"; }
  SUBCASE("fsync") { durability = "fsync"; }
  CAPTURE(durability);
  temp_dir dir("crash");
  const std::string data = (dir.path() / "state").string();
  const std::string client_ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  const std::string worker_ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  auto node = start_node(data, client_ep, worker_ep, "crash-worker", durability);

  fake_worker_options wo;
  wo.endpoint = worker_ep;
  wo.name = "crash-worker";
  wo.first_token_after = 20ms;
  wo.complete_after = 1500ms;  // many are still running when the node dies
  fake_worker w(wo);
  w.start();
  REQUIRE(eventually([&] { return w.registered(); }, 15s));

  test_client c(client_ep, "crash-client");
  const std::uint64_t n = 30;
  for (std::uint64_t i = 0; i < n; ++i) c.submit(i, 200);
  REQUIRE(c.receive_until([&] { return c.count<client_channel::query_accepted>() == n; }, 15s));
  std::set<std::uint64_t> accepted;
  for (const auto& a : c.all<client_channel::query_accepted>()) accepted.insert(a.query_id);
  REQUIRE(eventually([&] { return w.assigned() == n; }, 10s));

  node.kill();
  REQUIRE(node.wait_for(5s).has_value());
  const std::size_t done_before = c.count<client_channel::query_finished>();
  std::this_thread::sleep_for(300ms);  // some complete while no node listens
  auto again = start_node(data, client_ep, worker_ep, "crash-worker", durability);

  REQUIRE(c.receive_until([&] { return outcomes(c).size() == n; }, 30s));
  CHECK(outcomes(c) == accepted);
  CHECK(w.assigned() == n);  // adopted where they ran: none was sent twice
  MESSAGE(done_before << " finished before the kill, " << c.count<client_channel::query_finished>() << " in all, "
                      << c.count<client_channel::query_failed>() << " failed; the worker registered "
                      << w.registrations() << " times");
  CHECK(w.registrations() >= 2);  // it came back to the new node

  again.stop(5s);
  w.stop();
  // The journal agrees: nothing accepted is left unfinished.
  auto store = rocksdb_store::open({data});
  REQUIRE(store.ok());
  CHECK(store.value()->unfinished().value().empty());
}

TEST_CASE("control node killed with SIGKILL and restarted: queries of a worker that never returns are placed again") {
  temp_dir dir("crash2");
  const std::string data = (dir.path() / "state").string();
  const std::string client_ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  const std::string worker_ep = "tcp://127.0.0.1:" + std::to_string(free_port());
  auto node = start_node(data, client_ep, worker_ep, "doomed,rescuer");

  fake_worker_options wo;
  wo.endpoint = worker_ep;
  wo.name = "doomed";
  wo.complete = false;
  fake_worker doomed(wo);
  doomed.start();
  REQUIRE(eventually([&] { return doomed.registered(); }, 15s));
  test_client c(client_ep, "crash-client-2");
  const std::uint64_t n = 12;
  for (std::uint64_t i = 0; i < n; ++i) c.submit(i, 200);
  REQUIRE(c.receive_until([&] { return c.count<client_channel::query_accepted>() == n; }, 15s));
  REQUIRE(eventually([&] { return doomed.assigned() == n; }, 10s));

  // The node and the worker die together; another worker joins the restarted node.
  node.kill();
  REQUIRE(node.wait_for(5s).has_value());
  doomed.stop();
  auto again = start_node(data, client_ep, worker_ep, "doomed,rescuer");
  wo.name = "rescuer";
  wo.complete = true;
  wo.complete_after = 10ms;
  fake_worker rescuer(wo);
  rescuer.start();

  REQUIRE(c.receive_until([&] { return outcomes(c).size() == n; }, 30s));
  CHECK(c.count<client_channel::query_finished>() == n);
  CHECK(rescuer.assigned() == n);
  again.stop(5s);
  rescuer.stop();
  auto store = rocksdb_store::open({data});
  REQUIRE(store.ok());
  CHECK(store.value()->unfinished().value().empty());
}
