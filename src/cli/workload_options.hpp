#pragma once
// Flags shared by the commands that run a workload (simulate, plan): where the arrivals come
// from, and which worker shape runs them.

#include <cstdint>
#include <string>

#include "model/latency_model.hpp"
#include "sim/ground_truth.hpp"
#include "trace/trace.hpp"
#include "util/flags.hpp"

namespace aladdin::cli {

struct workload_options {
  std::string trace_path;        // empty: the built-in synthetic workload
  std::string format = "azure";
  double rate_scale = 1;
  double rate = 4;               // built-in workload: queries per second
  double duration_s = 600;       // built-in workload: length of the run; a trace: its first part
  bool cut_trace = false;        // set when --duration was given with --trace
  double cv = 1;                 // built-in workload: inter-arrival coefficient of variation
  std::uint64_t seed = 1;

  void add_to(flag_set& flags);
  // After parsing: whether --duration also cuts a trace file.
  void note_given(const flag_set& flags) { cut_trace = flags.given("duration"); }
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
};

}  // namespace aladdin::cli
