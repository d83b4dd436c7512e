// Intake → placement → worker proxy, message by message, on the deterministic scheduler.

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "placement/decision_record.hpp"
#include "tests/actor/actor_fixture.hpp"
#include "tests/support/node_fixtures.hpp"

using namespace aladdin;
using namespace aladdin::node;
namespace cc = aladdin::client_channel;
namespace wc = aladdin::worker_channel;
using aladdin::test::actor_fixture;

TEST_CASE("actor flow: an accepted query is journaled, acknowledged, assigned and finished") {
  actor_fixture f;
  f.spawn_core();
  f.register_worker("w1");
  f.collect();
  const auto reg = f.frames<wc::registered>();
  REQUIRE(reg.size() == 1);
  CHECK(reg[0].first == "peer-w1");
  REQUIRE(f.proxy_of("w1"));

  f.submit("client-a", 7, 500, 120);
  f.collect();
  const auto acc = f.frames<cc::query_accepted>();
  REQUIRE(acc.size() == 1);
  CHECK(acc[0].first == "client-a");
  CHECK(acc[0].second.client_query_id == 7);
  const query_id q{acc[0].second.query_id};
  // Journaled before the reply, and dispatched before the assignment left.
  auto entry = f.store.get_query(q);
  REQUIRE(entry.ok());
  CHECK(entry.value().state == journal_state::dispatched);
  CHECK(entry.value().worker.value == reg[0].second.worker_id);
  CHECK(entry.value().client_id == "client-a");
  const auto asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 1);
  CHECK(asg[0].first == "peer-w1");
  CHECK(asg[0].second.query_id == q.value);
  CHECK(asg[0].second.prompt_tokens == 500);
  CHECK(asg[0].second.max_output_tokens == 120);  // forwarded to the worker...
  CHECK(asg[0].second.output_tokens_hint > 0);   // ...while placement predicted its own

  f.from_worker("w1", {wc::first_token{q.value, 0}, wc::query_completed{q.value, 120, 0}});
  f.collect();
  REQUIRE(f.frames<cc::first_token>().size() == 1);
  const auto fin = f.frames<cc::query_finished>();
  REQUIRE(fin.size() == 1);
  CHECK(fin[0].first == "client-a");
  CHECK(fin[0].second.output_tokens == 120);
  CHECK(f.store.get_query(q).value().state == journal_state::finished);
  // A duplicate completion ends nothing twice.
  f.from_worker("w1", {wc::query_completed{q.value, 120, 0}});
  f.collect();
  CHECK(f.frames<cc::query_finished>().empty());
}

TEST_CASE("actor flow: the intake refuses what it must, with reasons, and journals none of it") {
  actor_fixture f;
  f.spawn_core();
  f.register_worker("w1");
  f.collect();
  f.submit("c", 1, 0);                       // no prompt
  f.submit("c", 2, 100'000'000);             // above the prompt limit
  f.submit("c", 3, 10);
  f.collect();
  auto rej = f.frames<cc::query_rejected>();
  REQUIRE(rej.size() == 2);
  CHECK(rej[0].second.reason == cc::reject_code::invalid);
  CHECK(rej[1].second.reason == cc::reject_code::invalid);
  CHECK(f.frames<cc::query_accepted>().size() == 1);

  submit_batch wrong_model;
  wrong_model.items.push_back({"c", {4, 10, 10, 0, 0, "bloom-176b"}, {}});
  caf::anon_send(f.intake, std::move(wrong_model));
  f.run();
  intake_limits small_kv = f.limits;
  small_kv.kv_capacity_tokens = 1000;
  f.submit_to(f.spawn_intake(small_kv), "c", 5, 5000);  // can never fit a worker's KV cache
  f.shared.waiting.store(1'000'000);
  f.submit("c", 6, 10);                      // backlog above --max-waiting
  f.shared.waiting.store(0);
  f.shared.draining.store(true);
  f.submit("c", 7, 10);
  f.collect();
  rej = f.frames<cc::query_rejected>();
  REQUIRE(rej.size() == 4);
  CHECK(rej[0].second.reason == cc::reject_code::invalid);
  CHECK(rej[1].second.reason == cc::reject_code::kv);
  CHECK(rej[2].second.reason == cc::reject_code::overloaded);
  CHECK(rej[3].second.reason == cc::reject_code::draining);
  CHECK(f.store.unfinished().value().size() == 1);  // only query 3
}

TEST_CASE("actor flow: queries wait at the intake without workers and are placed when one registers") {
  actor_fixture f;
  f.spawn_core();
  f.submit("c", 1, 300);
  f.submit("c", 2, 300);
  f.collect();
  CHECK(f.frames<cc::query_accepted>().size() == 2);
  CHECK(f.frames<wc::assign_query>().empty());
  CHECK(f.shared.waiting.load() == 2);
  f.register_worker("w1");
  f.collect();
  const auto asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 2);
  CHECK(asg[0].second.query_id < asg[1].second.query_id);  // first come, first served
  CHECK(f.shared.waiting.load() == 0);
}

TEST_CASE("actor flow: a query that waits past --max-wait fails with deadlineExceeded") {
  actor_fixture f;
  f.placement_options.desk.max_wait_s = 3;
  f.spawn_core();
  f.submit("c", 1, 300);
  f.collect();
  const query_id q{f.frames<cc::query_accepted>().at(0).second.query_id};
  f.advance(std::chrono::milliseconds(2000));
  f.collect();
  CHECK(f.frames<cc::query_failed>().empty());
  f.advance(std::chrono::milliseconds(1500));
  f.collect();
  const auto failed = f.frames<cc::query_failed>();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].second.reason == cc::failure_code::deadline_exceeded);
  CHECK(f.store.get_query(q).value().state == journal_state::failed);
}

TEST_CASE("actor flow: intake and placement answer stats with named counts, refusals by constraint") {
  actor_fixture f;
  f.spawn_core();
  f.submit("c", 1, 300);
  f.submit("c", 2, 300);
  f.submit("c", 3, 0);  // invalid
  const auto in = f.stats_of<intake_stats>(f.intake);
  CHECK(in.accepted == 2);
  CHECK(in.rejected == 1);
  auto p = f.stats_of<placement_stats>(f.placement);
  CHECK(p.waiting == 2);
  CHECK(p.waited == 2);
  CHECK(p.workers == 0);
  CHECK(p.placed == 0);
  CHECK(p.refused_no_workers == 2);  // nobody to take them: neither memory nor compute is short
  CHECK(p.rejections == 2);

  // A worker with little memory: the two fit it, a prompt larger than its KV cache never will.
  f.register_worker("w1", 4000);
  p = f.stats_of<placement_stats>(f.placement);
  CHECK(p.placed == 2);
  CHECK(p.waiting == 0);
  CHECK(p.workers == 1);
  f.submit("c", 4, 5000);
  f.collect();
  const auto failed = f.frames<cc::query_failed>();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].second.reason == cc::failure_code::unschedulable);
  p = f.stats_of<placement_stats>(f.placement);
  CHECK(p.never_fit == 1);
  CHECK(p.refused_kv == 1);  // memory, not compute
  CHECK(p.refused_ttft + p.refused_atgt == 0);
  CHECK(p.expired == 0);
}

TEST_CASE("actor flow: --decisions writes a row per placement once it ends, with the prediction and the outcome") {
  aladdin::test::temp_dir dir("decisions");
  const std::string path = dir.str() + "/decisions.csv";
  actor_fixture f;
  f.placement_options.decisions_path = path;
  f.placement_options.desk.record_predictions = true;
  f.spawn_core();
  f.register_worker("w1");
  f.submit("client-a", 1, 500, 120);
  f.submit("client-a", 2, 300, 50);
  f.collect();
  const auto asg = f.frames<wc::assign_query>();
  REQUIRE(asg.size() == 2);
  const std::uint64_t done = asg[0].second.query_id, lost = asg[1].second.query_id;
  f.from_worker("w1", {wc::first_token{done, 0}, wc::query_completed{done, 120, 0}});
  // The other is refused by the engine: its placement ends without an outcome.
  f.from_worker("w1", {wc::engine_rejected{lost, wc::engine_reject_code::invalid, "nope"}});
  f.collect();

  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] + "\n" == decisions_csv_header());
  const auto row_of = [&](std::uint64_t q) {
    for (const auto& l : lines)
      if (l.rfind(std::to_string(q) + ",", 0) == 0) return l;
    return std::string();
  };
  const std::string finished = row_of(done), ended = row_of(lost);
  REQUIRE(!finished.empty());
  REQUIRE(!ended.empty());
  // query,arrival,prompt,output,slo_ttft,slo_atgt,decision,worker,...
  CHECK(finished.find(",500,120,") != std::string::npos);
  CHECK(finished.find(",planned,") != std::string::npos);
  CHECK(finished.substr(finished.rfind(',') + 1) == "1");  // met both SLOs
  CHECK(ended.find(",300,-1,") != std::string::npos);        // no outcome to learn from
  CHECK(ended.find(",-1.000000,-1.000000,") != std::string::npos);  // no first token, no finish
}
