// aladdin plan: for each placement policy, the fewest GPUs (and the worker shape) with which the
// fleet simulator reaches an SLO-attainment target on a workload, found by simulation search
// (src/sim/plan_search.hpp); beside them the planner's prediction and a fluid lower bound.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cli/command.hpp"
#include "cli/plan_suite.hpp"
#include "cli/workload_options.hpp"
#include "model/builtin_profiles.hpp"
#include "placement/registry.hpp"
#include "placement/vllm_policy.hpp"
#include "sim/plan_search.hpp"
#include "util/csv.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"
#include "util/text_table.hpp"

namespace aladdin::cli {
namespace {


std::string seconds(double s) { return s < 1.0 ? format_cell("%.0f ms", s * 1e3) : format_cell("%.2f s", s); }

const sim::policy_plan* find_plan(const sim::plan_report& r, const std::string& name) {
  for (const auto& p : r.policies)
    if (p.policy == name) return &p;
  return nullptr;
}

// GPUs of p relative to a reference policy's; "-" when either did not reach the target (then
// there is no GPU count to compare) or the reference was not run.
std::string ratio(const sim::policy_plan& p, const sim::policy_plan* reference) {
  if (reference == nullptr || !p.reached || !reference->reached || reference->result.gpus == 0) return "-";
  return format_cell("%.2fx", static_cast<double>(p.result.gpus) / reference->result.gpus);
}

void print_json(const sim::plan_report& r, const workload_options& workload, const shape_options& shape,
                const sim::plan_search_options& o, const std::string& mode, const plan_preamble& pre) {
  json_writer w;
  w.begin_object();
  ceiling_json(w, pre.ceiling);
  if (!pre.slo_note.empty()) w.field("slo_scale", pre.slo_note);
  w.key("policies").begin_array();
  for (const auto& p : r.policies) {
    w.begin_object()
        .field("policy", p.policy)
        .field("gpus", p.result.gpus)
        .field("tp", p.tp)
        .field("workers", p.result.workers)
        .field("attainment", p.result.attainment)
        .field("ttft_p99_s", p.result.ttft_p99_s)
        .field("atgt_p99_s", p.result.atgt_p99_s)
        .field("reached", p.reached)
        .field("fixed_shape", p.fixed_shape)
        .field("mode", std::string(sim::to_string(p.mode)));
    w.key("shapes").begin_array();
    for (const auto& s : p.shapes) {
      w.begin_object().field("tp", s.tp).field("outcome", std::string(sim::to_string(s.outcome)))
          .field("workers", s.workers);
      w.key("probes").begin_array();
      for (const auto& probe : s.probes)
        w.begin_object().field("workers", probe.workers).field("gpus", probe.gpus)
            .field("attainment", probe.attainment).end_object();
      w.end_array().end_object();
    }
    w.end_array().end_object();
  }
  w.end_array();
  w.key("planner_prediction").begin_object();
  if (r.planner.gpus) w.field("gpus", *r.planner.gpus); else w.key("gpus").null();
  w.field("tp", r.planner.tp);
  if (r.planner.workers) w.field("workers", *r.planner.workers); else w.key("workers").null();
  w.field("rate_qps", r.planner.rate_qps)
      .field("rate", std::string("mean arrival rate: queries / (last - first arrival)"))
      .end_object();
  if (r.lower_bound.gpus) w.field("lower_bound_gpus", *r.lower_bound.gpus); else w.key("lower_bound_gpus").null();
  w.key("lower_bound").begin_object().field("tp", r.lower_bound.tp).key("shapes").begin_array();
  for (const auto& s : r.lower_bound.shapes) {
    w.begin_object().field("tp", s.tp).field("feasible", s.feasible).field("gpus", s.gpus)
        .field("workers", s.workers).field("forced_misses", s.forced_misses).field("lambda", s.lambda)
        .field("window_start_s", s.window_start_s).field("window_end_s", s.window_end_s).end_object();
  }
  w.end_array().end_object();
  w.key("workload").begin_object()
      .field("source", workload.describe())
      .field("queries", r.queries)
      .field("span_s", r.arrival_span_s)
      .end_object();
  w.field("model", shape.model).field("gpu", shape.gpu);
  w.key("slo").begin_object().field("ttft_s", o.slo.ttft_s).field("atgt_s", o.slo.atgt_s).end_object();
  w.field("attainment_target", o.attainment_target)
      .field("mode", mode)
      .field("max_gpus", o.max_gpus)
      .field("seed", static_cast<std::int64_t>(o.seed))
      .field("simulations", r.simulations)
      .end_object();
  std::cout << w.str() << "\n";
}

void print_human(const sim::plan_report& r, const workload_options& workload, const shape_options& shape,
                 const sim::plan_search_options& o, const std::string& mode, const plan_preamble& pre) {
  std::printf("%s\n", workload.describe().c_str());
  if (!pre.slo_note.empty()) std::printf("%s (--slo-ttft/--slo-atgt only for the planner and the bound)\n", pre.slo_note.c_str());
  std::printf("%s\n", ceiling_text(pre.ceiling, pre.model).c_str());
  std::printf("%zu queries over %.0f s (mean %.2f q/s); %s on %s; SLO TTFT %s, ATGT %s; target attainment %.4g; %s\n\n",
              r.queries, r.arrival_span_s, r.planner.rate_qps, shape.model.c_str(), shape.gpu.c_str(),
              seconds(o.slo.ttft_s).c_str(), seconds(o.slo.atgt_s).c_str(), o.attainment_target, mode.c_str());
  const sim::policy_plan* aladdin = find_plan(r, "aladdin");
  const sim::policy_plan* vllm = find_plan(r, "vllm");
  std::vector<std::vector<std::string>> rows = {
      {"policy", "GPUs", "shape", "attainment", "TTFT p99", "ATGT p99", "vs aladdin", "vs vllm"}};
  bool any_unreached = false, any_fixed = false, any_empty = false;
  for (const auto& p : r.policies) {
    std::string name = p.policy;
    if (p.fixed_shape) name += "*", any_fixed = true;
    if (p.tp == 0) {
      rows.push_back({name, "-", "-", "-", "-", "-", "-", "-"});
      any_empty = true;
      continue;
    }
    std::string gpus = std::to_string(p.result.gpus);
    if (!p.reached) gpus = "!" + gpus, any_unreached = true;
    std::string shape_text = std::to_string(p.result.workers) + " x tp" + std::to_string(p.tp);
    if (mode == "best") shape_text += std::string(" ") + sim::to_string(p.mode);
    rows.push_back({name, gpus, shape_text,
                    format_cell("%.4f", p.result.attainment), seconds(p.result.ttft_p99_s),
                    seconds(p.result.atgt_p99_s), ratio(p, aladdin), ratio(p, vllm)});
  }
  std::fflush(stdout);
  print_table(std::cout, rows, {true});
  std::cout.flush();
  if (any_fixed)
    std::printf("  * a deployment as it ships: vLLM's default shape; vllm with chunked prefill (today's default),\n"
                "    vllm-v0 prefill-first (the paper's baseline)\n");
  if (any_unreached) {
    std::printf("  ! target not reached within %d GPUs: the largest fleet tried on the shape that came closest", o.max_gpus);
    bool plateau = false;
    for (const auto& p : r.policies)
      for (const auto& s : p.shapes) plateau |= !p.reached && s.outcome == sim::search_outcome::plateau;
    std::printf("%s\n", plateau ? " (or where more workers stopped changing anything: they were left idle)" : "");
  }
  if (any_empty) std::printf("  - nothing simulated: no worker of the shapes fits within %d GPUs\n", o.max_gpus);
  std::printf("\n");
  if (r.planner.gpus)
    std::printf("planner prediction (steady-state model at the mean arrival rate, %.2f q/s): %d GPUs (%d x tp%d)\n",
                r.planner.rate_qps, *r.planner.gpus, *r.planner.workers, r.planner.tp);
  else
    std::printf("planner prediction (at the mean arrival rate, %.2f q/s): no shape is feasible\n", r.planner.rate_qps);
  if (r.lower_bound.gpus) {
    const auto& shapes = r.lower_bound.shapes;
    const auto best = std::find_if(shapes.begin(), shapes.end(),
                                   [&](const sim::shape_bound& s) { return s.feasible && s.tp == r.lower_bound.tp; });
    std::printf("fluid lower bound (fitted model, busiest window %.0f-%.0f s): %d GPUs (tp%d)\n",
                best->window_start_s, best->window_end_s, *r.lower_bound.gpus, r.lower_bound.tp);
  } else {
    std::printf("fluid lower bound: no shape can reach the target under the fitted model\n");
  }
  std::printf("simulations: %zu\n", r.simulations);
}

int run_plan(int argc, char** argv) {
  workload_options workload;
  // Without a trace: a load that needs a fleet of tens of workers, so shapes and policies differ.
  workload.rate = 20;
  workload.duration_s = 900;
  shape_options shape;
  slo_options slo;
  double attainment = 0.99;
  std::string policies = policy_names();
  std::string mode = "best";
  std::int64_t max_gpus = 2048;
  std::int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  bool json = false;
  std::string svg;

  flag_set flags("plan",
                 "For each placement policy, the fewest GPUs (and the worker shape) that reach an\n"
                 "SLO-attainment target on a workload, found by simulation search over the built-in\n"
                 "shapes of the model (vllm stays on its default shape); with the planner's prediction\n"
                 "and a fluid lower bound.");
  workload.add_to(flags);
  shape.add_to(flags);
  slo.add_to(flags);
  flags.add_double("attainment", &attainment, "fraction of queries that must meet both SLOs", 1e-9, 1);
  flags.add_string("policies", &policies, "comma-separated placement policies");
  flags.add_choice("mode", &mode, {"prefill-first", "chunked", "best"},
                   "batching regime; best: search both, keep each policy's best (vllm: always chunked, vllm-v0: always prefill-first)");
  flags.add_int("max-gpus", &max_gpus, "search limit: no fleet larger than this is simulated", 1, 1000000);
  flags.add_int("threads", &threads, "simulations run in parallel (the result does not depend on it)", 1, 1024);
  flags.add_bool("json", &json, "print one JSON object");
  flags.add_string("svg", &svg, "write the attainment-against-GPUs chart to this SVG file");
  bool suite = false;
  std::string data_dir = "../shared/data", servegen_dir;
  flags.add_bool("suite", &suite,
                 "the workload-family suite: plan over every --family (at --rate, default 20 q/s, for "
                 "--duration, default 600 s), the shared Azure conversation trace (its first --duration at "
                 "--rate-scale, default 4x) and ServeGen's first day when --data holds them; one table of "
                 "GPUs per policy, ratios, the planner's error and the ceiling");
  flags.add_string("data", &data_dir, "--suite: the shared data folder (traces/ inside; skipped when absent)");
  flags.add_string("servegen", &servegen_dir,
                   "--suite: an unpacked ServeGen folder (default: unpack the tarball under --data)");
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;
  if (const std::string e = workload.note_given(flags); !e.empty()) {
    std::cerr << "aladdin plan: " << e << "\n";
    return 2;
  }

  sim::plan_search_options o;
  try {
    o.policies = sim::parse_policy_list(policies);
  } catch (const std::invalid_argument& e) {
    std::cerr << "aladdin plan: bad value for --policies: " << e.what() << "\n";
    return 2;
  }
  o.slo = slo.run();
  o.attainment_target = attainment;
  o.mode = mode == "chunked" ? sim::serving_mode::chunked : sim::serving_mode::prefill_first;
  o.max_gpus = static_cast<int>(max_gpus);
  o.threads = static_cast<int>(threads);
  o.seed = workload.seed;

  if (suite) {
    suite_options so;
    so.rate = flags.given("rate") ? workload.rate : so.rate;
    so.duration_s = flags.given("duration") ? workload.duration_s : so.duration_s;
    so.rate_scale = flags.given("rate-scale") ? workload.rate_scale : so.rate_scale;
    so.seed = workload.seed;
    so.data_dir = data_dir;
    so.servegen_dir = servegen_dir;
    so.json = json;
    so.best_topology = mode == "best";
    if (!workload.trace_path.empty() || !workload.family.empty() || !svg.empty()) {
      std::cerr << "aladdin plan: --suite runs its own workloads: --trace, --family and --svg do not apply\n";
      return 2;
    }
    return run_suite(so, shape, slo, o);
  }

  progress_reporter progress = progress_reporter::for_terminal("aladdin plan", json);
  if (progress.enabled())  // simulations planned: so far per search finished, times the searches
    o.on_progress = [&progress](const sim::plan_progress& p) {
      const auto done = static_cast<double>(p.simulations);
      const double planned = p.searches_done > 0 ? done * static_cast<double>(p.searches) /
                                                       static_cast<double>(p.searches_done)
                                                 : 0;
      progress.update(done, planned, std::to_string(p.searches_done) + "/" + std::to_string(p.searches) +
                                         " searches, " + std::to_string(p.simulations) + " simulations");
    };
  const plan_outcome outcome = plan_workload(workload.load(), shape, slo, o, mode == "best");
  progress.finish();
  const plan_preamble& pre = outcome.pre;
  if (pre.above_ceiling) {
    std::cerr << "aladdin plan: " << above_ceiling_message(attainment, pre) << "\n"
              << ceiling_text(pre.ceiling, pre.model) << "\n";
    return 2;
  }
  const sim::plan_report& report = *outcome.report;

  if (!svg.empty()) {
    std::ofstream out(svg);
    if (!out) throw input_error(svg + ": cannot write");
    out << sim::render_svg(sim::plan_chart(report, o.attainment_target));
    if (!out) throw input_error(svg + ": write failed");
  }
  if (json)
    print_json(report, workload, shape, o, mode, pre);
  else
    print_human(report, workload, shape, o, mode, pre);
  return 0;
}

const command_registration reg{"plan", "fewest GPUs per placement policy to reach an SLO-attainment target (simulated)",
                               &run_plan};

}  // namespace
}  // namespace aladdin::cli
