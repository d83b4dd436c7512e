#pragma once
// The achievable ceiling of a workload on a worker shape, and SLOs scaled from each query's
// latency alone (as DistServe and Splitwise evaluate).
//
// Alone on an idle worker, under the simulator's ground truth (src/sim/ground_truth.hpp; not the
// scheduler's fitted model), a query of prompt l and output o has
//   TTFT alone = P1(l): its prefill as the only prompt of an iteration (unchunked; chunking a
//                lone prompt only adds passes),
//   ATGT alone = (1 / (o − 1)) · Σ_{g=1..o−1} decode(1, l + g): lone decode iterations at its
//                growing context (the engine's context after g generated tokens), 0 when o = 1,
// and it fits when l + o ≤ the shape's KV capacity in tokens. No placement can do better than
// alone (another query only adds work to its iterations), so the fraction of queries that meet
// their SLO this way bounds every policy's attainment on that shape from above, up to the
// engine's per-iteration noise (mean 1, σ 3%), which the ceiling leaves out.
//
// Queries over the model's context (model_spec::fits_context) are rejected at intake and are
// not part of any attainment (see fleet_simulator.hpp); they are counted separately here too.

#include <cstddef>
#include <span>
#include <vector>

#include "model/hardware.hpp"
#include "model/slo.hpp"
#include "sim/ground_truth.hpp"
#include "trace/trace.hpp"

namespace aladdin::sim {

struct lone_latency {
  double ttft_s = 0;
  double atgt_s = 0;
};

// A query's latencies alone on an idle worker of `truth` (formulas above). output ≥ 1.
lone_latency latency_alone(const ground_truth& truth, int input_tokens, int output_tokens);

// One shape's ceiling over the queries within the model's context.
struct shape_ceiling {
  int tp = 0;
  std::size_t admitted = 0;      // queries within the model's context
  std::size_t achievable = 0;    // of those: fit the KV cache and meet both SLOs alone
  std::size_t over_kv = 0;       // do not fit the KV cache even alone
  std::size_t missed_ttft = 0;   // fit, but their prefill alone is over their TTFT SLO
  std::size_t missed_atgt = 0;   // fit, but their lone decode is over their ATGT SLO
  double fraction = 1;           // achievable / admitted (1 when nothing is admitted)
};

struct ceiling_shape {
  const ground_truth* truth = nullptr;
  double kv_capacity_tokens = 0;  // the engine's KV cache of the shape (worker_profile::kv)
};

struct workload_ceiling {
  std::size_t queries = 0;
  std::size_t over_context = 0;   // prompt + output over the model's context
  std::vector<shape_ceiling> shapes;  // in the order given
  // The best shape's fraction (ties: the first), 1 when no shape is given.
  double best_fraction() const;
  int best_tp() const;
};

// Each query's SLO is slo_of(record, run_slo) (its own where the trace has one). Throws
// std::invalid_argument for a shape without ground truth.
workload_ceiling achievable_ceiling(const trace& arrivals, const slo_target& run_slo,
                                    std::span<const ceiling_shape> shapes, const model_spec& model);

// --slo-scale: every record's SLO becomes k × its latency alone on `reference` (both TTFT and
// ATGT; a one-token answer keeps the run's ATGT, which it cannot miss). k > 0, else
// std::invalid_argument.
void scale_slos(trace& arrivals, const ground_truth& reference, double k);

// The records within the model's context, in order; *over_context (when given) counts the rest.
trace within_context(const trace& arrivals, const model_spec& model, std::size_t* over_context);

}  // namespace aladdin::sim
