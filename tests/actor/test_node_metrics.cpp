// The node's metrics (actors/node/node_metrics.hpp): what frames and snapshots become in the
// Prometheus text exposition, and the Grafana dashboard against the names exported.

#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "actors/node/node_metrics.hpp"

using namespace aladdin;
using namespace aladdin::node;
namespace cc = aladdin::client_channel;

namespace {

// The value of the series `series` (name and labels exactly as exposed), or -1 if absent.
double value_of(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

outbound_frame to_client(cc::message m) { return outbound_frame::client("c1", std::move(m)); }

}  // namespace

TEST_CASE("node metrics: client replies become outcomes by reason and latency histograms") {
  node_metrics m;
  recording_outbox inner;
  observing_outbox out(inner, m);
  out.post(to_client(cc::query_accepted{1, 10}));
  out.post(to_client(cc::query_accepted{2, 11}));
  std::vector<outbound_frame> batch = {to_client(cc::query_rejected{3, cc::reject_code::over_context, "long"}),
                                       to_client(cc::query_rejected{4, cc::reject_code::draining, ""}),
                                       to_client(cc::query_rejected{5, cc::reject_code::over_context, ""}),
                                       to_client(cc::query_failed{11, cc::failure_code::worker_lost, ""}),
                                       // ttft 0.3 s, atgt 50 ms over 11 tokens: end to end 0.3 + 10 x 0.05
                                       to_client(cc::query_finished{10, 11, 300000, 50000}),
                                       outbound_frame::worker("w1", worker_channel::cancel_query{10})};
  out.post_all(batch);
  CHECK(inner.take().size() == 8);  // every frame goes on, counted or not

  const std::string text = m.render(node_stats{}, "llama2-70b/a100-80gb/tp4", false);
  CHECK(value_of(text, R"(aladdin_queries_total{outcome="accepted",reason=""})") == 2);
  CHECK(value_of(text, R"(aladdin_queries_total{outcome="rejected",reason="over_context"})") == 2);
  CHECK(value_of(text, R"(aladdin_queries_total{outcome="rejected",reason="draining"})") == 1);
  CHECK(value_of(text, R"(aladdin_queries_total{outcome="failed",reason="worker_lost"})") == 1);
  CHECK(value_of(text, R"(aladdin_queries_total{outcome="finished",reason=""})") == 1);
  CHECK(value_of(text, "aladdin_query_output_tokens_total") == 11);
  CHECK(value_of(text, "aladdin_query_ttft_seconds_count") == 1);
  CHECK(value_of(text, "aladdin_query_ttft_seconds_sum") == doctest::Approx(0.3));
  CHECK(value_of(text, R"(aladdin_query_ttft_seconds_bucket{le="0.25"})") == 0);
  CHECK(value_of(text, R"(aladdin_query_ttft_seconds_bucket{le="0.5"})") == 1);
  CHECK(value_of(text, "aladdin_query_time_per_output_token_seconds_sum") == doctest::Approx(0.05));
  CHECK(value_of(text, "aladdin_query_e2e_seconds_sum") == doctest::Approx(0.8));
}

TEST_CASE("node metrics: decision and journal latencies, and the state of a snapshot") {
  node_metrics m;
  m.observe_placement(20e-6);
  m.observe_placement(3e-3);
  m.observe_journal_write(4e-4);
  node_stats s;
  s.waiting = 7;
  s.fleet = {3, 1, 2, 0};
  s.plan = {5, 3};
  s.refused_kv = 4;
  s.judged = 10;
  s.slo_met = 8;
  s.ttft_missed = 2;
  s.recent_judged = 10;
  s.recent_met = 8;
  s.length_abs_error_tokens = 120;
  s.worker_list.push_back({"w1", "llama2-70b/a100-80gb/tp4", false, 3, 1, 2500, 10000});
  s.worker_list.push_back({"w2", "llama2-70b/a100-80gb/tp4", true, 0, 0, 0, 10000});
  const std::string text = m.render(s, "llama2-70b/a100-80gb/tp4", true);
  CHECK(value_of(text, "aladdin_placement_decision_seconds_count") == 2);
  CHECK(value_of(text, R"(aladdin_placement_decision_seconds_bucket{le="2.5e-05"})") == 1);
  CHECK(value_of(text, "aladdin_journal_write_seconds_count") == 1);
  CHECK(value_of(text, "aladdin_draining") == 1);
  CHECK(value_of(text, "aladdin_waiting_queries") == 7);
  CHECK(value_of(text, R"(aladdin_workers{shape="llama2-70b/a100-80gb/tp4",state="active"})") == 2);
  CHECK(value_of(text, R"(aladdin_workers{shape="llama2-70b/a100-80gb/tp4",state="launching"})") == 1);
  CHECK(value_of(text, R"(aladdin_worker_kv_usage_ratio{shape="llama2-70b/a100-80gb/tp4",worker="w1"})") == 0.25);
  CHECK(value_of(text, R"(aladdin_worker_kv_used_tokens{shape="llama2-70b/a100-80gb/tp4",worker="w1"})") == 2500);
  CHECK(value_of(text, R"(aladdin_worker_queries{shape="llama2-70b/a100-80gb/tp4",state="running",worker="w1"})") == 3);
  CHECK(value_of(text, "aladdin_plan_epoch") == 5);
  CHECK(value_of(text, R"(aladdin_plan_target_workers{shape="llama2-70b/a100-80gb/tp4"})") == 3);
  CHECK(value_of(text, R"(aladdin_placement_refusals_total{constraint="kv"})") == 4);
  CHECK(value_of(text, "aladdin_queries_slo_met_total") == 8);
  CHECK(value_of(text, R"(aladdin_queries_slo_missed_total{slo="ttft"})") == 2);
  CHECK(value_of(text, "aladdin_recent_attainment") == doctest::Approx(0.8));
  CHECK(value_of(text, "aladdin_output_length_abs_error_tokens_total") == 120);
  // A worker that is gone is gone from the next exposition.
  s.worker_list.pop_back();
  CHECK(value_of(m.render(s, "x", false), R"(aladdin_worker_kv_used_tokens{shape="llama2-70b/a100-80gb/tp4",worker="w2"})") == -1);
}

TEST_CASE("node metrics: the exposition is Prometheus text: every family typed and documented, every sample a number") {
  node_metrics m;
  m.observe(to_client(cc::query_rejected{3, cc::reject_code::kv, ""}));
  node_stats s;
  s.worker_list.push_back({"w \"1\"", "shape\\x", false, 0, 0, 0, 0});  // label values are escaped
  const std::string text = m.render(s, "s", false);
  std::set<std::string> typed, helped;
  std::istringstream in(text);
  std::string line;
  const std::regex sample(R"(^([a-z_][a-z0-9_]*)(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [-+0-9.eEinfaINFA]+$)");
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) typed.insert(line.substr(7, line.find(' ', 7) - 7));
    else if (line.rfind("# HELP ", 0) == 0) helped.insert(line.substr(7, line.find(' ', 7) - 7));
    else if (!line.empty()) {
      CHECK_MESSAGE(std::regex_match(line, sample), line);
      ++samples;
    }
  }
  CHECK(samples > 30);
  CHECK(typed == helped);
  const auto names = node_metrics::names();
  CHECK(std::set<std::string>(names.begin(), names.end()) == typed);
}

TEST_CASE("node metrics: every metric the Grafana dashboard queries is one the node exports") {
  std::ifstream in(std::string(ALADDIN_SOURCE_DIR) + "/config/grafana-dashboard.json");
  REQUIRE(in);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string json = buf.str();
  const auto exported = node_metrics::names();
  const std::set<std::string> names(exported.begin(), exported.end());
  const std::regex metric(R"(aladdin_[a-z0-9_]+)");
  std::set<std::string> used;
  for (auto it = std::sregex_iterator(json.begin(), json.end(), metric); it != std::sregex_iterator(); ++it) {
    std::string n = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (n.size() > std::strlen(suffix) && n.compare(n.size() - std::strlen(suffix), std::string::npos, suffix) == 0 &&
          names.count(n.substr(0, n.size() - std::strlen(suffix))) != 0)
        n = n.substr(0, n.size() - std::strlen(suffix));
    used.insert(n);
    CHECK_MESSAGE(names.count(n) == 1, "the dashboard queries " << n << ", which the node does not export");
  }
  // The dashboard shows the headline series (the issue's list).
  for (const char* n : {"aladdin_queries_total", "aladdin_query_ttft_seconds", "aladdin_query_time_per_output_token_seconds",
                        "aladdin_query_e2e_seconds", "aladdin_placement_decision_seconds", "aladdin_journal_write_seconds",
                        "aladdin_output_length_abs_error_tokens_total", "aladdin_waiting_queries", "aladdin_workers",
                        "aladdin_worker_kv_usage_ratio", "aladdin_plan_epoch", "aladdin_plan_target_workers"})
    CHECK_MESSAGE(used.count(n) == 1, n);
}
