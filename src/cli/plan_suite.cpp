#include "cli/plan_suite.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "model/builtin_profiles.hpp"
#include "placement/registry.hpp"
#include "placement/vllm_policy.hpp"
#include "trace/load_curve.hpp"
#include "trace/trace_reader.hpp"
#include "trace/workload_family.hpp"
#include "util/csv.hpp"
#include "util/json.hpp"
#include "util/text_table.hpp"

namespace aladdin::cli {

plan_outcome plan_workload(trace arrivals, const shape_options& shape, const slo_options& slo,
                           const sim::plan_search_options& options, bool best_topology) {
  plan_outcome out;
  out.pre.model = shape.model_facts();
  out.pre.slo_note = slo.apply(arrivals, shape);
  out.pre.ceiling = shape.ceiling(arrivals, options.slo);
  // A target no shape reaches even with a worker per query: an error before any search.
  if (options.attainment_target > out.pre.ceiling.best_fraction() + 1e-12) {
    out.pre.above_ceiling = true;
    return out;
  }
  // Queries over the model's context are rejected at intake: search_plans leaves them out.
  if (out.pre.ceiling.over_context == arrivals.size())
    throw input_error("every query is over the context of " + out.pre.model.name + " (" +
                      std::to_string(out.pre.model.context_tokens) + " tokens)");
  std::vector<sim::plan_shape> shapes;
  for (const worker_profile& p : builtin_shapes(shape.model, shape.gpu))
    shapes.push_back({p, shape.truth(p.config.tp)});
  if (shapes.empty())
    throw input_error("no built-in profiles for " + shape.model + " on " + shape.gpu + " (see aladdin fit)");
  const auto default_tp = vllm_policy::default_tp(shape.model, shape.gpu);
  static const sim::serving_mode both[] = {sim::serving_mode::prefill_first, sim::serving_mode::chunked};
  out.report = best_topology ? sim::search_topologies(arrivals, shapes, default_tp, options, both)
                             : sim::search_plans(arrivals, shapes, default_tp, options);
  return out;
}

std::string above_ceiling_message(double target, const plan_preamble& pre) {
  std::ostringstream o;
  o << "--attainment " << target << " is above the achievable ceiling "
    << format_cell("%.4f", pre.ceiling.best_fraction()) << " (tp" << pre.ceiling.best_tp()
    << ": the fraction of the queries within the model's context that meet their SLO even alone on an idle worker)";
  return o.str();
}

namespace {

struct suite_workload {
  std::string name;
  std::string source;
  trace arrivals;
};

trace first_seconds(trace t, double seconds) {
  std::size_t keep = 0;
  while (keep < t.size() && t[keep].arrival_s < seconds) ++keep;
  t.resize(keep);
  return t;
}

// The ServeGen folder: given, or unpacked from the shared tarball into a temporary folder
// (removed by the caller through `cleanup`). Empty when there is neither.
std::string servegen_folder(const suite_options& s, std::filesystem::path* cleanup) {
  if (!s.servegen_dir.empty()) return s.servegen_dir;
  const std::filesystem::path tarball =
      std::filesystem::path(s.data_dir) / "traces" / "servegen_language_m-small.tar.xz";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(tarball, ec)) return "";
  std::string dir = (std::filesystem::temp_directory_path() / "aladdin-suite-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) throw input_error("cannot create a temporary folder for " + tarball.string());
  *cleanup = dir;
  const std::string command = "tar -xJf '" + tarball.string() + "' -C '" + dir + "'";
  if (tarball.string().find('\'') != std::string::npos || std::system(command.c_str()) != 0)
    throw input_error(tarball.string() + ": cannot unpack (" + command + ")");
  return (std::filesystem::path(dir) / "servegen_language_m-small").string();
}

std::vector<suite_workload> suite_workloads(const suite_options& s) {
  std::vector<suite_workload> out;
  for (const workload_family f : workload_families())
    out.push_back({std::string(to_string(f)), describe(f), generate_family_trace(f, s.rate, s.duration_s, s.seed)});

  const std::filesystem::path azure = std::filesystem::path(s.data_dir) / "traces" / "AzureLLMInferenceTrace_conv.csv";
  std::error_code ec;
  if (std::filesystem::is_regular_file(azure, ec)) {
    trace t = read_trace_file(azure.string(), trace_format::azure);
    if (s.rate_scale != 1) scale_rate(t, s.rate_scale);
    out.push_back({"azure-conv", azure.string() + ", first " + format_cell("%.0f", s.duration_s) + " s at " +
                                     format_cell("%g", s.rate_scale) + "x",
                   first_seconds(std::move(t), s.duration_s)});
  }

  std::filesystem::path cleanup;
  const std::string folder = servegen_folder(s, &cleanup);
  if (!folder.empty()) {
    load_curve curve = read_servegen_folder(folder).first;
    if (!cleanup.empty()) std::filesystem::remove_all(cleanup, ec);
    // Its first day (144 ten-minute windows), compressed into the suite's duration and scaled to
    // the suite's mean rate: the day's shape at a fleet size the suite can simulate.
    if (curve.windows.size() > 144) curve.windows.resize(144);
    curve = compress_time(curve, curve.duration_s() / s.duration_s);
    curve = scale_rates(curve, s.rate / curve.mean_rate());
    const length_sampler lengths = [](rng& r) {
      const length_sample l = sample_builtin_lengths(r);
      return std::pair{l.input_tokens, l.output_tokens};
    };
    const std::string where = cleanup.empty() ? folder : (std::filesystem::path(s.data_dir) / "traces" /
                                                          "servegen_language_m-small.tar.xz").string();
    out.push_back({"servegen", where + ": its first day compressed into " + format_cell("%.0f", s.duration_s) +
                                   " s at a mean of " + format_cell("%g", s.rate) +
                                   " q/s, Poisson within windows, conversation lengths",
                   generate_arrivals(curve, 1.0, lengths, s.seed)});
  }
  return out;
}

const sim::policy_plan* find(const sim::plan_report& r, std::string_view name) {
  for (const auto& p : r.policies)
    if (p.policy == name) return &p;
  return nullptr;
}

bool is_baseline(const std::string& name) {
  const policy_info* info = find_policy(name);
  return name != "aladdin" && info != nullptr && !info->uses_true_lengths;
}

// What a suite row says about one workload, as numbers (text and JSON print the same).
struct suite_row {
  std::string name, source;
  std::size_t queries = 0, over_context = 0;
  double ceiling = 1;                      // the best shape's
  std::vector<sim::shape_ceiling> ceilings;  // every shape's
  bool above_ceiling = false;
  std::vector<const sim::policy_plan*> plans;  // in the order of the options' policies
  const sim::policy_plan* best_baseline = nullptr;
  std::optional<double> vs_best, vs_vllm, vs_oracle, planner_error;
  std::optional<int> planner_gpus;
  double wall_s = 0;
};

std::optional<double> ratio(const sim::policy_plan* a, const sim::policy_plan* b) {
  if (a == nullptr || b == nullptr || !a->reached || !b->reached || b->result.gpus == 0) return std::nullopt;
  return static_cast<double>(a->result.gpus) / b->result.gpus;
}

suite_row row_of(const suite_workload& w, const plan_outcome& out, const sim::plan_search_options& o) {
  suite_row row;
  row.name = w.name;
  row.source = w.source;
  row.queries = w.arrivals.size();
  row.over_context = out.pre.ceiling.over_context;
  row.ceiling = out.pre.ceiling.best_fraction();
  row.ceilings = out.pre.ceiling.shapes;
  row.above_ceiling = out.pre.above_ceiling;
  if (!out.report) return row;
  const sim::plan_report& r = *out.report;
  for (const std::string& name : o.policies) row.plans.push_back(find(r, name));
  for (const auto& p : r.policies)
    if (is_baseline(p.policy) && p.reached &&
        (row.best_baseline == nullptr || p.result.gpus < row.best_baseline->result.gpus))
      row.best_baseline = &p;
  const sim::policy_plan* aladdin = find(r, "aladdin");
  row.vs_best = ratio(aladdin, row.best_baseline);
  row.vs_vllm = ratio(aladdin, find(r, "vllm"));
  row.vs_oracle = ratio(aladdin, find(r, "oracle"));
  row.planner_gpus = r.planner.gpus;
  if (r.planner.gpus && aladdin != nullptr && aladdin->reached && aladdin->result.gpus > 0)
    row.planner_error = static_cast<double>(*r.planner.gpus - aladdin->result.gpus) / aladdin->result.gpus;
  return row;
}

std::string cell(const sim::policy_plan* p) {
  if (p == nullptr || p->tp == 0) return "-";
  return (p->reached ? "" : "!") + std::to_string(p->result.gpus);
}

std::string ratio_cell(const std::optional<double>& r) { return r ? format_cell("%.2fx", *r) : "-"; }

void print_text(const std::vector<suite_row>& rows, const shape_options& shape, const slo_options& slo,
                const sim::plan_search_options& o, const suite_options& s) {
  std::printf("workload-family suite: %s on %s; SLO TTFT %g s, ATGT %g ms%s; target attainment %g; %s\n",
              shape.model.c_str(), shape.gpu.c_str(), slo.ttft_s, slo.atgt_s * 1e3,
              slo.scale > 0 ? (" (--slo-scale " + format_cell("%g", slo.scale) + ": per query)").c_str() : "",
              o.attainment_target, s.best_topology ? "best of prefill-first and chunked per policy" : sim::to_string(o.mode));
  std::printf("synthetic families at %g q/s for %g s, seed %llu\n\n", s.rate, s.duration_s,
              static_cast<unsigned long long>(s.seed));
  std::string ceiling_head = "ceiling";
  if (!rows.empty() && !rows.front().ceilings.empty()) {
    ceiling_head += " tp";
    for (std::size_t i = 0; i < rows.front().ceilings.size(); ++i)
      ceiling_head += (i ? "/" : "") + std::to_string(rows.front().ceilings[i].tp);
  }
  std::vector<std::string> header = {"workload", "queries", "over ctx", ceiling_head};
  for (const std::string& p : o.policies) header.push_back(p);
  for (const char* h : {"vs best baseline", "vs vllm", "vs oracle", "planner", "planner err"}) header.push_back(h);
  std::vector<std::vector<std::string>> table = {header};
  for (const suite_row& r : rows) {
    std::string ceilings;
    for (const auto& c : r.ceilings) ceilings += (ceilings.empty() ? "" : "/") + format_cell("%.3f", c.fraction);
    std::vector<std::string> line = {r.name, std::to_string(r.queries), std::to_string(r.over_context), ceilings};
    if (r.above_ceiling) {
      for (std::size_t i = 0; i < o.policies.size(); ++i) line.push_back("^");
      for (int i = 0; i < 5; ++i) line.push_back("-");
    } else {
      for (const auto* p : r.plans) line.push_back(cell(p));
      line.push_back(r.vs_best ? ratio_cell(r.vs_best) + " (" + r.best_baseline->policy + ")" : "-");
      line.push_back(ratio_cell(r.vs_vllm));
      line.push_back(ratio_cell(r.vs_oracle));
      line.push_back(r.planner_gpus ? std::to_string(*r.planner_gpus) : "-");
      line.push_back(r.planner_error ? format_cell("%+.0f%%", *r.planner_error * 100) : "-");
    }
    table.push_back(std::move(line));
  }
  std::fflush(stdout);
  print_table(std::cout, table, {true});
  std::cout.flush();
  std::printf("\n  GPUs per policy at its best shape (vllm, vllm-v0: the default shape as shipped); ! target not reached\n"
              "  within --max-gpus (the largest fleet tried); ^ target above the ceiling, nothing searched.\n"
              "  ceiling: per shape, the fraction of queries within the model's context that meet their SLO\n"
              "  alone on an idle worker; over ctx: rejected at intake (prompt + output over the context).\n"
              "  vs: aladdin's GPUs over the other's (the best baseline: fewest GPUs of jsq, p2c, rr, least-kv,\n"
              "  vllm); planner err: (planner prediction - aladdin's simulated GPUs) / aladdin's.\n\n");
  for (const suite_row& r : rows) std::printf("  %-13s %s (%.0f s wall)\n", r.name.c_str(), r.source.c_str(), r.wall_s);
}

void print_json(const std::vector<suite_row>& rows, const shape_options& shape, const slo_options& slo,
                const sim::plan_search_options& o, const suite_options& s) {
  json_writer w;
  w.begin_object().field("model", shape.model).field("gpu", shape.gpu);
  w.key("slo").begin_object().field("ttft_s", slo.ttft_s).field("atgt_s", slo.atgt_s).field("scale", slo.scale).end_object();
  w.field("attainment_target", o.attainment_target)
      .field("mode", std::string(sim::to_string(o.mode)))
      .field("rate_qps", s.rate)
      .field("duration_s", s.duration_s)
      .field("seed", static_cast<std::int64_t>(s.seed));
  w.key("workloads").begin_array();
  auto opt = [&](const char* k, const std::optional<double>& v) {
    if (v) w.field(k, *v);
    else w.key(k).null();
  };
  for (const suite_row& r : rows) {
    w.begin_object()
        .field("name", r.name)
        .field("source", r.source)
        .field("queries", r.queries)
        .field("over_context", r.over_context)
        .field("ceiling", r.ceiling)
        .field("above_ceiling", r.above_ceiling);
    w.key("ceiling_by_shape").begin_array();
    for (const auto& c : r.ceilings) w.begin_object().field("tp", c.tp).field("fraction", c.fraction).end_object();
    w.end_array();
    w.key("policies").begin_array();
    for (const auto* p : r.plans) {
      if (p == nullptr) continue;
      w.begin_object().field("policy", p->policy).field("reached", p->reached).field("gpus", p->result.gpus)
          .field("tp", p->tp).field("workers", p->result.workers).field("attainment", p->result.attainment).end_object();
    }
    w.end_array();
    if (r.best_baseline) w.field("best_baseline", r.best_baseline->policy);
    else w.key("best_baseline").null();
    opt("vs_best_baseline", r.vs_best);
    opt("vs_vllm", r.vs_vllm);
    opt("vs_oracle", r.vs_oracle);
    if (r.planner_gpus) w.field("planner_gpus", *r.planner_gpus);
    else w.key("planner_gpus").null();
    opt("planner_error", r.planner_error);
    w.end_object();
  }
  w.end_array().end_object();
  std::cout << w.str() << "\n";
}

}  // namespace

int run_suite(const suite_options& s, const shape_options& shape, const slo_options& slo,
              const sim::plan_search_options& options) {
  const std::vector<suite_workload> workloads = suite_workloads(s);
  const bool progress = isatty(2) != 0;
  std::vector<plan_outcome> outcomes;  // the rows point into their reports
  outcomes.reserve(workloads.size());
  std::vector<suite_row> rows;
  for (const suite_workload& w : workloads) {
    if (progress) std::fprintf(stderr, "  suite: %s (%zu queries)...\n", w.name.c_str(), w.arrivals.size());
    const auto started = std::chrono::steady_clock::now();
    outcomes.push_back(plan_workload(w.arrivals, shape, slo, options, s.best_topology));
    rows.push_back(row_of(w, outcomes.back(), options));
    rows.back().wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  if (s.json) print_json(rows, shape, slo, options, s);
  else print_text(rows, shape, slo, options, s);
  return 0;
}

}  // namespace aladdin::cli
