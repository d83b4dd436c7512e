// The node's status snapshot (actors/node/node_status.hpp): built from the actors' counters,
// rendered as one screen of text and as JSON.

#include <doctest/doctest.h>

#include <string>

#include "actors/node/node_status.hpp"

using namespace aladdin;
using namespace aladdin::node;

namespace {

node_stats busy_node() {
  node_stats s;
  s.accepted = 120;
  s.rejected = 4;
  s.waiting = 3;
  s.plan = {7, 3};
  s.fleet = {3, 1, 2, 0};
  s.judged = 100;
  s.slo_met = 95;
  s.recent_judged = 100;
  s.recent_met = 95;
  s.worker_list.push_back({"local-1", "llama2-70b/a100-80gb/tp4", false, 6, 2, 25000.7, 100000});
  s.worker_list.push_back({"local-2", "llama2-70b/a100-80gb/tp4", true, 1, 0, 500, 100000});
  return s;
}

}  // namespace

TEST_CASE("node status: the snapshot carries the counters, the plan, the fleet and every worker") {
  const auto r = status_of(busy_node(), "node-a", "llama2-70b/a100-80gb/tp4", true, 42);
  CHECK(r.request_id == 42);
  CHECK(r.node_name == "node-a");
  CHECK(r.draining);
  CHECK(r.waiting_queries == 3);
  CHECK(r.plan_epoch == 7);
  CHECK(r.plan_target_workers == 3);
  CHECK(r.fleet_active == 2);
  CHECK(r.fleet_launching == 1);
  CHECK(r.accepted == 120);
  CHECK(r.recent_met == 95);
  REQUIRE(r.workers.size() == 2);
  CHECK(r.workers[0] == client_channel::worker_status{"local-1", "llama2-70b/a100-80gb/tp4", false, 6, 2, 25000, 100000});
  CHECK(r.workers[1].draining);
}

TEST_CASE("node status: one screen of text, and JSON with the same numbers") {
  const auto r = status_of(busy_node(), "node-a", "llama2-70b/a100-80gb/tp4", false);
  const std::string text = render_status_text(r);
  CHECK(text.find("node node-a (llama2-70b/a100-80gb/tp4)\n") != std::string::npos);
  CHECK(text.find("plan epoch 7: target 3 workers; fleet 2 active, 1 launching, 0 draining") != std::string::npos);
  CHECK(text.find("queries: 120 accepted, 4 rejected, 3 waiting for a worker") != std::string::npos);
  CHECK(text.find("attainment: 95.0% of the last 100 completed") != std::string::npos);
  CHECK(text.find("local-1") != std::string::npos);
  CHECK(text.find("25.0%") != std::string::npos);  // local-1's KV use
  CHECK(text.find("draining") != std::string::npos);
  CHECK(text.find("DRAINING") == std::string::npos);

  const std::string json = render_status_json(r);
  CHECK(json.find(R"("node":"node-a")") != std::string::npos);
  CHECK(json.find(R"("plan":{"epoch":7,"target_workers":3})") != std::string::npos);
  CHECK(json.find(R"("name":"local-2","shape":"llama2-70b/a100-80gb/tp4","state":"draining")") != std::string::npos);
  CHECK(json.find(R"("kv_used_tokens":25000)") != std::string::npos);
  CHECK(json.front() == '{');
  CHECK(json.back() == '}');

  client_channel::status_reply empty;
  CHECK(render_status_text(empty).find("no query completed yet") != std::string::npos);
  CHECK(render_status_text(empty).find("no worker registered") != std::string::npos);
}
