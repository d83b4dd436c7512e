// A control node over real ZeroMQ on loopback and real RocksDB in a temp dir, with a fake
// worker (tests/support/fake_worker.hpp) standing in for the emulated one.

#include <doctest/doctest.h>

#include "actors/caf/control_node.hpp"
#include "actors/loadgen/loadgen.hpp"
#include "actors/node/status_client.hpp"
#include "sim/ceiling.hpp"
#include "storage/rocksdb_store.hpp"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"
#include "tests/support/node_with_worker.hpp"
#include "trace/builtin_workload.hpp"

using namespace aladdin;
using namespace aladdin::test;

TEST_CASE("control node with a fake worker: every query of a replay finishes") {
  temp_dir dir("e2e");
  node_with_worker f(loopback_node(dir.str(), "fake-1"));
  auto& n = f.node;
  auto& w = *f.worker;

  // The built-in workload holds queries over Llama-2-70B's 4,096-token context: the intake
  // refuses those (over_context), and every other query finishes.
  const trace all = generate_builtin_trace(100, 0.5, arrival_process::poisson(), 7);
  std::size_t over = 0;
  const trace arrivals = sim::within_context(all, *find_model("llama2-70b"), &over);
  node::loadgen_options lo;
  lo.endpoint = n.client_endpoint();
  lo.drain_timeout_s = 10;
  const node::loadgen_report r = node::run_loadgen(lo, all);
  CHECK(r.sent == all.size());
  CHECK(r.rejected == over);
  CHECK((over == 0 || r.rejected_by.at("over_context") == over));
  CHECK(r.accepted == arrivals.size());
  CHECK(r.finished == arrivals.size());
  CHECK(r.lost == 0);
  CHECK(r.unanswered == 0);
  CHECK(w.assigned() == arrivals.size());
  // The worker was told each query's stop length, never asked to use it as a prediction.
  for (const auto& a : w.assignments()) CHECK(a.max_output_tokens > 0);
  const node::node_stats s = n.stats();
  CHECK(s.accepted == arrivals.size());
  CHECK(s.workers == 1);
  CHECK(s.plan.epoch >= 1);
  // /metrics counts what the clients heard, by outcome, and shows the worker.
  const std::string metrics = n.render_prometheus();
  const auto series = [&](const std::string& name) {
    const auto at = metrics.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(metrics.substr(at + name.size() + 2));
  };
  CHECK(series(R"(aladdin_queries_total{outcome="accepted",reason=""})") == static_cast<double>(arrivals.size()));
  CHECK(series(R"(aladdin_queries_total{outcome="finished",reason=""})") == static_cast<double>(arrivals.size()));
  CHECK((over == 0 || series(R"(aladdin_queries_total{outcome="rejected",reason="over_context"})") == static_cast<double>(over)));
  CHECK(series("aladdin_query_ttft_seconds_count") == static_cast<double>(arrivals.size()));
  CHECK(series("aladdin_journal_write_seconds_count") >= 1);
  CHECK(series("aladdin_placement_decision_seconds_count") >= 1);
  CHECK(series("aladdin_queries_judged_total") == static_cast<double>(arrivals.size()));
  CHECK(metrics.find(R"(aladdin_worker_kv_capacity_tokens{shape="llama2-70b/a100-80gb/tp4",worker="fake-1"})") != std::string::npos);
  // aladdin status asks the same node on its client channel.
  std::string error;
  const auto status = node::ask_status(n.client_endpoint(), std::chrono::seconds(10), &error);
  REQUIRE_MESSAGE(status.has_value(), error);
  CHECK(status->accepted == arrivals.size());
  CHECK(status->judged == arrivals.size());
  CHECK(status->plan_epoch >= 1);
  REQUIRE(status->workers.size() == 1);
  CHECK(status->workers[0].name == "fake-1");
  CHECK(status->workers[0].shape == "llama2-70b/a100-80gb/tp4");
  CHECK(status->workers[0].kv_capacity_tokens > 0);
  client_channel::status_reply direct = n.status();  // the front door's /status: the same snapshot
  direct.request_id = status->request_id;
  CHECK(*status == direct);
  w.stop();
  n.stop();

  // Everything that finished is in the journal as finished: nothing left unfinished.
  auto store = rocksdb_store::open({dir.path()});
  REQUIRE(store.ok());
  auto open = store.value()->unfinished();
  REQUIRE(open.ok());
  CHECK(open.value().empty());
}

TEST_CASE("control node with a fake worker: ended queries leave the journal after the retention") {
  temp_dir dir("compact");
  node::serve_options o = loopback_node(dir.str(), "fake-1");
  o.journal_retention_s = 0.2;  // compacted every second (the floor)
  node_with_worker f(o);
  auto& n = f.node;
  auto& w = *f.worker;
  const trace arrivals =
      sim::within_context(generate_builtin_trace(50, 0.2, arrival_process::poisson(), 9), *find_model("llama2-70b"), nullptr);
  node::loadgen_options lo;
  lo.endpoint = n.client_endpoint();
  const node::loadgen_report r = node::run_loadgen(lo, arrivals);
  REQUIRE(r.finished == arrivals.size());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  w.stop();
  n.stop();
  auto store = rocksdb_store::open({dir.path()});
  REQUIRE(store.ok());
  // Every query ended more than the retention ago: none is left, ended or not.
  for (std::uint64_t id = 1; id <= arrivals.size(); ++id)
    CHECK(store.value()->get_query(query_id{id}).code() == store_errc::not_found);
}
