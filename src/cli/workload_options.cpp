#include "cli/workload_options.hpp"

#include <fstream>
#include <sstream>

#include "model/builtin_profiles.hpp"
#include "trace/builtin_workload.hpp"
#include "trace/trace_reader.hpp"
#include "util/csv.hpp"

namespace aladdin::cli {

void workload_options::add_to(flag_set& flags) {
  flags.add_string("trace", &trace_path, "trace file (default: the built-in synthetic workload)");
  flags.add_choice("format", &format, {"azure", "mooncake", "csv"}, "trace format");
  flags.add_double("rate-scale", &rate_scale, "divide inter-arrival times by this (4 = 4x load)",
                   1e-6, 1e6);
  flags.add_double("rate", &rate, "built-in workload: queries per second", 1e-6, 1e7);
  flags.add_duration("duration", &duration_s,
                     "built-in workload: how long arrivals last; with --trace: keep its first part");
  flags.add_double("cv", &cv, "built-in workload: inter-arrival CV (1 = Poisson)", 0.05, 20);
  flags.add_uint64("seed", &seed, "seed of the workload, the noise and the randomised policies");
}

trace workload_options::load() const {
  trace t;
  if (trace_path.empty()) {
    const auto process = std::abs(cv - 1) < 1e-12 ? arrival_process::poisson() : arrival_process::gamma(cv);
    t = generate_builtin_trace(rate, duration_s, process, seed);
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
  if (trace_path.empty())
    o << "built-in workload (Azure-conversation lengths), " << rate << " q/s for " << duration_s << " s";
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
