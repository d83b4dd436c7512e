#pragma once
// One plan over one workload (what `aladdin plan` prints), and the workload-family suite
// (`aladdin plan --suite`) that runs it over every family.
//
// Why a mode of `plan` and not a script in bench/: the suite needs the plan search's report
// (GPUs per policy, the planner's prediction) and the ceiling as numbers, to put ratios side by
// side; inside the binary it reads them directly, with the very flags `plan` takes, and it runs
// wherever `aladdin` does (no jq, no Python).

#include <optional>
#include <string>

#include "cli/workload_options.hpp"
#include "sim/plan_search.hpp"

namespace aladdin::cli {

// What plan knows before any search: the ceiling on every shape, the context rejections, the SLOs.
struct plan_preamble {
  sim::workload_ceiling ceiling;
  model_spec model;
  std::string slo_note;       // --slo-scale: what it did ("" when off)
  bool above_ceiling = false;  // the target is above the best shape's ceiling: nothing was searched
};

struct plan_outcome {
  plan_preamble pre;
  std::optional<sim::plan_report> report;  // empty when above_ceiling
};

// Applies --slo-scale, computes the ceiling, and, when the target is within it, searches the
// queries within the model's context (the others are rejected at intake).
// best_topology: search prefill-first and chunked batching per policy (sim::search_topologies).
plan_outcome plan_workload(trace arrivals, const shape_options& shape, const slo_options& slo,
                           const sim::plan_search_options& options, bool best_topology = false);

// "--attainment 0.99 is above the achievable ceiling 0.9170 (tp8; ...)".
std::string above_ceiling_message(double target, const plan_preamble& pre);

struct suite_options {
  double rate = 20;            // synthetic families: queries per second
  double duration_s = 600;     // every workload: seconds of arrivals
  double rate_scale = 4;       // the shared Azure trace: replayed this many times faster
  std::uint64_t seed = 1;
  std::string data_dir = "../shared/data";  // the shared traces, when present
  std::string servegen_dir;    // an unpacked ServeGen folder (default: unpack the tarball of data_dir)
  bool json = false;
  bool best_topology = false;  // plan --mode best: prefill-first and chunked per policy
};

// Runs plan over every family (and the shared traces when present), prints one table (or one
// JSON object) to stdout. Returns the exit code.
int run_suite(const suite_options& suite, const shape_options& shape, const slo_options& slo,
              const sim::plan_search_options& options);

}  // namespace aladdin::cli
