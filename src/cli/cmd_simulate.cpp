// aladdin simulate: one policy, one fleet, one workload, through the fleet simulator.

#include <chrono>
#include <fstream>
#include <cstdio>
#include <iostream>

#include "cli/command.hpp"
#include "cli/workload_options.hpp"
#include "placement/registry.hpp"
#include "sim/fleet_simulator.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"

namespace aladdin::cli {
namespace {

int run_simulate(int argc, char** argv) {
  workload_options workload;
  shape_options shape;
  std::string policy = "aladdin";
  std::string mode = "prefill-first";
  std::int64_t workers = 8, tp = 4, prefill_workers = 2;
  slo_options slo;
  bool json = false;
  const schedule_options defaults;
  double ttft_headroom = defaults.ttft_headroom, atgt_headroom = defaults.atgt_headroom,
         length_quantile = defaults.atgt_length_quantile;

  flag_set flags("simulate",
                 "Simulates a fleet of continuous-batching GPU workers serving a workload with one\n"
                 "placement policy, and reports SLO attainment, latencies and GPU cost.");
  workload.add_to(flags);
  shape.add_to(flags);
  std::vector<std::string> names;
  for (const auto& p : policies()) names.push_back(p.name);
  flags.add_choice("policy", &policy, names, "placement policy");
  flags.add_int("workers", &workers, "workers (the decode pool in split mode)", 1, 100000);
  flags.add_int("tp", &tp, "GPUs per worker (tensor-parallel degree)", 1, 64);
  flags.add_choice("mode", &mode, {"prefill-first", "chunked", "split"}, "batching regime");
  flags.add_int("prefill-workers", &prefill_workers, "split mode: prefill workers", 1, 100000);
  slo.add_to(flags);
  flags.add_double("ttft-headroom", &ttft_headroom, "fraction of the TTFT SLO placement plans to use", 0.1, 1.0);
  flags.add_double("atgt-headroom", &atgt_headroom,
                   "fraction of the ATGT SLO placement plans to use (split mode: on the decode pool, default 0.97)",
                   0.1, 1.0);
  flags.add_double("atgt-length-quantile", &length_quantile,
                   "quantile of remaining length ATGT budgets are planned with (0: the mean)", 0, 1);
  std::string policy_option;
  flags.add_string("policy-option", &policy_option,
                   "the policy's own knobs, knob=value[,knob=value] (aladdin: comfort-tightness)");
  double risk_budget = slo_feedback_options{}.risk_budget;
  flags.add_double("risk-budget", &risk_budget,
                   "misses allowed among placements the model planned, before it plans with less of each SLO (0: no feedback)",
                   0, 0.5);
  std::string decisions_path;
  flags.add_string("decisions", &decisions_path,
                   "write every query's decision (worker, predicted TTFT / iteration / KV, refusals) and outcome to this CSV");
  double max_wait = sim::simulation_config{}.max_wait_s;
  flags.add_duration("max-wait", &max_wait, "a query waiting longer at the intake fails (as serve --max-wait)");
  flags.add_bool("json", &json, "print one JSON object");
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;
  if (const std::string e = workload.note_given(flags); !e.empty()) {
    std::cerr << "aladdin simulate: " << e << "\n";
    return 2;
  }
  policy_config knobs;
  try {
    knobs = parse_policy_config(policy_option);
    (void)make_policy(policy, knobs);  // refuses a knob the policy does not take, before any work
  } catch (const std::invalid_argument& e) {
    std::cerr << "aladdin simulate: bad value for --policy-option: " << e.what() << "\n";
    return 2;
  }

  trace arrivals = workload.load();
  const std::string slo_note = slo.apply(arrivals, shape);
  const sim::workload_ceiling ceiling = shape.ceiling(arrivals, slo.run());
  const double ttft = slo.ttft_s, atgt = slo.atgt_s;
  sim::simulation_config c;
  c.policy = policy;
  c.policy_options = knobs;
  c.max_wait_s = max_wait;
  c.feedback.enabled = risk_budget > 0;
  if (risk_budget > 0) c.feedback.risk_budget = risk_budget;
  c.mode = mode == "chunked" ? sim::serving_mode::chunked
           : mode == "split" ? sim::serving_mode::split
                             : sim::serving_mode::prefill_first;
  c.profile = shape.profile(static_cast<int>(tp));
  c.truth = shape.truth(static_cast<int>(tp));
  c.workers = static_cast<int>(workers);
  c.prefill_workers = static_cast<int>(prefill_workers);
  c.slo = {ttft, atgt};
  c.seed = workload.seed;
  c.schedule.ttft_headroom = ttft_headroom;
  c.schedule.atgt_headroom = atgt_headroom;
  // In split mode the decode pool has its own default margin (no prefill stalls there); an
  // explicit --atgt-headroom sets it.
  if (flags.given("atgt-headroom")) c.decode_pool_atgt_headroom = atgt_headroom;
  c.schedule.atgt_length_quantile = length_quantile;

  c.record_decisions = !decisions_path.empty();
  std::ofstream decisions_file;
  if (c.record_decisions) {
    decisions_file.open(decisions_path);
    if (!decisions_file) {
      std::cerr << "aladdin simulate: cannot write --decisions " << decisions_path << "\n";
      return 2;
    }
  }

  progress_reporter progress = progress_reporter::for_terminal("aladdin simulate", json);
  if (progress.enabled())
    c.on_progress = [&progress](std::size_t arrived, std::size_t total) {
      progress.update(static_cast<double>(arrived), static_cast<double>(total),
                      std::to_string(arrived) + "/" + std::to_string(total) + " queries arrived");
    };
  const auto started = std::chrono::steady_clock::now();
  const sim::simulation_result r = sim::simulate(arrivals, c);
  progress.finish();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::vector<prediction_error> errors;
  if (c.record_decisions) {
    decisions_file << decisions_csv(r.decisions);
    if (!decisions_file.flush()) {
      std::cerr << "aladdin simulate: writing --decisions " << decisions_path << " failed\n";
      return 1;
    }
    errors = prediction_errors(r.decisions);
  }

  if (json) {
    json_writer w;
    w.begin_object()
        .field("policy", policy)
        .field("mode", mode)
        .field("model", c.profile.config.model)
        .field("gpu", c.profile.config.gpu)
        .field("tp", static_cast<int>(tp))
        .field("workers", static_cast<int>(workers));
    if (c.mode == sim::serving_mode::split) w.field("prefill_workers", static_cast<int>(prefill_workers));
    w.field("gpus", r.gpus)
        .field("queries", r.queries)
        .field("over_context", r.over_context)
        .field("finished", r.finished)
        .field("met_slo", r.met_slo)
        .field("attainment", r.attainment)
        .field("ttft_p50_s", r.ttft_p50_s)
        .field("ttft_p99_s", r.ttft_p99_s)
        .field("atgt_p50_s", r.atgt_p50_s)
        .field("atgt_p99_s", r.atgt_p99_s)
        .field("missed_ttft", r.missed_ttft)
        .field("missed_atgt", r.missed_atgt)
        .field("preemptions", static_cast<std::int64_t>(r.preemptions))
        .field("failed", r.failed)
        .field("expired", r.expired)
        .field("unfinished", r.unfinished)
        .field("queued_at_intake", r.queued_at_intake)
        .field("gpu_hours", r.gpu_hours)
        .field("simulated_s", r.makespan_s)
        .field("iterations", static_cast<std::int64_t>(r.iterations));
    ceiling_json(w, ceiling);
    w.key("margin").begin_object().field("ttft", r.final_margin.ttft).field("atgt", r.final_margin.atgt).end_object();
    if (c.record_decisions) {
      w.key("prediction_error").begin_array();
      for (const prediction_error& e : errors)
        w.begin_object()
            .field("decision", std::string(to_string(e.kind)))
            .field("finished", e.finished)
            .field("missed_ttft", e.missed_ttft)
            .field("missed_atgt", e.missed_atgt)
            .field("ttft_error_mean_s", e.ttft_error_mean_s)
            .field("ttft_error_p50_s", e.ttft_error_p50_s)
            .field("ttft_error_p90_s", e.ttft_error_p90_s)
            .field("ttft_error_p99_s", e.ttft_error_p99_s)
            .field("atgt_over_iteration_p50", e.atgt_ratio_p50)
            .field("atgt_over_iteration_p90", e.atgt_ratio_p90)
            .field("atgt_over_iteration_p99", e.atgt_ratio_p99)
            .field("length_over_expected_p10", e.length_ratio_p10)
            .field("length_over_expected_p50", e.length_ratio_p50)
            .field("length_over_expected_p90", e.length_ratio_p90)
            .end_object();
      w.end_array();
    }
    w.end_object();
    std::cout << w.str() << "\n";
    return 0;
  }
  std::printf("%s\n", workload.describe().c_str());
  std::printf("policy %s, %s, %lld x %s TP%lld", policy.c_str(), mode.c_str(),
              static_cast<long long>(workers), c.profile.config.model.c_str(), static_cast<long long>(tp));
  if (c.mode == sim::serving_mode::split) std::printf(" (+ %lld prefill workers)", static_cast<long long>(prefill_workers));
  std::printf(" = %d GPUs, SLO TTFT %.2f s, ATGT %.0f ms\n\n", r.gpus, ttft, atgt * 1e3);
  if (!slo_note.empty()) std::printf("%s\n", slo_note.c_str());
  std::printf("%s\n\n", ceiling_text(ceiling, shape.model_facts()).c_str());
  std::printf("  attainment      %.4f  (%zu of %zu queries met both SLOs)\n", r.attainment, r.met_slo,
              r.queries - r.over_context);
  std::printf("  TTFT p50 / p99  %.3f s / %.3f s\n", r.ttft_p50_s, r.ttft_p99_s);
  std::printf("  ATGT p50 / p99  %.1f ms / %.1f ms\n", r.atgt_p50_s * 1e3, r.atgt_p99_s * 1e3);
  std::printf("  finished        %zu  (failed %zu of which expired %zu, unfinished %zu, waited at intake %zu)\n",
              r.finished, r.failed, r.expired, r.unfinished, r.queued_at_intake);
  std::printf("  preemptions     %llu\n", static_cast<unsigned long long>(r.preemptions));
  std::printf("  GPU-hours       %.2f over %.0f s simulated (%.2f s wall)\n", r.gpu_hours, r.makespan_s, wall);
  std::printf("  margins         TTFT x%.3f, ATGT x%.3f of the configured headroom (learnt from outcomes)\n",
              r.final_margin.ttft, r.final_margin.atgt);
  if (!errors.empty()) {
    std::printf("\nprediction error by decision (observed - predicted TTFT; observed ATGT / predicted iteration;\n"
                "observed / expected length), written per query to %s\n", decisions_path.c_str());
    std::printf("  %-12s %8s %6s %6s  %-26s %-20s %s\n", "decision", "finished", "miss-T", "miss-A",
                "TTFT err p50/p90/p99 (s)", "ATGT ratio p50/p90/p99", "length p10/p50/p90");
    for (const prediction_error& e : errors)
      std::printf("  %-12s %8zu %6zu %6zu  %+.3f/%+.3f/%+.3f     %.2f/%.2f/%.2f       %.2f/%.2f/%.2f\n",
                  to_string(e.kind), e.finished, e.missed_ttft, e.missed_atgt, e.ttft_error_p50_s,
                  e.ttft_error_p90_s, e.ttft_error_p99_s, e.atgt_ratio_p50, e.atgt_ratio_p90,
                  e.atgt_ratio_p99, e.length_ratio_p10, e.length_ratio_p50, e.length_ratio_p90);
  }
  return 0;
}

const command_registration reg{"simulate", "simulate a fleet serving a workload with one policy",
                               &run_simulate};

}  // namespace
}  // namespace aladdin::cli
