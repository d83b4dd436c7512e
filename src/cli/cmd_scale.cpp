// aladdin scale: a time-varying load through three ways of sizing the fleet — static peak
// provisioning, a reactive utilisation autoscaler, and aladdin's forecast-driven planner — with
// the same placement policy, workers and SLOs, in the fleet simulator.

#include <cmath>
#include <cstdio>
#include <iostream>
#include <vector>

#include "cli/command.hpp"
#include "cli/workload_options.hpp"
#include "placement/registry.hpp"
#include "plan/planner.hpp"
#include "sim/fleet_simulator.hpp"
#include "trace/builtin_workload.hpp"
#include "trace/load_curve.hpp"
#include "util/csv.hpp"
#include "util/json.hpp"

namespace aladdin::cli {
namespace {

// Two days of a diurnal load: a smooth daily swing between 30% and 100% of the peak with a
// short evening burst, the shape of the production curves in ServeGen's data, for runs without
// a curve file.
load_curve builtin_curve(double peak_rate) {
  load_curve c;
  c.window_s = 600;
  for (int k = 0; k < 2 * 144; ++k) {
    const double hour = std::fmod(k * c.window_s / 3600.0, 24.0);
    const double daily = 0.65 - 0.35 * std::cos((hour - 3.0) / 24.0 * 2 * M_PI);
    const double burst = (hour >= 20 && hour < 21) ? 0.15 : 0.0;
    c.windows.push_back({k * c.window_s, peak_rate * std::min(1.0, daily + burst)});
  }
  return c;
}

int run_scale(int argc, char** argv) {
  shape_options shape;
  std::string curve_path, servegen_dir, policy = "aladdin", autoscalers = "static,reactive,planner";
  double compress = 60, rate_factor = 1, peak = 8, cv = 1, ttft = 2.0, atgt = 0.1, target = 0.99;
  double startup_s = 300, interval_s = 300;
  std::int64_t tp = 4, max_windows = 0;
  std::uint64_t seed = 1;
  bool json = false;

  flag_set flags("scale",
                 "Runs a time-varying load through static peak provisioning, a reactive utilisation\n"
                 "autoscaler and aladdin's planner, and compares GPU-hours, SLO attainment and scaling\n"
                 "actions. Time is compressed: a day of the curve runs in 1/--compress of a day.");
  shape.add_to(flags);
  flags.add_string("curve", &curve_path, "load curve CSV: window_start_s,rate_per_s (default: built-in two days)");
  flags.add_string("servegen", &servegen_dir, "a ServeGen folder of chunk-*-trace.csv files (summed)");
  flags.add_int("windows", &max_windows, "use only the curve's first N windows (0: all)", 0, 100000000);
  flags.add_double("compress", &compress, "divide the curve's time by this", 1, 1e6);
  flags.add_double("rate-factor", &rate_factor, "multiply the curve's rates by this", 1e-6, 1e6);
  flags.add_double("peak-rate", &peak, "built-in curve: peak queries per second", 1e-3, 1e6);
  flags.add_double("cv", &cv, "inter-arrival coefficient of variation (1 = Poisson)", 0.05, 20);
  std::vector<std::string> names;
  for (const auto& p : policies()) names.push_back(p.name);
  flags.add_choice("policy", &policy, names, "placement policy for every run");
  flags.add_string("autoscalers", &autoscalers, "which of static,reactive,planner to run");
  flags.add_int("tp", &tp, "GPUs per worker", 1, 64);
  flags.add_duration("startup", &startup_s,
                     "time from starting a worker until it serves, in the curve's time (compressed too)");
  flags.add_duration("interval", &interval_s, "autoscaler interval, in the curve's time (compressed too)");
  flags.add_duration("slo-ttft", &ttft, "time-to-first-token SLO");
  flags.add_duration("slo-atgt", &atgt, "average time per generated token SLO");
  flags.add_double("attainment", &target,
                   "static provisioning is sized by simulation to the fewest workers reaching this", 0, 1);
  flags.add_uint64("seed", &seed, "seed of arrivals and noise");
  flags.add_bool("json", &json, "print one JSON object");
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;

  std::vector<sim::autoscaler_kind> kinds;
  for (auto part : split_csv_line(autoscalers)) {
    if (part == "static") kinds.push_back(sim::autoscaler_kind::none);
    else if (part == "reactive") kinds.push_back(sim::autoscaler_kind::reactive);
    else if (part == "planner") kinds.push_back(sim::autoscaler_kind::planner);
    else {
      std::cerr << "aladdin scale: bad value for --autoscalers: '" << part
                << "' is not one of static, reactive, planner\n";
      return 2;
    }
  }

  load_curve curve;
  std::string source;
  if (!servegen_dir.empty()) {
    auto [c, filled] = read_servegen_folder(servegen_dir);
    curve = c;
    source = servegen_dir + " (" + std::to_string(filled) + " empty windows interpolated)";
  } else if (!curve_path.empty()) {
    curve = read_load_curve_csv(curve_path);
    source = curve_path;
  } else {
    curve = builtin_curve(peak);
    source = "built-in two-day diurnal curve";
  }
  if (max_windows > 0 && curve.windows.size() > static_cast<std::size_t>(max_windows))
    curve.windows.resize(static_cast<std::size_t>(max_windows));
  curve = compress_time(scale_rates(curve, rate_factor), compress);
  const trace arrivals = generate_arrivals(
      curve, cv,
      [](rng& r) {
        const length_sample s = sample_builtin_lengths(r);
        return std::pair<int, int>{s.input_tokens, s.output_tokens};
      },
      seed);

  const worker_profile profile = shape.profile(static_cast<int>(tp));
  // Every autoscaler is sized by the same planner model of this shape and workload.
  const shape_capacity capacity =
      max_rate(profile, builtin_workload_stats(), slo_target{ttft, atgt});
  if (!capacity.feasible) {
    std::cerr << "aladdin scale: TP" << tp << " cannot meet these SLOs: " << capacity.reason << "\n";
    return 1;
  }
  const int peak_workers = std::max(1, static_cast<int>(std::ceil(curve.peak_rate() / capacity.max_rate_per_worker)));

  struct row {
    sim::autoscaler_kind kind;
    sim::simulation_result result;
  };
  std::vector<row> rows;
  int static_workers = peak_workers;
  for (auto kind : kinds) {
    sim::simulation_config c;
    c.policy = policy;
    c.profile = profile;
    c.truth = shape.truth(static_cast<int>(tp));
    c.slo = {ttft, atgt};
    c.seed = seed;
    c.timeline_window_s = curve.window_s;
    c.scaling.kind = kind;
    // The fleet's reaction times shrink with the curve, so a compressed day keeps the ratio of
    // start-up time to load swings of a real one.
    c.scaling.interval_s = interval_s / compress;
    c.scaling.startup_s = startup_s / compress;
    c.scaling.max_rate_per_worker = capacity.max_rate_per_worker;
    c.scaling.target_outstanding_per_worker = std::max(1.0, capacity.at_max.batch);
    // Static provisioning holds the peak's fleet; the autoscalers start from the first window's.
    c.workers = kind == sim::autoscaler_kind::none
                    ? peak_workers
                    : std::max(1, static_cast<int>(std::ceil(curve.windows.front().rate_per_s /
                                                             capacity.max_rate_per_worker)));
    sim::simulation_result result = sim::simulate(arrivals, c);
    // Static provisioning gets the same care as the planner: the fewest workers at which the
    // whole run reaches the attainment target, searched from the planner's peak estimate.
    if (kind == sim::autoscaler_kind::none) {
      while (result.attainment < target && c.workers < 4 * peak_workers + 4) {
        ++c.workers;
        result = sim::simulate(arrivals, c);
      }
      while (c.workers > 1 && result.attainment >= target) {
        auto smaller = c;
        --smaller.workers;
        auto r = sim::simulate(arrivals, smaller);
        if (r.attainment < target) break;
        c = smaller;
        result = std::move(r);
      }
    }
    if (kind == sim::autoscaler_kind::none) static_workers = c.workers;
    rows.push_back({kind, std::move(result)});
  }

  if (json) {
    json_writer w;
    w.begin_object()
        .field("curve", source)
        .field("windows", curve.windows.size())
        .field("simulated_hours", curve.duration_s() / 3600.0)
        .field("compress", compress)
        .field("queries", arrivals.size())
        .field("policy", policy)
        .field("tp", static_cast<int>(tp))
        .field("planner_rate_per_worker", capacity.max_rate_per_worker)
        .field("planner_peak_workers", peak_workers)
        .field("static_workers", static_workers)
        .key("runs")
        .begin_array();
    for (const auto& r : rows) {
      w.begin_object()
          .field("autoscaler", sim::to_string(r.kind))
          .field("gpu_hours", r.result.gpu_hours)
          .field("peak_gpus", r.result.gpus)
          .field("attainment", r.result.attainment)
          .field("scale_ups", r.result.scale_ups)
          .field("scale_downs", r.result.scale_downs)
          .field("workers_started", r.result.workers_started)
          .field("ttft_p99_s", r.result.ttft_p99_s)
          .field("atgt_p99_s", r.result.atgt_p99_s)
          .key("timeline")
          .begin_array();
      for (const auto& win : r.result.timeline) {
        w.begin_object()
            .field("start_s", win.start_s)
            .field("workers", win.workers)
            .field("attainment", win.arrivals ? static_cast<double>(win.met) / static_cast<double>(win.arrivals) : 1.0)
            .end_object();
      }
      w.end_array().end_object();
    }
    w.end_array().end_object();
    std::cout << w.str() << "\n";
    return 0;
  }
  std::printf("%s: %zu windows, %.1f h simulated (compressed %gx), %zu queries\n", source.c_str(),
              curve.windows.size(), curve.duration_s() / 3600.0, compress, arrivals.size());
  std::printf("placement %s, %s TP%lld, planner: %.3f q/s per worker; start-up %.0f s, interval %.0f s "
              "(curve time)\n\n",
              policy.c_str(), profile.config.model.c_str(), static_cast<long long>(tp),
              capacity.max_rate_per_worker, startup_s, interval_s);
  std::printf("static: %d workers reach %.2f attainment (the planner's peak estimate was %d)\n\n",
              static_workers, target, peak_workers);
  std::printf("autoscaler  GPU-hours  vs static  peak GPUs  attainment  scale-ups  scale-downs  TTFT p99  ATGT p99\n");
  const double base = rows.empty() ? 0 : rows.front().result.gpu_hours;
  for (const auto& r : rows) {
    std::printf("%-10s  %9.1f  %8.2fx  %9d  %10.4f  %9zu  %11zu  %6.2f s  %5.0f ms\n", sim::to_string(r.kind),
                r.result.gpu_hours, base > 0 ? r.result.gpu_hours / base : 0.0, r.result.gpus,
                r.result.attainment, r.result.scale_ups, r.result.scale_downs, r.result.ttft_p99_s,
                r.result.atgt_p99_s * 1e3);
  }
  return 0;
}

const command_registration reg{"scale", "compare static, reactive and planner-driven scaling on a load curve",
                               &run_scale};

}  // namespace
}  // namespace aladdin::cli
