// aladdin worker: an emulated GPU worker process on the worker channel. See worker_core.hpp for
// what it does with each message and worker_process.hpp for the transport.

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

#include "actors/worker/worker_core.hpp"
#include "actors/worker/worker_process.hpp"
#include "cli/command.hpp"
#include "model/hardware.hpp"
#include "model/latency_model.hpp"
#include "sim/ground_truth.hpp"
#include "util/flags.hpp"
#include "util/log_flags.hpp"

namespace aladdin::cli {
namespace {

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

int run_worker(int argc, char** argv) {
  bool emulate = true;  // the only engine until the vLLM agent lands
  std::string connect, name, model_name = "llama2-70b", gpu_name = "a100-80gb",
                             mode = "prefill-first", truth_profile;
  std::int64_t tp = 4, default_output = 256;
  double time_scale = 1, heartbeat_s = 0.1, noise = 0.03, warn_unanswered_s = 5;
  std::uint64_t seed = 1;

  flag_set flags(
      "worker",
      "Runs a GPU worker process that speaks the worker channel to a control node over\n"
      "ZeroMQ. The GPU is emulated (the only engine until the vLLM agent lands): the\n"
      "simulator's engine model on measured tables, run in real time or sped up by\n"
      "--time-scale.");
  flags.add_bool("emulate", &emulate,
                 "emulate the GPU with the simulator's engine model (the default, and so far the only engine)");
  flags.add_string("connect", &connect, "control node endpoint, e.g. tcp://127.0.0.1:5555", true);
  flags.add_string("model", &model_name, "model served");
  flags.add_string("gpu", &gpu_name, "GPU type");
  flags.add_int("tp", &tp, "GPUs per worker (tensor-parallel degree)", 1, 64);
  flags.add_double("time-scale", &time_scale,
                   "engine seconds per wall second (50: the emulated GPU runs 50x faster)", 1e-3,
                   1e6);
  flags.add_string("name", &name, "worker name, stable across restarts (default: <host>-<pid>)");
  flags.add_duration("heartbeat", &heartbeat_s, "wall time between heartbeats");
  flags.add_duration("warn-unanswered", &warn_unanswered_s,
                     "wall time registering without any answer before saying that no node answers "
                     "(then every 30 s; the worker keeps trying)");
  flags.add_uint64("seed", &seed, "seed of the engine's iteration-time noise");
  flags.add_choice("mode", &mode, {"prefill-first", "chunked"}, "batching regime");
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

  const auto model = find_model(model_name);
  if (!model)
    return usage_error("--model: unknown model '" + model_name +
                       "' (known: " + known_names(builtin_models()) + ")");
  const auto gpu = find_gpu(gpu_name);
  if (!gpu)
    return usage_error("--gpu: unknown GPU '" + gpu_name +
                       "' (known: " + known_names(builtin_gpus()) + ")");
  const int tp_n = static_cast<int>(tp);
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
  o.engine.kv_capacity_tokens = kv.capacity_tokens;
  o.engine.noise_sigma = noise;
  o.engine.report_progress = false;  // heartbeats read the engine's sequences instead
  o.seed = seed;
  o.time_scale = time_scale;
  o.heartbeat_interval = static_cast<worker::micros>(heartbeat_s * 1e6);
  o.silence_warning = static_cast<worker::micros>(warn_unanswered_s * 1e6);
  o.default_output_tokens = static_cast<std::uint32_t>(default_output);
  worker::worker_core core(o, *truth, worker::wall_clock_now());

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
    "worker", "an emulated GPU worker process for a control node", run_worker};

}  // namespace
}  // namespace aladdin::cli
