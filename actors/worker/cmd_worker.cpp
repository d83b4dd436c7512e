// aladdin worker: a GPU worker process on the worker channel, either emulated (--emulate, the
// default: worker_core.hpp) or an agent in front of an OpenAI-compatible engine (--vllm URL:
// engine_agent_core.hpp). worker_process.hpp is the transport of both.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "actors/http/http_client.hpp"
#include "actors/worker/engine_agent.hpp"
#include "actors/worker/http_engine.hpp"
#include "actors/worker/worker_core.hpp"
#include "actors/worker/worker_process.hpp"
#include "schema/worker_channel.hpp"
#include "cli/command.hpp"
#include "model/hardware.hpp"
#include "model/latency_model.hpp"
#include "sim/ground_truth.hpp"
#include "util/flags.hpp"
#include "util/log_flags.hpp"

namespace aladdin::cli {
namespace {

namespace wc = worker_channel;

// Set from the signal handler; std::atomic<bool> is lock-free here, so the store is
// async-signal-safe. The poll timeout bounds how long the loop takes to see it.
std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int) { stop_requested.store(true); }

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

std::string default_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    std::snprintf(host, sizeof host, "worker");
  return std::string(host) + "-" + std::to_string(static_cast<long long>(getpid()));
}

std::string known_names(const auto& catalogue) {
  std::string out;
  for (const auto& e : catalogue) out += (out.empty() ? "" : ", ") + e.name;
  return out;
}

// A configuration problem found after parsing: one line, exit code 2, like a bad flag.
int usage_error(const std::string& message) {
  std::cerr << "aladdin worker: " << message << "\n";
  return 2;
}

// `worker --vllm URL`: the agent in front of an OpenAI-compatible engine.
int run_agent(const std::string& url, const std::string& connect, const worker::worker_identity& id,
              const std::string& served_model, double time_scale, double heartbeat_s, double warn_unanswered_s, std::uint64_t kv_tokens,
              std::int64_t block_size, double metrics_s, double lost_after_s, std::uint32_t max_batched_tokens) {
  std::string why;
  const auto engine = http::parse_http_url(url, &why);
  if (!engine) return usage_error("--vllm: " + why);
  if (metrics_s < 1e-3) return usage_error("--metrics-interval: must be at least 1ms");
  if (lost_after_s <= metrics_s)
    return usage_error("--engine-lost-after: must be longer than --metrics-interval");
  worker::engine_agent_options o;
  o.engine = *engine;
  o.agent.identity = id;
  o.agent.session.heartbeat_interval = static_cast<worker::micros>(heartbeat_s * 1e6);
  o.agent.session.silence_warning = static_cast<worker::micros>(warn_unanswered_s * 1e6);
  o.agent.scrape_interval = static_cast<worker::micros>(metrics_s * 1e6);
  o.agent.engine_lost_after = static_cast<worker::micros>(lost_after_s * 1e6);
  o.agent.kv_capacity_tokens = kv_tokens;
  o.agent.block_size = static_cast<std::uint32_t>(block_size);
  o.agent.time_scale = time_scale;
  o.agent.max_batched_tokens = max_batched_tokens;
  o.agent.served_model = served_model;
  // A scrape that takes longer than the interval counts as unanswered.
  o.scrape_timeout = std::chrono::milliseconds(std::max<long long>(100, static_cast<long long>(metrics_s * 2e3)));
  worker::engine_agent agent(o);

  worker::process_options po;
  po.endpoint = connect;
  worker::worker_process process(agent, po);
  try {
    process.connect();
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }
  std::cerr << "aladdin worker: " << id.name << " fronts the engine at " << url << " (" << id.model
            << "/" << id.gpu << "/tp" << id.tp << "), connecting to " << connect << "\n";
  install_stop_handlers();
  process.run(stop_requested);

  const auto& core = agent.core();
  const auto& s = core.stats();
  const std::string why_end = !core.fatal().empty()               ? core.fatal()
                              : stop_requested.load() && !core.finished() ? "signal"
                              : core.why_finished() == worker::exit_reason::engine_lost
                                  ? "engine lost: " + core.lost_reason()
                                  : worker::to_string(core.why_finished());
  std::cerr << "aladdin worker: exiting (" << why_end << "): " << s.accepted << " accepted, "
            << s.completed << " completed, " << s.rejected << " rejected, " << s.cancelled
            << " cancelled, " << s.broken_streams << " broken streams\n";
  if (!core.fatal().empty()) return 2;
  return core.why_finished() == worker::exit_reason::engine_lost ? 1 : 0;
}

int run_worker(int argc, char** argv) {
  bool emulate = true, via_http = false;
  std::string connect, name, model_name = "llama2-70b", gpu_name = "a100-80gb",
                             mode = "prefill-first", truth_profile, vllm, served_model;
  std::int64_t tp = 4, default_output = 256, block_size = 16, http_port = -1;
  std::string http_host = "127.0.0.1";
  std::uint64_t stall_after = 0;
  double time_scale = 1, heartbeat_s = 0.1, noise = 0.03, warn_unanswered_s = 5, metrics_s = 0.5,
         lost_after_s = 5;
  std::uint64_t seed = 1, kv_tokens = 0;
  std::int64_t max_batched = -1;  // not given: the regime's default

  flag_set flags(
      "worker",
      "Runs a GPU worker process that speaks the worker channel to a control node over\n"
      "ZeroMQ. Either the GPU is emulated (--emulate, the default: the simulator's engine\n"
      "model on measured tables, run in real time or sped up by --time-scale), or the\n"
      "worker is an agent in front of an OpenAI-compatible engine (--vllm URL: vLLM's\n"
      "`vllm serve`), forwarding each query as a streaming request and reading KV use\n"
      "and queue depth from the engine's /metrics.");
  flags.add_bool("emulate", &emulate,
                 "emulate the GPU with the simulator's engine model (the default)");
  flags.add_string("vllm", &vllm,
                   "front the OpenAI-compatible engine at this URL (e.g. http://127.0.0.1:8000) "
                   "instead of emulating one");
  flags.add_string("served-model", &served_model,
                   "--vllm: the model name the engine serves (vLLM's --served-model-name), put in "
                   "every request (default: --model's catalogue name)");
  flags.add_uint64("kv-tokens", &kv_tokens,
                   "--vllm: the engine's KV cache in tokens, when its /metrics has no "
                   "vllm:cache_config_info (default: read it)");
  flags.add_int("block-size", &block_size, "--vllm with --kv-tokens: tokens per KV block", 1, 1 << 20);
  flags.add_duration("metrics-interval", &metrics_s, "--vllm: wall time between scrapes of the engine's /metrics");
  flags.add_duration("engine-lost-after", &lost_after_s,
                     "--vllm: the engine's /metrics unanswered this long: the engine is lost, the "
                     "worker stops heartbeating (the node re-places its queries) and exits");
  flags.add_string("connect", &connect,
                   "control node endpoint, e.g. tcp://127.0.0.1:5555 (required, but with --http)");
  flags.add_int("http", &http_port,
                "--emulate: serve the emulated engine over HTTP on this port instead, with vLLM's "
                "OpenAI-compatible API and metric names (0: any free port, printed)",
                0, 65535);
  flags.add_string("http-host", &http_host, "--http: the address to listen on");
  flags.add_bool("via-http", &via_http,
                 "--emulate: serve the emulated engine with vLLM's HTTP API on a loopback port and "
                 "join the node through the engine agent in front of it (--vllm's whole path, in "
                 "one process; what `serve --engine http` starts)");
  flags.add_uint64("http-stall-after", &stall_after,
                   "--http: after this many requests, stop answering (a hung engine, for tests; 0: never)");
  flags.add_string("model", &model_name, "model served");
  flags.add_string("gpu", &gpu_name, "GPU type");
  flags.add_int("tp", &tp, "GPUs per worker (tensor-parallel degree)", 1, 64);
  flags.add_double("time-scale", &time_scale,
                   "engine seconds per wall second (50: the emulated GPU runs 50x faster; with "
                   "--vllm: the engine's, said at registration, 1 for a real GPU)", 1e-3,
                   1e6);
  flags.add_string("name", &name, "worker name, stable across restarts (default: <host>-<pid>)");
  flags.add_duration("heartbeat", &heartbeat_s, "wall time between heartbeats");
  flags.add_duration("warn-unanswered", &warn_unanswered_s,
                     "wall time registering without any answer before saying that no node answers "
                     "(then every 30 s; the worker keeps trying)");
  flags.add_uint64("seed", &seed, "seed of the engine's iteration-time noise");
  flags.add_choice("mode", &mode, {"prefill-first", "chunked"}, "batching regime of the emulated engine");
  flags.add_int("max-batched-tokens", &max_batched,
                "tokens per engine iteration, said at registration so the node plans the worker in "
                "its regime. --mode chunked: the chunk budget (default 2048, vLLM's); prefill-first: "
                "prompt tokens per prefill batch (default 8192). --vllm: the engine's "
                "--max-num-batched-tokens (default 2048; vLLM V1 always chunks; 0: the engine runs "
                "prefill-first)",
                0, wc::kMaxBatchedTokens);
  flags.add_string(
      "truth-profile", &truth_profile,
      "measured profile CSV (Splitwise format) for the emulated GPU (default: built-in tables)");
  flags.add_int("default-output", &default_output,
                "output tokens of an assignment with neither maxOutputTokens nor a length hint", 1,
                1'000'000);
  flags.add_double("noise", &noise,
                   "sigma of the per-iteration multiplicative noise (0: exact tables)", 0, 1);
  log_flags logging;
  logging.add_to(flags);
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;
  logging.apply("worker");

  if (heartbeat_s < 1e-3) return usage_error("--heartbeat: must be at least 1ms");
  if (warn_unanswered_s < 1e-3) return usage_error("--warn-unanswered: must be at least 1ms");
  if (!flags.given("name")) name = default_name();
  // A ZeroMQ routing id is 1 to 255 bytes and may not start with a zero byte.
  if (name.empty() || name.size() > 255 || name[0] == '\0')
    return usage_error("--name: must be 1 to 255 bytes");

  if (!vllm.empty() && flags.given("emulate") && emulate)
    return usage_error("--emulate and --vllm exclude each other: the worker either emulates an engine or fronts one");
  if (flags.given("http") && !vllm.empty())
    return usage_error("--http serves the emulated engine; it does not go with --vllm");
  if (flags.given("http") && flags.given("connect"))
    return usage_error("--http serves the emulated engine over HTTP instead of the worker channel: "
                       "leave out --connect (put `aladdin worker --vllm` in front of it to join a node)");
  if (via_http && (!vllm.empty() || flags.given("http")))
    return usage_error("--via-http puts the agent in front of the emulated engine: it goes with neither --vllm nor --http");
  if (!flags.given("http") && connect.empty()) return usage_error("--connect: required");
  if (!flags.given("http") && (flags.given("http-host") || flags.given("http-stall-after")))
    return usage_error("--http-host and --http-stall-after need --http");
  if (vllm.empty() && (flags.given("kv-tokens") || flags.given("metrics-interval") || flags.given("served-model") ||
                       flags.given("engine-lost-after") || flags.given("block-size")))
    return usage_error("--served-model, --kv-tokens, --block-size, --metrics-interval and --engine-lost-after need --vllm");

  if (flags.given("max-batched-tokens") && max_batched < wc::kMinBatchedTokens &&
      !(max_batched == 0 && !vllm.empty()))
    return usage_error("--max-batched-tokens: " + std::to_string(max_batched) + " is below " +
                       std::to_string(wc::kMinBatchedTokens) +
                       (vllm.empty() ? "" : " (0 says the engine runs prefill-first)"));

  const auto model = find_model(model_name);
  if (!model)
    return usage_error("--model: unknown model '" + model_name +
                       "' (known: " + known_names(builtin_models()) + ")");
  const auto gpu = find_gpu(gpu_name);
  if (!gpu)
    return usage_error("--gpu: unknown GPU '" + gpu_name +
                       "' (known: " + known_names(builtin_gpus()) + ")");
  const int tp_n = static_cast<int>(tp);
  if (!vllm.empty())
    return run_agent(vllm, connect, {name, model->name, gpu->name, tp_n}, served_model, time_scale, heartbeat_s, warn_unanswered_s,
                     kv_tokens, block_size, metrics_s, lost_after_s,
                     max_batched < 0 ? worker::agent_options{}.max_batched_tokens
                                     : static_cast<std::uint32_t>(max_batched));
  const kv_model kv = kv_model::from_hardware(*model, *gpu, tp_n);
  if (kv.capacity_tokens < 1)
    return usage_error("--tp: the weights of " + model->name + " leave no KV cache on " +
                       std::to_string(tp_n) + " x " + gpu->name);

  std::optional<sim::ground_truth> truth;
  if (truth_profile.empty()) {
    truth = sim::ground_truth::builtin(model->name, gpu->name, tp_n);
    if (!truth)
      return usage_error("no built-in measurements for " + model->name + " on " + gpu->name +
                         " at TP" + std::to_string(tp_n) + " (give --truth-profile)");
  } else {
    std::ifstream in(truth_profile);
    if (!in) return usage_error("--truth-profile: cannot open " + truth_profile);
    truth = sim::ground_truth::from_profile_csv(in, truth_profile, model->name, gpu->name, tp_n);
  }

  worker::worker_core_options o;
  o.identity = {name, model->name, gpu->name, tp_n};
  o.engine.mode =
      mode == "chunked" ? sim::batching_mode::chunked : sim::batching_mode::prefill_first;
  o.engine.max_batched_tokens = max_batched < 0 ? 0 : static_cast<int>(max_batched);
  o.engine.kv_capacity_tokens = kv.capacity_tokens;
  o.engine.noise_sigma = noise;
  o.engine.report_progress = false;  // heartbeats read the engine's sequences instead
  o.seed = seed;
  o.time_scale = time_scale;
  o.heartbeat_interval = static_cast<worker::micros>(heartbeat_s * 1e6);
  o.silence_warning = static_cast<worker::micros>(warn_unanswered_s * 1e6);
  o.default_output_tokens = static_cast<std::uint32_t>(default_output);
  worker::worker_core core(o, *truth, worker::wall_clock_now());

  if (flags.given("http") || via_http) {
    const auto registered = core.registration();  // read before the engine's thread owns the core
    worker::http_engine_options ho;
    ho.host = via_http ? "127.0.0.1" : http_host;
    ho.port = via_http ? 0 : static_cast<std::uint16_t>(http_port);
    ho.served_model = model->name;
    ho.stall_after = stall_after;
    ho.max_model_len = model->context_tokens > 0 ? static_cast<std::uint32_t>(model->context_tokens) : 0;
    ho.default_output_tokens = static_cast<std::uint32_t>(default_output);
    worker::http_engine engine(core, ho);
    try {
      engine.start();
    } catch (const std::exception& e) {
      return usage_error(std::string(via_http ? "--via-http: " : "--http: ") + e.what());
    }
    if (via_http) {
      // The agent reads the engine's KV size from its /metrics, and says the engine's regime.
      const std::string url = "http://127.0.0.1:" + std::to_string(engine.port());
      std::cerr << "aladdin worker: " << name << " runs an emulated " << model->name << "/" << gpu->name << "/tp"
                << tp_n << " engine behind vLLM's API at " << url << "\n";
      const int rc = run_agent(url, connect, o.identity, "", time_scale, heartbeat_s, warn_unanswered_s, 0, 16,
                               metrics_s, lost_after_s, registered.max_batched_tokens);
      engine.stop();
      return rc;
    }
    // The port on stdout (one line) for scripts and tests that asked for any free port.
    std::cout << "http://" << http_host << ":" << engine.port() << std::endl;
    std::cerr << "aladdin worker: " << name << " serves an emulated " << model->name << "/" << gpu->name
              << "/tp" << tp_n << " (KV " << registered.kv_capacity_tokens
              << " tokens, time scale " << time_scale << ") with vLLM's API at http://" << http_host
              << ":" << engine.port() << "\n";
    install_stop_handlers();
    while (!stop_requested.load()) ::usleep(50'000);  // the signal handler only sets a flag
    engine.stop();
    std::cerr << "aladdin worker: exiting (signal)\n";
    return 0;
  }

  worker::process_options po;
  po.endpoint = connect;
  worker::worker_process process(core, po);
  try {
    process.connect();
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }

  const auto reg = core.registration();
  process_log().info("%s emulates %s/%s/tp%d (KV %llu tokens, %s, time scale %g), connecting to %s", name.c_str(),
                     model->name.c_str(), gpu->name.c_str(), static_cast<int>(tp_n),
                     static_cast<unsigned long long>(reg.kv_capacity_tokens), mode.c_str(), time_scale, connect.c_str());

  install_stop_handlers();
  process.run(stop_requested);

  const auto& s = core.stats();
  const auto& p = process.stats();
  const auto n = [](auto v) { return static_cast<unsigned long long>(v); };
  process_log().info("exiting (%s): %llu accepted, %llu completed, %llu rejected, %llu cancelled; %llu frames rejected, %llu sends dropped",
                     stop_requested.load() && !core.finished() ? "signal" : worker::to_string(core.why_finished()),
                     n(s.accepted), n(s.completed), n(s.rejected), n(s.cancelled), n(p.frames_rejected), n(p.sends_dropped));
  return 0;
}

const command_registration registration{
    "worker", "a GPU worker process for a control node: emulated, or in front of a vLLM engine",
    run_worker};

}  // namespace
}  // namespace aladdin::cli
