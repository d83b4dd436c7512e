// aladdin size: the fewest GPUs and the best worker shape for a demand under SLOs, from the
// latency model (steady state, see plan/planner.hpp), and the actions that get a fleet there.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "model/builtin_profiles.hpp"
#include "model/hardware.hpp"
#include "plan/planner.hpp"
#include "trace/builtin_workload.hpp"
#include "trace/trace_reader.hpp"
#include "util/csv.hpp"
#include "util/flags.hpp"
#include "util/json.hpp"
#include "util/text_table.hpp"

namespace aladdin::cli {

namespace {

// Built-in workload: enough samples that the p99s the planner uses are stable to about a
// percent, fixed seed so the answer is the same on every run.
constexpr std::size_t kBuiltinSamples = 20000;
constexpr std::uint64_t kBuiltinSeed = 1;

// "tp4:10,tp8:2" → entries. nullopt (and *why) on anything else.
std::optional<std::vector<fleet_entry>> parse_fleet(std::string_view spec,
                                                    const std::string& model,
                                                    const std::string& gpu, std::string* why) {
  std::vector<fleet_entry> out;
  while (true) {
    const auto comma = spec.find(',');
    const std::string_view item = trim(spec.substr(0, comma));
    const auto colon = item.find(':');
    std::optional<long long> tp, n;
    if (item.size() > 2 && (item[0] == 't' || item[0] == 'T') &&
        (item[1] == 'p' || item[1] == 'P') && colon != std::string_view::npos) {
      tp = to_integer(item.substr(2, colon - 2));
      n = to_integer(item.substr(colon + 1));
    }
    if (!tp || !n || *tp < 1 || *tp > 1024 || *n < 0 || *n > 1000000) {
      *why = "'" + std::string(item) +
             "' is not tpN:WORKERS (example: tp4:10,tp8:2; N >= 1, WORKERS >= 0)";
      return std::nullopt;
    }
    out.push_back({{model, gpu, static_cast<int>(*tp)}, static_cast<int>(*n)});
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return out;
}

std::string number(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string duration(double s) {
  if (!std::isfinite(s)) return "inf";
  return s < 1.0 ? number("%.0f ms", s * 1e3) : number("%.2f s", s);
}

std::string shape_name(int tp) { return "tp" + std::to_string(tp); }

std::string describe(const std::vector<fleet_action>& actions) {
  std::string out;
  for (const auto& a : actions) {
    if (!out.empty()) out += ", ";
    out += std::string(to_string(a.kind)) + " " + std::to_string(a.workers) + " " +
           shape_name(a.config.tp) + (a.workers == 1 ? " worker" : " workers");
  }
  return out;
}

void print_json(const fleet_plan& plan, const workload_stats& w, const std::string& source,
                const slo_target& slo, const planner_options& opt, const std::string& model,
                const std::string& gpu, const std::vector<fleet_action>& actions) {
  json_writer j;
  j.begin_object();
  j.field("model", model).field("gpu", gpu);
  j.key("workload").begin_object();
  j.field("source", source)
      .field("queries", w.queries)
      .field("mean_input_tokens", w.mean_input)
      .field("mean_output_tokens", w.mean_output)
      .field("p99_input_tokens", w.input_p99)
      .field("p99_output_tokens", w.output_p99);
  j.end_object();
  j.key("slo").begin_object();
  j.field("ttft_s", slo.ttft_s)
      .field("atgt_s", slo.atgt_s)
      .field("ttft_quantile", opt.ttft_quantile)
      .field("atgt_headroom", opt.atgt_headroom);
  j.end_object();
  j.field("rate", plan.demand);
  j.key("shapes").begin_array();
  for (const auto& s : plan.shapes) {
    const auto& c = s.capacity;
    j.begin_object();
    j.field("tp", c.config.tp).field("gpus_per_worker", c.gpus_per_worker);
    j.field("feasible", c.feasible);
    j.field("max_rate_per_worker", c.max_rate_per_worker).field("rate_per_gpu", c.rate_per_gpu);
    j.field("binding", to_string(c.binding));
    if (c.feasible) {
      j.field("batch", c.at_max.batch)
          .field("predicted_atgt_s", c.at_max.atgt_s)
          .field("predicted_atgt_p99_s", c.at_max.atgt_tail_s)
          .field("predicted_ttft_s", c.at_max.ttft_s)
          .field("kv_tokens", c.at_max.kv_tokens)
          .field("workers", s.workers)
          .field("gpus", s.gpus);
    } else {
      j.key("batch").null().key("predicted_atgt_s").null().key("predicted_ttft_s").null();
      j.key("kv_tokens").null().key("workers").null().key("gpus").null();
      j.field("reason", c.reason);
    }
    j.end_object();
  }
  j.end_array();
  j.key("best");
  if (plan.best) {
    const auto& b = plan.shapes[*plan.best];
    j.begin_object()
        .field("tp", b.capacity.config.tp)
        .field("workers", b.workers)
        .field("gpus", b.gpus)
        .end_object();
  } else {
    j.null();
  }
  j.key("actions").begin_array();
  for (const auto& a : actions) {
    j.begin_object()
        .field("action", to_string(a.kind))
        .field("tp", a.config.tp)
        .field("workers", a.workers)
        .end_object();
  }
  j.end_array();
  j.end_object();
  std::cout << j.str() << "\n";
}

void print_plan(const fleet_plan& plan, const workload_stats& w, const std::string& source,
                 const slo_target& slo, const planner_options& opt, const std::string& model,
                 const std::string& gpu, const std::vector<fleet_action>& actions,
                 bool have_current) {
  auto& o = std::cout;
  o << model << " on " << gpu << ", " << number("%g", plan.demand) << " queries/s, SLO: p"
    << number("%g", opt.ttft_quantile * 100) << " TTFT <= " << duration(slo.ttft_s)
    << ", ATGT <= " << duration(slo.atgt_s) << " (planned at "
    << duration(slo.atgt_s * opt.atgt_headroom) << ")\n";
  o << "workload: " << source << ", mean " << number("%.0f", w.mean_input) << " input / "
    << number("%.0f", w.mean_output) << " output tokens\n\n";

  std::vector<std::vector<std::string>> rows = {
      {"shape", "max q/s/worker", "q/s/GPU", "limited by", "batch", "ATGT mean / p99",
       "TTFT p" + number("%g", opt.ttft_quantile * 100), "workers", "GPUs"}};
  std::vector<std::string> infeasible;
  for (std::size_t i = 0; i < plan.shapes.size(); ++i) {
    const auto& s = plan.shapes[i];
    const auto& c = s.capacity;
    const std::string name = shape_name(c.config.tp);
    if (!c.feasible) {
      infeasible.push_back(name + " cannot meet the SLOs (" + std::string(to_string(c.binding)) +
                           "): " + c.reason);
      continue;
    }
    rows.push_back({name + (plan.best == i ? " *" : ""),
                    number("%.3g", c.max_rate_per_worker), number("%.3g", c.rate_per_gpu),
                    std::string(to_string(c.binding)), number("%.1f", c.at_max.batch),
                    duration(c.at_max.atgt_s) + " / " + duration(c.at_max.atgt_tail_s),
                    duration(c.at_max.ttft_s), std::to_string(s.workers),
                    std::to_string(s.gpus)});
  }
  if (rows.size() > 1)
    print_table(o, rows, {true, false, false, true, false, false, false, false, false});
  for (const auto& line : infeasible) o << line << "\n";
  if (rows.size() > 1) o << "(batch, ATGT and TTFT as predicted at each shape's max rate)\n";
  o << "\n";
  if (!plan.best) {
    o << "no worker shape meets these SLOs on " << gpu << "; relax the SLOs or use another GPU\n";
    return;
  }
  const auto& b = plan.shapes[*plan.best];
  o << "best (*): " << b.workers << " x " << shape_name(b.capacity.config.tp) << " = " << b.gpus
    << " GPUs\n";
  if (have_current)
    o << "to get there: "
      << (actions.empty() ? "nothing to do, the fleet matches" : describe(actions)) << "\n";
  else if (!actions.empty())
    o << "to get there from an empty fleet: " << describe(actions)
      << " (--current tp4:10,... to diff a running fleet)\n";
}

int run_size(int argc, char** argv) {
  double rate = 10;
  slo_target slo{2.0, 0.1};
  planner_options opt;
  std::string trace_path, format = "azure", model = "llama2-70b", gpu = "a100-80gb", current;
  bool json = false;

  flag_set flags("size",
                 "The fewest GPUs and the best worker shape (GPUs per worker) that serve a demand "
                 "within the SLOs,\nfrom the latency model in steady state, and the actions that "
                 "turn --current into that fleet.\nWorkload lengths: a trace (--trace) or the "
                 "built-in Azure-fitted workload.\nExit code 1 when no shape can meet the SLOs.");
  flags.add_double("rate", &rate, "demand, queries per second", 0, 1e9);
  flags.add_duration("slo-ttft", &slo.ttft_s, "time-to-first-token SLO (met at p99)");
  flags.add_duration("slo-atgt", &slo.atgt_s, "average time per output token SLO");
  flags.add_double("headroom", &opt.atgt_headroom,
                   "plan for ATGT <= headroom x SLO, leaving room for load swings", 0.01, 1);
  flags.add_string("trace", &trace_path, "take the length distribution from this trace");
  flags.add_choice("format", &format, {"azure", "mooncake", "csv"}, "format of --trace");
  flags.add_string("model", &model, "model (built-in profiles)");
  flags.add_string("gpu", &gpu, "GPU type (built-in profiles)");
  flags.add_string("current", &current, "running fleet to diff against, e.g. tp4:10,tp8:2");
  flags.add_bool("json", &json, "print JSON instead of a table");
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;

  const auto fail = [](const std::string& msg) {
    std::cerr << "aladdin size: " << msg << "\n";
    return 2;
  };
  if (!(slo.ttft_s > 0)) return fail("bad value for --slo-ttft: must be positive");
  if (!(slo.atgt_s > 0)) return fail("bad value for --slo-atgt: must be positive");
  if (flags.given("format") && trace_path.empty()) return fail("--format needs --trace");
  const auto m = find_model(model);
  if (!m) return fail("bad value for --model: unknown model '" + model + "'");
  const auto g = find_gpu(gpu);
  if (!g) return fail("bad value for --gpu: unknown GPU '" + gpu + "'");
  const std::vector<worker_profile> profiles = builtin_shapes(m->name, g->name);
  if (profiles.empty())
    return fail("no built-in profile for " + m->name + " on " + g->name +
                " (see --model and --gpu)");

  std::vector<fleet_entry> fleet;
  if (flags.given("current")) {
    std::string why;
    auto parsed = parse_fleet(current, m->name, g->name, &why);
    if (!parsed) return fail("bad value for --current: " + why);
    fleet = std::move(*parsed);
  }

  workload_stats w;
  std::string source;
  if (trace_path.empty()) {
    w = builtin_workload_stats(kBuiltinSamples, kBuiltinSeed);
    source = "builtin";
  } else {
    const auto f = parse_trace_format(format);
    const trace t = read_trace_file(trace_path, *f);
    if (t.empty()) throw input_error(trace_path + ": the trace has no queries");
    w = summarize_workload(t, trace_path);
    source = trace_path;
  }
  if (!(w.mean_output > 0))
    throw input_error(source + ": every query has 0 output tokens; nothing to plan for");

  const fleet_plan plan = plan_fleet(profiles, w, slo, rate, opt);
  std::vector<fleet_action> actions;
  if (plan.best) {
    const auto& b = plan.shapes[*plan.best];
    actions = diff_fleet(fleet, {b.capacity.config, b.workers});
  }

  if (json) {
    print_json(plan, w, source, slo, opt, m->name, g->name, actions);
  } else {
    const std::string shown =
        trace_path.empty()
            ? "built-in (fitted to the Azure LLM conversation trace)"
            : trace_path + " (" + std::to_string(w.queries) + " queries)";
    print_plan(plan, w, shown, slo, opt, m->name, g->name, actions, flags.given("current"));
  }
  return plan.best ? 0 : 1;
}

}  // namespace

}  // namespace aladdin::cli

static const aladdin::cli::command_registration reg{
    "size", "fewest GPUs and best worker shape for a demand", &aladdin::cli::run_size};
