// aladdin loadgen: replays a trace against a control node (Cap'n Proto, --connect) or any
// OpenAI-compatible endpoint (--http URL: actors/loadgen/http_loadgen.hpp) and reports what
// clients saw.

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>

#include "actors/http/http_client.hpp"
#include "actors/loadgen/http_loadgen.hpp"
#include "actors/loadgen/loadgen.hpp"
#include "cli/command.hpp"
#include "util/log_flags.hpp"
#include "cli/workload_options.hpp"

namespace aladdin::cli {
namespace {

int run_loadgen(int argc, char** argv) {
  workload_options workload;
  workload.rate = 2;
  workload.duration_s = 60;
  node::loadgen_options o;
  o.endpoint.clear();
  bool json = false;
  std::string http_url;
  double slo_e2e_s = 0;
  flag_set flags("loadgen",
                 "Replays a trace (or the built-in workload) against a control node in real time,\n"
                 "sped up by --time-scale, and reports from the client side: SLO attainment,\n"
                 "TTFT/ATGT p50/p99, refusals and failures by reason, lost queries, throughput.\n"
                 "--duration cuts a trace file to its first S seconds. With --http URL it drives any\n"
                 "OpenAI-compatible endpoint (an aladdin node's front door, or a bare vLLM) with\n"
                 "streaming completions and reports what `vllm bench serve --goodput` does.");
  workload.add_to(flags);
  flags.add_string("connect", &o.endpoint, "client endpoint of the node (tcp://host:port); or --http");
  flags.add_string("http", &http_url,
                   "drive this OpenAI-compatible endpoint instead (http://host:port): streaming "
                   "/v1/completions, goodput against --slo-ttft, --slo-atgt (as TPOT) and --slo-e2e");
  flags.add_duration("slo-e2e", &slo_e2e_s, "--http: end-to-end latency SLO for goodput (model time; 0: not judged)");
  flags.add_double("time-scale", &o.time_scale, "replay this many times faster (the node's workers too)", 1e-3, 1e4);
  flags.add_duration("slo-ttft", &o.slo_ttft_s, "TTFT SLO sent with every query (model time)");
  flags.add_duration("slo-atgt", &o.slo_atgt_s, "ATGT SLO sent with every query (model time)");
  flags.add_string("model", &o.model, "model asked for");
  flags.add_string("client-id", &o.client_id, "ZeroMQ routing id (fixed, so a restarted node can still reply)");
  flags.add_duration("drain-timeout", &o.drain_timeout_s, "wall time to wait for outcomes after the last query");
  flags.add_duration("answer-timeout", &o.answer_timeout_s,
                     "wall time with queries out and no reply at all before giving up: no node answers");
  flags.add_bool("json", &json, "print one JSON object");
  log_flags logging;
  logging.add_to(flags);
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;
  logging.apply("loadgen");
  if (!(o.answer_timeout_s > 0)) {
    std::cerr << "aladdin loadgen: --answer-timeout: must be positive\n";
    return 2;
  }

  if (http_url.empty() == o.endpoint.empty()) {
    std::cerr << "aladdin loadgen: give exactly one of --connect (a node's client endpoint) and --http (an OpenAI-compatible URL)\n";
    return 2;
  }
  if (!http_url.empty() && (flags.given("client-id") || flags.given("answer-timeout"))) {
    std::cerr << "aladdin loadgen: --client-id and --answer-timeout are for --connect\n";
    return 2;
  }
  if (http_url.empty() && flags.given("slo-e2e")) {
    std::cerr << "aladdin loadgen: --slo-e2e needs --http\n";
    return 2;
  }
  std::optional<http::http_url> url;
  if (!http_url.empty()) {
    std::string why;
    url = http::parse_http_url(http_url, &why);
    if (!url) {
      std::cerr << "aladdin loadgen: --http: " << why << "\n";
      return 2;
    }
  }

  trace arrivals = workload.load();
  if (!workload.trace_path.empty() && flags.given("duration")) {
    const auto end = std::find_if(arrivals.begin(), arrivals.end(),
                                  [&](const trace_record& r) { return r.arrival_s >= workload.duration_s; });
    arrivals.erase(end, arrivals.end());
  }
  if (url) {
    node::http_loadgen_options ho;
    ho.url = *url;
    ho.model = o.model;
    ho.time_scale = o.time_scale;
    ho.slo_ttft_s = o.slo_ttft_s;
    ho.slo_tpot_s = o.slo_atgt_s;
    ho.slo_e2e_s = slo_e2e_s;
    ho.drain_timeout_s = o.drain_timeout_s;
    const node::http_loadgen_report r = node::run_http_loadgen(ho, arrivals);
    if (json) {
      std::cout << r.json() << "\n";
    } else {
      std::printf("%s against %s, time scale %g\n", workload.describe().c_str(), http_url.c_str(), o.time_scale);
      std::printf("%s", r.text().c_str());
    }
    return r.failed == 0 && r.completed == r.sent ? 0 : 1;
  }
  const node::loadgen_report r = node::run_loadgen(o, arrivals);
  if (r.no_answer) process_log().error("%s", node::no_answer_advice(o, r).c_str());
  if (json) {
    std::cout << r.json() << "\n";
  } else {
    std::printf("%s against %s, time scale %g\n", workload.describe().c_str(), o.endpoint.c_str(), o.time_scale);
    std::printf("%s", r.text().c_str());
  }
  return r.lost + r.unanswered == 0 ? 0 : 1;
}

const command_registration reg{"loadgen", "replay a trace against a control node and report SLO attainment",
                               &run_loadgen};

}  // namespace
}  // namespace aladdin::cli
