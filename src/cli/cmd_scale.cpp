// aladdin scale: a time-varying load through three ways of sizing the fleet — static peak
// provisioning, a reactive utilisation autoscaler, and aladdin's forecast-driven planner — with
// the same placement policy, workers and SLOs, in the fleet simulator, measured against the
// hindsight-optimal fleet (plan/hindsight.hpp: per window, the fewest workers with which the
// curve reaches the attainment target in the simulator, each requested a start-up time ahead,
// replayed through the whole curve). GPU-hours are counted over the curve in its own time,
// whatever --compress does.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/workload_options.hpp"
#include "placement/registry.hpp"
#include "plan/hindsight.hpp"
#include "plan/planner.hpp"
#include "sim/fleet_simulator.hpp"
#include "trace/builtin_workload.hpp"
#include "trace/load_curve.hpp"
#include "util/csv.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"
#include "util/text_table.hpp"

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

// What one way of sizing the fleet cost and achieved.
struct fleet_row {
  std::string name;
  double gpu_hours = 0;  // over the curve's span, in the curve's own (uncompressed) time
  int peak_gpus = 0;
  std::optional<double> attainment;            // the hindsight-model fleet is never simulated
  std::optional<sim::simulation_result> run;   // the autoscalers' one simulation of the whole curve
};

// Scale's work for the progress line, counted in simulated arrivals. Each stage's estimate is
// planned up front (static: three runs of the whole curve; hindsight: two simulations per
// window); a run that says how far its stage is (hindsight: the window's place in the curve)
// projects the stage from its pace so far; a stage that runs past its plan plans more, and one
// that ends sooner gives the rest back.
class scale_work {
 public:
  explicit scale_work(progress_reporter& reporter) : reporter_(reporter) {}
  void plan(double arrivals) { planned_ += arrivals; }
  void stage(std::string name, double estimate) {
    end_stage();
    stage_ = std::move(name);
    stage_planned_ = estimate;
  }
  void end_stage() {
    planned_ -= stage_planned_ - stage_done_;
    stage_planned_ = stage_done_ = stage_fraction_ = 0;
  }

  // stage_fraction: how much of the stage is behind this run, when known (0: not known); the
  // most said so far holds.
  sim::simulation_result run(const trace& arrivals, sim::simulation_config c, const std::string& what,
                             double stage_fraction = 0) {
    const auto n = static_cast<double>(arrivals.size());
    stage_fraction_ = std::max(stage_fraction_, stage_fraction);  // a search may look back
    double projected = stage_fraction_ > 0 ? stage_done_ / stage_fraction_ : stage_planned_;
    projected = std::max(projected, stage_done_ + n);
    planned_ += projected - stage_planned_;
    stage_planned_ = projected;
    ++simulations_;
    const std::string line = stage_ + ": " + what + " (simulation " + std::to_string(simulations_) + ")";
    if (reporter_.enabled())
      c.on_progress = [&](std::size_t arrived, std::size_t) {
        reporter_.update(done_ + static_cast<double>(arrived), planned_, line);
      };
    sim::simulation_result r = sim::simulate(arrivals, c);
    done_ += n;
    stage_done_ += n;
    reporter_.update(done_, planned_, line);
    return r;
  }

 private:
  progress_reporter& reporter_;
  std::string stage_;
  double planned_ = 0, done_ = 0, stage_planned_ = 0, stage_done_ = 0, stage_fraction_ = 0;
  std::size_t simulations_ = 0;
};

// The arrivals of each window of `window_s`, shifted to start at 0.
std::vector<trace> per_window(const trace& arrivals, std::size_t windows, double window_s) {
  std::vector<trace> out(windows);
  for (const trace_record& r : arrivals) {
    const auto k = std::min(windows - 1, static_cast<std::size_t>(r.arrival_s / window_s));
    trace_record shifted = r;
    shifted.arrival_s -= static_cast<double>(k) * window_s;
    out[k].push_back(shifted);
  }
  return out;
}

const char* const kFleets[] = {"static", "reactive", "planner", "hindsight"};

int run_scale(int argc, char** argv) {
  shape_options shape;
  std::string curve_path, servegen_dir, policy = "aladdin", autoscalers = "static,reactive,planner,hindsight";
  double compress = 1, rate_factor = 1, peak = 8, cv = 1, ttft = 2.0, atgt = 0.1, target = 0.99;
  double startup_s = 300, interval_s = 300;
  std::int64_t tp = 4, max_windows = 0, first_window = 0, max_replays = 20;
  std::int64_t stabilization = sim::scaling_config{}.stabilization_intervals;
  std::uint64_t seed = 1;
  bool json = false;

  flag_set flags("scale",
                 "Runs a time-varying load through static peak provisioning, a reactive utilisation\n"
                 "autoscaler and aladdin's planner, and compares their GPU-hours, SLO attainment and\n"
                 "scaling actions with the hindsight-optimal fleet: per window of the curve, the fewest\n"
                 "workers that reach --attainment over the whole curve in the simulator, each requested\n"
                 "a start-up time ahead. --compress divides the curve's time for speed (and changes\n"
                 "what the forecaster sees); GPU-hours are counted in the curve's own time.");
  shape.add_to(flags);
  flags.add_string("curve", &curve_path, "load curve CSV: window_start_s,rate_per_s (default: built-in two days)");
  flags.add_string("servegen", &servegen_dir, "a ServeGen folder of chunk-*-trace.csv files (summed)");
  flags.add_int("first-window", &first_window, "skip the curve's first N windows (ServeGen: 144 a day)", 0,
                100000000);
  flags.add_int("windows", &max_windows, "use only N windows from there (0: all)", 0, 100000000);
  flags.add_double("compress", &compress, "divide the curve's time by this (1: its own time scale)", 1, 1e6);
  flags.add_double("rate-factor", &rate_factor, "multiply the curve's rates by this", 1e-6, 1e6);
  flags.add_double("peak-rate", &peak, "built-in curve: peak queries per second", 1e-3, 1e6);
  flags.add_double("cv", &cv, "inter-arrival coefficient of variation (1 = Poisson)", 0.05, 20);
  std::vector<std::string> names;
  for (const auto& p : policies()) names.push_back(p.name);
  flags.add_choice("policy", &policy, names, "placement policy for every run");
  flags.add_string("autoscalers", &autoscalers, "which of static,reactive,planner,hindsight to run, in this order");
  flags.add_int("tp", &tp, "GPUs per worker", 1, 64);
  flags.add_duration("startup", &startup_s,
                     "time from starting a worker until it serves, in the curve's time (compressed too)");
  flags.add_duration("interval", &interval_s, "autoscaler interval, in the curve's time (compressed too)");
  flags.add_int("stabilization", &stabilization,
                "reactive and planner: scale down only when this many rounds in a row asked for fewer", 1, 1000);
  flags.add_duration("slo-ttft", &ttft, "time-to-first-token SLO");
  flags.add_duration("slo-atgt", &atgt, "average time per generated token SLO");
  flags.add_double("attainment", &target,
                   "static and hindsight fleets: the fewest workers reaching this over the whole run", 0, 1);
  flags.add_int("hindsight-replays", &max_replays,
                "hindsight: replays of its schedule through the whole curve, at most", 1, 10000);
  flags.add_uint64("seed", &seed, "seed of arrivals and noise");
  flags.add_bool("json", &json, "print one JSON object");
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;

  std::vector<std::string> fleets;
  for (auto part : split_csv_line(autoscalers)) {
    const std::string name(part);
    if (std::find(std::begin(kFleets), std::end(kFleets), name) == std::end(kFleets)) {
      std::cerr << "aladdin scale: bad value for --autoscalers: '" << name
                << "' is not one of static, reactive, planner, hindsight\n";
      return 2;
    }
    if (std::find(fleets.begin(), fleets.end(), name) != fleets.end()) {
      std::cerr << "aladdin scale: bad value for --autoscalers: '" << name << "' is given twice\n";
      return 2;
    }
    fleets.push_back(name);
  }
  if (fleets.empty()) {
    std::cerr << "aladdin scale: bad value for --autoscalers: it names none of static, reactive, planner, hindsight\n";
    return 2;
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
  if (curve.windows.empty()) throw input_error(source + ": the curve has no windows");
  if (static_cast<std::size_t>(first_window) >= curve.windows.size()) {
    std::cerr << "aladdin scale: bad value for --first-window: " << first_window << " is past the curve's "
              << curve.windows.size() << " windows\n";
    return 2;
  }
  curve.windows.erase(curve.windows.begin(), curve.windows.begin() + first_window);
  if (first_window > 0) source += ", from window " + std::to_string(first_window);
  if (max_windows > 0 && curve.windows.size() > static_cast<std::size_t>(max_windows))
    curve.windows.resize(static_cast<std::size_t>(max_windows));
  const double curve_window_s = curve.window_s;
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
  const auto planner_workers = [&](double rate) {
    return std::max(1, workers_needed(rate, capacity.max_rate_per_worker));
  };
  const int peak_workers = planner_workers(curve.peak_rate());
  const int max_workers = 4 * peak_workers + 4;  // no search goes past this
  const std::size_t windows = curve.windows.size();
  const double span_s = curve.duration_s();         // simulated time
  const double startup_sim_s = startup_s / compress;  // the fleet's reaction times shrink with the curve
  // Simulated worker-seconds → GPU-hours of the curve in its own time.
  const double gpu_hours_per_worker_s = compress * static_cast<double>(tp) / 3600.0;

  const auto config_for = [&](sim::autoscaler_kind kind, int workers) {
    sim::simulation_config c;
    c.policy = policy;
    c.profile = profile;
    c.truth = shape.truth(static_cast<int>(tp));
    c.slo = {ttft, atgt};
    c.seed = seed;
    c.timeline_window_s = curve.window_s;
    c.scaling.kind = kind;
    // A compressed day keeps the ratio of start-up time to load swings of a real one.
    c.scaling.interval_s = interval_s / compress;
    c.scaling.startup_s = startup_sim_s;
    c.scaling.max_rate_per_worker = capacity.max_rate_per_worker;
    c.scaling.stabilization_intervals = static_cast<int>(stabilization);
    c.scaling.target_outstanding_per_worker = std::max(1.0, capacity.at_max.batch);
    c.workers = workers;
    return c;
  };
  const auto row_of = [&](std::string name, sim::simulation_result r, int initial_workers) {
    fleet_row row;
    row.name = std::move(name);
    row.gpu_hours = worker_seconds({initial_workers, r.fleet_changes}, span_s) * gpu_hours_per_worker_s;
    row.peak_gpus = r.gpus;
    row.attainment = r.attainment;
    row.run = std::move(r);
    return row;
  };

  // A per-window schedule, each window's workers paid from a start-up time before it.
  const auto schedule_row = [&](std::string name, const std::vector<int>& workers) {
    fleet_row row;
    row.name = std::move(name);
    row.gpu_hours = worker_seconds(hindsight_fleet(workers, curve.window_s, startup_sim_s), span_s) *
                    gpu_hours_per_worker_s;
    row.peak_gpus = *std::max_element(workers.begin(), workers.end()) * static_cast<int>(tp);
    return row;
  };

  progress_reporter reporter = progress_reporter::for_terminal("aladdin scale", json);
  scale_work work(reporter);
  const auto all = static_cast<double>(arrivals.size());
  for (const auto& f : fleets) work.plan(f == "static" ? 3 * all : f == "hindsight" ? 3 * all : all);

  std::vector<fleet_row> rows;
  int static_workers = 0;
  std::size_t hindsight_simulations = 0, hindsight_short = 0, hindsight_replays = 0, hindsight_added = 0;
  bool hindsight_reached = true;
  double hindsight_alone_hours = 0, hindsight_alone_attainment = 0;
  std::vector<int> hindsight_workers, model_workers;
  for (const auto& f : fleets) {
    if (f == "static") {
      // The fewest workers at which the whole run reaches the target, searched from the
      // planner's peak estimate: the same care as the hindsight fleet gets per window.
      work.stage("static", 3 * all);
      std::vector<std::pair<int, sim::simulation_result>> tried;
      const window_sizing s = fewest_per_window(
          1,
          [&](std::size_t, int n) {
            tried.emplace_back(n, work.run(arrivals, config_for(sim::autoscaler_kind::none, n),
                                           std::to_string(n) + " workers"));
            const sim::simulation_result& r = tried.back().second;
            return r.met_slo >= required_met(target, r.queries);
          },
          {peak_workers}, 1, max_workers);
      static_workers = s.workers[0];
      for (auto& [n, r] : tried)
        if (n == static_workers) {
          rows.push_back(row_of("static", std::move(r), n));
          break;
        }
    } else if (f == "reactive" || f == "planner") {
      work.stage(f, all);
      const auto kind = f == "planner" ? sim::autoscaler_kind::planner : sim::autoscaler_kind::reactive;
      // The autoscalers start from the first window's fleet, by the planner's sizing.
      const int initial = planner_workers(curve.windows.front().rate_per_s);
      rows.push_back(row_of(f, work.run(arrivals, config_for(kind, initial), "the whole curve"), initial));
    } else {
      work.stage("hindsight", 2 * all);
      const std::vector<trace> slices = per_window(arrivals, windows, curve.window_s);
      model_workers.clear();
      for (const auto& w : curve.windows) model_workers.push_back(planner_workers(w.rate_per_s));
      const hindsight_sizing s = size_hindsight(
          windows,
          [&](std::size_t k, int n) {
            if (slices[k].empty()) return window_score{};
            const sim::simulation_result r =
                work.run(slices[k], config_for(sim::autoscaler_kind::none, n),
                         "window " + std::to_string(k + 1) + "/" + std::to_string(windows) + ", " +
                             std::to_string(n) + " workers",
                         static_cast<double>(k) / static_cast<double>(windows));
            return window_score{r.met_slo, r.queries};
          },
          model_workers, 1, max_workers, target);
      hindsight_simulations = s.evaluations;
      hindsight_short = s.windows_short;
      hindsight_alone_hours = schedule_row("", s.workers).gpu_hours;
      hindsight_alone_attainment = s.queries > 0 ? static_cast<double>(s.met) / static_cast<double>(s.queries) : 1.0;
      // The schedule through the whole curve at once, repaired where a backlog carried from one
      // window into the next (which the windows alone never see) breaks the target.
      work.stage("hindsight replayed", all);
      std::optional<sim::simulation_result> last;
      const replayed_sizing replayed = repair_by_replay(
          s,
          [&](const std::vector<int>& workers) {
            sim::simulation_config replay = config_for(sim::autoscaler_kind::scheduled, 0);
            replay.scaling.schedule = hindsight_fleet(workers, curve.window_s, startup_sim_s);
            replay.workers = replay.scaling.schedule.initial;
            replay.scaling.stabilization_intervals = 1;
            last = work.run(arrivals, replay, "the whole curve");
            std::vector<window_score> scores(windows);
            for (std::size_t k = 0; k < windows && k < last->timeline.size(); ++k)
              scores[k] = {last->timeline[k].met, last->timeline[k].arrivals};
            return scores;
          },
          max_workers, target, static_cast<std::size_t>(max_replays));
      hindsight_workers = replayed.workers;
      hindsight_replays = replayed.replays;
      hindsight_reached = replayed.reached;
      for (std::size_t k = 0; k < windows; ++k)
        hindsight_added += static_cast<std::size_t>(replayed.workers[k] - s.workers[k]);
      rows.push_back(row_of("hindsight", std::move(*last), hindsight_fleet(replayed.workers, curve.window_s,
                                                                           startup_sim_s).initial));
      // What the planner would run if it knew every window's rate and its model were right.
      rows.push_back(schedule_row("hindsight-model", model_workers));
    }
  }
  work.end_stage();
  reporter.finish();

  const fleet_row* hindsight = nullptr;
  const fleet_row* fixed = nullptr;
  for (const auto& r : rows) {
    if (r.name == "hindsight") hindsight = &r;
    if (r.name == "static") fixed = &r;
  }
  const auto versus = [](const fleet_row& r, const fleet_row* base) -> std::optional<double> {
    if (base == nullptr || !(base->gpu_hours > 0)) return std::nullopt;
    return r.gpu_hours / base->gpu_hours;
  };

  if (json) {
    json_writer w;
    w.begin_object()
        .field("curve", source)
        .field("windows", windows)
        .field("window_s", curve_window_s)
        .field("curve_hours", span_s * compress / 3600.0)
        .field("simulated_hours", span_s / 3600.0)
        .field("compress", compress)
        .field("queries", arrivals.size())
        .field("policy", policy)
        .field("tp", static_cast<int>(tp))
        .field("startup_s", startup_s)
        .field("interval_s", interval_s)
        .field("attainment_target", target)
        .field("planner_rate_per_worker", capacity.max_rate_per_worker)
        .field("planner_peak_workers", peak_workers)
        .field("static_workers", static_workers);
    if (!hindsight_workers.empty()) {
      w.key("hindsight")
          .begin_object()
          .field("method", "per window, the fewest workers (each window simulated alone on a static fleet) "
                           "that together reach the attainment target over the curve, requested a start-up "
                           "time ahead; then replayed through the whole curve, a worker added where a replay "
                           "misses the target")
          .field("simulations_alone", hindsight_simulations)
          .field("windows_short_alone", hindsight_short)
          .field("gpu_hours_alone", hindsight_alone_hours)
          .field("attainment_alone", hindsight_alone_attainment)
          .field("replays", hindsight_replays)
          .field("worker_windows_added", hindsight_added)
          .field("reached", hindsight_reached)
          .key("workers")
          .begin_array();
      for (int n : hindsight_workers) w.value(n);
      w.end_array().key("planner_model_workers").begin_array();
      for (int n : model_workers) w.value(n);
      w.end_array().end_object();
    }
    w.key("runs").begin_array();
    for (const auto& r : rows) {
      w.begin_object().field("autoscaler", r.name).field("gpu_hours", r.gpu_hours).field("peak_gpus", r.peak_gpus);
      if (auto v = versus(r, hindsight)) w.field("vs_hindsight", *v);
      if (auto v = versus(r, fixed)) w.field("vs_static", *v);
      if (r.attainment) w.field("attainment", *r.attainment);
      if (r.run) {
        const sim::simulation_result& x = *r.run;
        w.field("simulated_gpu_hours", x.gpu_hours)
            .field("scale_ups", x.scale_ups)
            .field("scale_downs", x.scale_downs)
            .field("workers_started", x.workers_started)
            .field("ttft_p99_s", x.ttft_p99_s)
            .field("atgt_p99_s", x.atgt_p99_s)
            .key("timeline")
            .begin_array();
        for (const auto& win : x.timeline) {
          w.begin_object()
              .field("start_s", win.start_s)
              .field("workers", win.workers)
              .field("attainment", win.arrivals ? static_cast<double>(win.met) / static_cast<double>(win.arrivals) : 1.0)
              .end_object();
        }
        w.end_array();
      }
      w.end_object();
    }
    w.end_array().end_object();
    std::cout << w.str() << "\n";
    return 0;
  }
  std::printf("%s: %zu windows of %g s, %.1f h of curve (simulated in %.2f h, compressed %gx), %zu queries\n",
              source.c_str(), windows, curve_window_s, span_s * compress / 3600.0, span_s / 3600.0, compress,
              arrivals.size());
  std::printf("placement %s, %s TP%lld, planner: %.3f q/s per worker; start-up %.0f s, interval %.0f s "
              "(curve time)\n",
              policy.c_str(), profile.config.model.c_str(), static_cast<long long>(tp),
              capacity.max_rate_per_worker, startup_s, interval_s);
  if (fixed != nullptr)
    std::printf("static: %d workers reach %.2f attainment (the planner's peak estimate was %d)\n", static_workers,
                target, peak_workers);
  if (hindsight != nullptr) {
    std::printf("hindsight: per window, the fewest workers (each window simulated alone on a static fleet)\n"
                "  that together reach %.2f over the curve, each requested %.0f s ahead (%zu simulations:\n"
                "  %.1f GPU-hours, %.4f attainment); replayed through the whole curve, %zu worker-windows\n"
                "  added in %zu replays%s\n",
                target, startup_s, hindsight_simulations, hindsight_alone_hours, hindsight_alone_attainment,
                hindsight_added, hindsight_replays,
                hindsight_reached ? "" : "; still short of the target (see --hindsight-replays)");
    if (hindsight_short > 0)
      std::printf("  %zu windows miss %.2f alone even at %d workers: the others carry them\n", hindsight_short, target,
                  max_workers);
    std::printf("hindsight-model: the same with the planner's sizing of each window's true rate (not simulated)\n");
  }
  std::printf("GPU-hours over the curve in its own time; target: attainment %.2f\n\n", target);
  std::vector<std::vector<std::string>> table{{"autoscaler", "GPU-hours", "vs hindsight", "vs static", "peak GPUs",
                                               "attainment", "target", "scale-ups", "scale-downs", "TTFT p99",
                                               "ATGT p99"}};
  const auto ratio = [](std::optional<double> v) { return v ? format_cell("%.2fx", *v) : std::string("-"); };
  for (const auto& r : rows) {
    std::vector<std::string> cells{r.name, format_cell("%.1f", r.gpu_hours), ratio(versus(r, hindsight)),
                                   ratio(versus(r, fixed)), std::to_string(r.peak_gpus),
                                   r.attainment ? format_cell("%.4f", *r.attainment) : "-",
                                   !r.attainment ? "-" : *r.attainment >= target ? "met" : "missed"};
    if (r.run) {
      cells.push_back(std::to_string(r.run->scale_ups));
      cells.push_back(std::to_string(r.run->scale_downs));
      cells.push_back(format_cell("%.2f s", r.run->ttft_p99_s));
      cells.push_back(format_cell("%.0f ms", r.run->atgt_p99_s * 1e3));
    } else {
      cells.insert(cells.end(), 4, "-");
    }
    table.push_back(std::move(cells));
  }
  print_table(std::cout, table, {true});
  return 0;
}

const command_registration reg{"scale", "compare static, reactive and planner-driven scaling on a load curve",
                               &run_scale};

}  // namespace
}  // namespace aladdin::cli
