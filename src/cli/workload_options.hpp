#pragma once
// Flags shared by the commands that run a workload (simulate, plan): where the arrivals come
// from, and which worker shape runs them.

#include <cstdint>
#include <string>

#include "model/latency_model.hpp"
#include "sim/ceiling.hpp"
#include "sim/ground_truth.hpp"
#include "trace/trace.hpp"
#include "util/flags.hpp"
#include "util/json.hpp"

namespace aladdin::cli {

struct workload_options {
  std::string trace_path;        // empty: the built-in synthetic workload
  std::string family;            // a workload family (trace/workload_family.hpp); empty: conversation
  std::string format = "azure";
  double rate_scale = 1;
  double rate = 4;               // built-in workload: queries per second
  double duration_s = 600;       // built-in workload: length of the run; a trace: its first part
  bool cut_trace = false;        // set when --duration was given with --trace
  double cv = 1;                 // built-in workload: inter-arrival coefficient of variation
  std::uint64_t seed = 1;

  void add_to(flag_set& flags);
  // After parsing: whether --duration also cuts a trace file, whether --cv was given. Returns a
  // one-line error for flags that cannot go together ("" when none).
  std::string note_given(const flag_set& flags) {
    cut_trace = flags.given("duration");
    cv_given = flags.given("cv");
    return !family.empty() && !trace_path.empty() ? "--family and --trace cannot be used together" : "";
  }
  bool cv_given = false;         // --cv replaces the family's own arrival process
  // Reads or generates the arrivals; throws input_error naming what was wrong.
  trace load() const;
  std::string describe() const;
};

struct shape_options {
  std::string model = "llama2-70b";
  std::string gpu = "a100-80gb";
  std::string truth_profile;     // measured CSV for the ground truth; empty: built-in tables

  void add_to(flag_set& flags);
  // The scheduler's fitted profile of one TP degree; throws input_error when there is none.
  worker_profile profile(int tp) const;
  // The measured behaviour of that shape.
  sim::ground_truth truth(int tp) const;
  // The catalogue's entry of the model (its context decides what the intake rejects); throws
  // input_error for a model the catalogue does not know.
  model_spec model_facts() const;
  // The shape --slo-scale scales from: the default TP of a vLLM deployment of the model.
  int reference_tp() const;
  // The achievable ceiling on every built-in shape of the model (sim/ceiling.hpp).
  sim::workload_ceiling ceiling(const trace& arrivals, const slo_target& run_slo) const;
};

// The SLO flags of plan and simulate: one SLO for the run, or --slo-scale K (each query's SLO K
// times its latency alone on the reference shape).
struct slo_options {
  double ttft_s = 2.0, atgt_s = 0.1;
  double scale = 0;  // 0: off

  void add_to(flag_set& flags);
  slo_target run() const { return {ttft_s, atgt_s}; }
  // With --slo-scale, sets every query's own SLO; describes what it did ("" when off).
  std::string apply(trace& arrivals, const shape_options& shape) const;
};

// "achievable ceiling (alone on an idle worker): tp2 0.9630, ..." and the context rejections.
std::string ceiling_text(const sim::workload_ceiling& c, const model_spec& model);
void ceiling_json(json_writer& w, const sim::workload_ceiling& c);

}  // namespace aladdin::cli
