// aladdin up: everything at once, for a first look. A control node in this process with the
// local provisioner (which starts emulated workers as child processes), a load generator
// replaying the built-in workload against it for about 30 seconds of wall time, the load
// generator's report, and a clean shutdown of all of it. The node's OpenAI-compatible HTTP front
// door is open meanwhile (--http, default 127.0.0.1:8000); with --duration 0 there is no replay
// and the node serves until SIGINT or SIGTERM.

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "actors/caf/control_node.hpp"
#include "actors/loadgen/http_loadgen.hpp"
#include "actors/loadgen/loadgen.hpp"
#include "actors/node/serve_options.hpp"
#include "cli/command.hpp"
#include "util/log_flags.hpp"
#include "model/builtin_profiles.hpp"
#include "placement/registry.hpp"
#include "plan/planner.hpp"
#include "trace/builtin_workload.hpp"
#include "util/flags.hpp"

namespace aladdin::cli {
namespace {

bool has_command(const std::string& name) {
  return std::any_of(commands().begin(), commands().end(), [&](const command& c) { return c.name == name; });
}

int run_up(int argc, char** argv) {
  node::serve_options o;
  o.listen = "tcp://127.0.0.1:0";
  o.worker_listen = "tcp://127.0.0.1:0";
  o.time_scale = 10;
  o.data_dir.clear();
  o.http = "127.0.0.1:8000";
  double duration_s = 30, rate = 0, load = 0.7;
  std::uint64_t seed = 1;
  bool json = false;
  flag_set flags("up",
                 "Starts a control node with emulated workers on this machine, replays the built-in\n"
                 "workload against it for --duration of wall time (the workers run --time-scale\n"
                 "times faster than real GPUs, so that is duration x time-scale of model time),\n"
                 "prints the load generator's report and stops everything.");
  flags.add_int("workers", &o.workers, "emulated workers to start", 1, 64);
  flags.add_int("tp", &o.tp, "GPUs per worker", 1, 64);
  flags.add_string("model", &o.model, "model served");
  flags.add_string("gpu", &o.gpu, "GPU type");
  std::vector<std::string> names;
  for (const auto& p : policies()) names.push_back(p.name);
  flags.add_choice("policy", &o.policy, names, "placement policy");
  flags.add_double("time-scale", &o.time_scale, "emulated workers and the replay run this many times faster", 1e-3, 1e4);
  flags.add_duration("duration", &duration_s, "wall time of the replay (0: no replay; serve until SIGINT or SIGTERM)");
  flags.add_string("http", &o.http, "HOST:PORT of the OpenAI-compatible HTTP front door, or off");
  flags.add_choice("engine", &o.local_engine, {"emulated", "http"},
                   "emulated: the engine inside each worker, the replay over Cap'n Proto; http: each "
                   "worker an agent before an emulated engine behind vLLM's HTTP API, the replay "
                   "through the front door (the whole path of a vLLM fleet)");
  flags.add_double("rate", &rate, "queries per model second (default: --load of what the planner says the workers sustain)", 0, 1e6);
  flags.add_double("load", &load, "fraction of the fleet's planned capacity to offer when --rate is not given", 0.01, 10);
  flags.add_duration("slo-ttft", &o.slo_ttft_s, "TTFT SLO of every query");
  flags.add_duration("slo-atgt", &o.slo_atgt_s, "ATGT SLO of every query");
  flags.add_string("data-dir", &o.data_dir, "state store directory (default: a temporary one, removed afterwards)");
  flags.add_uint64("seed", &seed, "seed of the workload");
  flags.add_string("decisions", &o.decisions,
                   "append a CSV row per placement once it has ended (as serve --decisions)");
  log_flags logging;
  logging.add_to(flags);
  flags.add_choice("log", &logging.level, log_level_words(), "same as --log-level");
  flags.add_bool("json", &json, "print the report as one JSON object");
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;
  logging.apply("up");
  o.log = node::log_level_of(logging.level);
  o.log_format = process_log().get_format();
  if (o.http == "off") o.http.clear();
  const bool over_http = o.local_engine == "http";
  if (over_http && o.http.empty())
    return std::cerr << "aladdin up: --engine http replays through the HTTP front door: leave --http on\n", 2;
  if (!o.http.empty()) {
    std::string host;
    std::uint16_t port = 0;
    if (std::string err = node::split_host_port(o.http, host, port); !err.empty()) {
      std::cerr << "aladdin up: --http " << o.http << ": " << err << "\n";
      return 2;
    }
  }
  // Without a replay the node runs until stopped: the stop signals are blocked before any
  // thread starts, so that sigwait below is where they arrive.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (duration_s <= 0) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (!has_command("worker")) {
    std::cerr << "aladdin up: this build has no emulated worker (aladdin worker), which up starts\n";
    return 1;
  }
  const auto profile = find_builtin_profile(o.model, o.gpu, static_cast<int>(o.tp));
  if (!profile) {
    std::cerr << "aladdin up: no built-in profile for " << o.model << " on " << o.gpu << " at TP" << o.tp << "\n";
    return 2;
  }
  if (rate <= 0) {
    const shape_capacity cap = max_rate(*profile, builtin_workload_stats(), {o.slo_ttft_s, o.slo_atgt_s});
    rate = std::max(0.05, load * cap.max_rate_per_worker * static_cast<double>(o.workers));
  }
  bool temporary = o.data_dir.empty();
  if (temporary) {
    std::random_device rd;
    o.data_dir = (std::filesystem::temp_directory_path() / ("aladdin-up-" + std::to_string(rd()))).string();
  }
  o.max_workers = o.min_workers = o.workers;

  int status = 0;
  try {
    node::control_node n(o);
    n.start();
    process_log().info("node on %s, starting %lld workers of %s TP%lld", n.client_endpoint().c_str(),
                       static_cast<long long>(o.workers), o.model.c_str(), static_cast<long long>(o.tp));
    if (!n.http_url().empty())
      process_log().info("OpenAI-compatible API on %s; try\n  curl -s %s/v1/completions -H 'Content-Type: application/json' -d '{\"model\": \"%s\", \"prompt\": \"Hello\", \"max_tokens\": 16}'",
                         n.http_url().c_str(), n.http_url().c_str(), o.model.c_str());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (n.stats().workers < static_cast<std::uint64_t>(o.workers)) {
      if (std::chrono::steady_clock::now() > deadline) {
        process_log().error("the workers did not register within 60 s (their logs are in %s/workers)", o.data_dir.c_str());
        temporary = false;  // keep the logs
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (duration_s <= 0) {
      std::fprintf(stderr, "aladdin up: serving until SIGINT or SIGTERM\n");
      int sig = 0;
      sigwait(&stop_signals, &sig);
      const node::node_stats s = n.stats();
      n.stop();
      std::printf("served %llu queries (%llu refused at the intake), %lld x %s TP%lld, policy %s\n",
                  static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.rejected),
                  static_cast<long long>(o.workers), o.model.c_str(), static_cast<long long>(o.tp), o.policy.c_str());
      std::printf("  placement       %s\n", node::refusal_summary(s).c_str());
      if (temporary) {
        std::error_code ec;
        std::filesystem::remove_all(o.data_dir, ec);
      }
      return 0;
    }
    const trace arrivals = generate_builtin_trace(rate, duration_s * o.time_scale, arrival_process::poisson(), seed);
    process_log().info("replaying %zu queries (%.2f per model second) for %.0f s%s", arrivals.size(), rate, duration_s,
                       over_http ? " through the HTTP front door" : "");
    const auto print_node = [](const node::node_stats& s) {
      std::printf("  node            accepted %llu, waited at the intake %llu, plan epoch %llu\n",
                  static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.waited),
                  static_cast<unsigned long long>(s.plan.epoch));
      std::printf("  placement       %s\n", node::refusal_summary(s).c_str());
    };
    if (over_http) {
      node::http_loadgen_options ho;
      std::string why;
      ho.url = *http::parse_http_url(n.http_url(), &why);  // the node's own, well-formed
      ho.model = o.model;
      ho.time_scale = o.time_scale;
      ho.slo_ttft_s = o.slo_ttft_s;
      ho.slo_tpot_s = o.slo_atgt_s;
      ho.drain_timeout_s = 30;
      const node::http_loadgen_report r = node::run_http_loadgen(ho, arrivals);
      const node::node_stats s = n.stats();
      n.stop();
      if (json) {
        std::cout << r.json() << "\n";
      } else {
        std::printf("built-in workload over HTTP, %.2f queries per model second, %lld x %s TP%lld behind "
                    "HTTP engines, policy %s, time scale %g\n",
                    rate, static_cast<long long>(o.workers), o.model.c_str(), static_cast<long long>(o.tp),
                    o.policy.c_str(), o.time_scale);
        std::printf("%s", r.text().c_str());
        print_node(s);
      }
      // A refusal the API answered (4xx: over the context, say) is an outcome, as the
      // Cap'n Proto replay's rejections are; a broken stream, an error event or an unfinished
      // request is not.
      std::size_t refused = 0;
      for (const auto& [why, n_failed] : r.failed_by)
        if (why.rfind("http 4", 0) == 0) refused += n_failed;
      status = r.failed == refused && r.sent == r.queries ? 0 : 1;
    } else {
      node::loadgen_options lo;
      lo.endpoint = n.client_endpoint();
      lo.client_id = "aladdin-up";
      lo.model = o.model;
      lo.time_scale = o.time_scale;
      lo.slo_ttft_s = o.slo_ttft_s;
      lo.slo_atgt_s = o.slo_atgt_s;
      lo.drain_timeout_s = 30;
      const node::loadgen_report r = node::run_loadgen(lo, arrivals);
      const node::node_stats s = n.stats();
      n.stop();
      if (json) {
        std::cout << r.json() << "\n";
      } else {
        std::printf("built-in workload, %.2f queries per model second, %lld x %s TP%lld, policy %s, time scale %g\n",
                    rate, static_cast<long long>(o.workers), o.model.c_str(), static_cast<long long>(o.tp),
                    o.policy.c_str(), o.time_scale);
        std::printf("%s", r.text().c_str());
        print_node(s);
      }
      status = r.lost + r.unanswered == 0 ? 0 : 1;
    }
  } catch (const std::exception& e) {
    process_log().error("%s", e.what());
    status = 1;
  }
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(o.data_dir, ec);
  }
  return status;
}

const command_registration reg{"up", "run a node, emulated workers and a 30 s replay, and report", &run_up};

}  // namespace
}  // namespace aladdin::cli
