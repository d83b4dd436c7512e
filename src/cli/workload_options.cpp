#include "cli/workload_options.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "model/builtin_profiles.hpp"
#include "placement/vllm_policy.hpp"
#include "trace/builtin_workload.hpp"
#include "trace/workload_family.hpp"
#include "trace/trace_reader.hpp"
#include "util/csv.hpp"

namespace aladdin::cli {

void workload_options::add_to(flag_set& flags) {
  flags.add_string("trace", &trace_path, "trace file (default: the built-in synthetic workload)");
  std::vector<std::string> families;
  for (const workload_family f : workload_families()) families.emplace_back(to_string(f));
  flags.add_choice("family", &family, families, "synthetic workload family (default: conversation; see README)");
  flags.add_choice("format", &format, {"azure", "mooncake", "csv"}, "trace format");
  flags.add_double("rate-scale", &rate_scale, "divide inter-arrival times by this (4 = 4x load)",
                   1e-6, 1e6);
  flags.add_double("rate", &rate, "built-in workload or --family: queries per second", 1e-6, 1e7);
  flags.add_duration("duration", &duration_s,
                     "built-in workload: how long arrivals last; with --trace: keep its first part");
  flags.add_double("cv", &cv, "built-in workload: inter-arrival CV (1 = Poisson; replaces a family's own)", 0.05, 20);
  flags.add_uint64("seed", &seed, "seed of the workload, the noise and the randomised policies");
}

trace workload_options::load() const {
  trace t;
  if (trace_path.empty()) {
    const auto f = parse_workload_family(family.empty() ? "conversation" : family);
    if (!f) throw input_error("unknown --family '" + family + "' (known: " + workload_family_names() + ")");
    const auto process = std::abs(cv - 1) < 1e-12 ? arrival_process::poisson() : arrival_process::gamma(cv);
    t = generate_family_trace(*f, rate, duration_s, seed,
                              cv_given || family.empty() ? std::optional(process) : std::nullopt);
  } else {
    const auto f = parse_trace_format(format);
    t = read_trace_file(trace_path, *f);
  }
  if (rate_scale != 1) scale_rate(t, rate_scale);
  if (!trace_path.empty() && cut_trace) {
    std::size_t keep = 0;
    while (keep < t.size() && t[keep].arrival_s < duration_s) ++keep;
    t.resize(keep);
  }
  if (t.empty()) throw input_error((trace_path.empty() ? std::string("built-in workload") : trace_path) + ": no queries");
  return t;
}

std::string workload_options::describe() const {
  std::ostringstream o;
  if (trace_path.empty() && family.empty())
    o << "built-in workload (Azure-conversation lengths), " << rate << " q/s for " << duration_s << " s";
  else if (trace_path.empty())
    o << "family " << family << " (" << aladdin::describe(parse_workload_family(family).value_or(workload_family::conversation))
      << "), " << rate << " q/s for " << duration_s << " s";
  else
    o << trace_path << " (" << format << ")" << (cut_trace ? ", first " + std::to_string(static_cast<long long>(duration_s)) + " s" : "");
  if (rate_scale != 1) o << " at " << rate_scale << "x rate";
  return o.str();
}

void shape_options::add_to(flag_set& flags) {
  flags.add_string("model", &model, "model of the workers");
  flags.add_string("gpu", &gpu, "GPU type of the workers");
  flags.add_string("truth-profile", &truth_profile,
                   "measured profile CSV (Splitwise format) for the simulated GPUs (default: built-in tables)");
}

worker_profile shape_options::profile(int tp) const {
  auto p = find_builtin_profile(model, gpu, tp);
  if (!p)
    throw input_error("no built-in profile for " + model + " on " + gpu + " at TP" + std::to_string(tp) +
                      " (see aladdin fit)");
  return *p;
}

sim::ground_truth shape_options::truth(int tp) const {
  if (!truth_profile.empty()) {
    std::ifstream in(truth_profile);
    if (!in) throw input_error(truth_profile + ": cannot open");
    const worker_profile p = profile(tp);
    return sim::ground_truth::from_profile_csv(in, truth_profile, p.config.model, p.config.gpu, tp);
  }
  auto t = sim::ground_truth::builtin(model, gpu, tp);
  if (!t)
    throw input_error("no built-in measurements for " + model + " on " + gpu + " at TP" + std::to_string(tp));
  return *t;
}

}  // namespace aladdin::cli

namespace aladdin::cli {

model_spec shape_options::model_facts() const {
  const auto m = find_model(model);
  if (!m) throw input_error("model '" + model + "' is not in the catalogue");
  return *m;
}

int shape_options::reference_tp() const {
  const auto tp = vllm_policy::default_tp(model, gpu);
  if (!tp) throw input_error("no default shape for " + model + " on " + gpu);
  return *tp;
}

sim::workload_ceiling shape_options::ceiling(const trace& arrivals, const slo_target& run_slo) const {
  std::vector<sim::ground_truth> truths;
  std::vector<double> capacities;
  for (const worker_profile& p : builtin_shapes(model, gpu)) {
    truths.push_back(truth(p.config.tp));
    capacities.push_back(p.kv.capacity_tokens);
  }
  std::vector<sim::ceiling_shape> shapes;
  for (std::size_t i = 0; i < truths.size(); ++i) shapes.push_back({&truths[i], capacities[i]});
  return sim::achievable_ceiling(arrivals, run_slo, shapes, model_facts());
}

void slo_options::add_to(flag_set& flags) {
  flags.add_duration("slo-ttft", &ttft_s, "time-to-first-token SLO");
  flags.add_duration("slo-atgt", &atgt_s, "average time per generated token SLO");
  flags.add_double("slo-scale", &scale,
                   "per-query SLOs: each query's TTFT and ATGT SLO is K x its latency alone on the reference "
                   "shape, the default TP of a vLLM deployment, by its measured ground truth (as DistServe and "
                   "Splitwise evaluate); replaces --slo-ttft/--slo-atgt (0: off)",
                   1e-3, 1e6);
}

std::string slo_options::apply(trace& arrivals, const shape_options& shape) const {
  if (scale <= 0) return "";
  const int tp = shape.reference_tp();
  sim::scale_slos(arrivals, shape.truth(tp), scale);
  std::ostringstream o;
  o << "per-query SLOs " << scale << "x the latency alone on " << shape.model << " TP" << tp;
  return o.str();
}

std::string ceiling_text(const sim::workload_ceiling& c, const model_spec& model) {
  std::ostringstream o;
  char buf[64];
  o << "achievable ceiling (alone on an idle worker):";
  for (const auto& s : c.shapes) {
    std::snprintf(buf, sizeof buf, " tp%d %.4f", s.tp, s.fraction);
    o << buf;
  }
  if (c.over_context > 0)
    o << "\nrejected at intake: " << c.over_context << " of " << c.queries << " queries over the context of "
      << model.name << " (" << model.context_tokens << " tokens, prompt + output); not in any attainment";
  return o.str();
}

void ceiling_json(json_writer& w, const sim::workload_ceiling& c) {
  w.field("over_context", c.over_context);
  w.key("ceiling").begin_object().field("best", c.best_fraction()).key("shapes").begin_array();
  for (const auto& s : c.shapes)
    w.begin_object()
        .field("tp", s.tp)
        .field("fraction", s.fraction)
        .field("admitted", s.admitted)
        .field("achievable", s.achievable)
        .field("over_kv", s.over_kv)
        .field("missed_ttft", s.missed_ttft)
        .field("missed_atgt", s.missed_atgt)
        .end_object();
  w.end_array().end_object();
}

}  // namespace aladdin::cli
