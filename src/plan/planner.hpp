#pragma once
// Configuration planner: for each worker shape (GPUs per worker), the highest arrival rate one
// worker sustains within the SLOs; from that and a demand, the fewest GPUs and the best shape;
// and the actions that turn the current fleet into the planned one.
//
// Pure and deterministic: no clocks, no randomness, no I/O. Same inputs, same plan.
//
// ---------------------------------------------------------------------------------------------
// The steady-state model of one worker (prefill-prioritised continuous batching, as in the
// paper: a batch is all prefill or all decode, and waiting prompts go first).
//
// Per worker: Poisson arrivals at rate λ, lengths drawn from the workload (workload_stats).
//   S(l)   = k1·l + q1·l² + s1 + c1          prefill of one prompt of l tokens. Prompts are
//            costed one at a time: batching queued prompts would share c1, so this errs on the
//            safe side, and by little (c1 is small next to k1·l for real prompts).
//   ρ_p    = λ·E[S]                          share of the worker's time spent in prefill.
//   C      = E[ctx]                          mean context of a decoding query averaged over
//            decode iterations, (E[in·o] + (E[o²] + E[o])/2) / E[o]: long outputs stay longer,
//            so they weigh more (length bias); keeps the input/output correlation.
//   t_dec(n) = β·n + c3, β = k2·C + c2      one decode iteration of a batch of n queries.
//   B      = λ·E[o]·A                        mean number of decoding queries (Little's law: a
//            query spends E[o] iterations of A seconds each in decode).
//   A      = t_dec(1 + B) / (1 − ρ_p)        ATGT. A query sees itself and, on average, B others
//            in its batch (Poisson population), and decode only runs in the time prefill leaves.
// Because t_dec is linear in the batch, the fixed point has a closed form:
//   A = (β + c3) / (1 − ρ_p − λ·E[o]·β),
// finite while λ < λ_stable = 1 / (E[S] + E[o]·β), the rate at which prefill plus the
// per-query decode work fills the worker. At λ → 0, A is a lone query's iteration, β + c3.
//
// TTFT at quantile p (default p99): TTFT = D + W + S_own, where
//   D = t_dec(B)   the decode iteration an arriving prompt may have to wait out (the whole
//                  iteration rather than its mean residual: safe side);
//   W              wait in the prefill queue, M/G/1 with mean (Pollaczek–Khinchine)
//                  W̄ = λ·E[S²] / (2(1 − ρ_p)), and the usual exponential tail approximation
//                  P(W > w) = ρ_p·exp(−w·ρ_p / W̄) (a prompt waits with probability ρ_p, and
//                  then an exponential time with mean W̄/ρ_p);
//   S_own          the query's own prefill, over the workload's input distribution.
// The p-quantile of the sum is found numerically over workload_stats::input_grid, not by adding
// per-term quantiles (which would stack two p99s).
//
// KV: decoding queries reserve in + o tokens each (placement reserves a query's whole length at
// admission). Their number is about Poisson with mean B, so the reserved total is compound
// Poisson: mean B·m1, variance B·m2 with m1, m2 the iteration-weighted moments
// (workload_stats::kv_reserved_mean, kv_reserved_sq). Needed = B·m1 + z_q·√(B·m2) (normal
// approximation at quantile q, default p99) ≤ the worker's KV capacity.
//
// Per-query ATGT: a query of o tokens shares Poisson-many prefill stalls over its o − 1 decode
// steps, so its ATGT is about Normal(A, λ·A·E[S²]/(o − 1)); short answers swing most. A_q is
// the ATGT that atgt_quantile (default 0.99) of queries stay within, over the output lengths.
// Feasibility at rate λ: the model is stable, A_q ≤ atgt_headroom·SLO_atgt (default headroom 0.9:
// the model predicts a steady-state mean, so 10% is left for load swings and for the model's
// own error, which the paper puts under 10%), TTFT_p ≤ SLO_ttft, KV_q ≤ capacity.
// Every metric grows with λ, so each constraint's limit is found by bisection on [0, λ_stable);
// the worker's max rate is the smallest limit and the constraint that sets it is "binding"
// (on an exact tie: atgt, then ttft, then kv).
//
// A shape is infeasible — it meets the SLOs at no rate — when, at λ → 0 (checked in this order,
// the first failure is reported): a lone query's decode iteration already exceeds the ATGT
// target (atgt); the TTFT quantile on an idle worker exceeds the TTFT SLO, i.e. the long
// prompts alone take too long to prefill (ttft); or the p99 query (in + out) does not fit in
// the KV cache (kv). The reason names the numbers.
//
// Fleet: a demand of D queries/s is spread evenly over identical workers (placement's job), so
// a shape needs ceil(D / max_rate_per_worker) workers (0 when D = 0, ≥ 1 when D > 0).
// Best shape: the fewest GPUs in total for the demand; ties broken by the highest rate per GPU,
// then fewer GPUs per worker, then input order. For large demands this is the highest rate per
// GPU; for small ones it keeps rounding-up from buying a large worker that is mostly idle.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/latency_model.hpp"
#include "model/slo.hpp"
#include "trace/builtin_workload.hpp"

namespace aladdin {


struct planner_options {
  double atgt_headroom = 0.9;  // plan for ATGT ≤ headroom × SLO, in (0, 1]
  double atgt_quantile = 0.99; // fraction of queries whose own ATGT must meet that, in (0, 1)
  double ttft_quantile = 0.99;  // TTFT percentile that must meet the SLO, in (0, 1)
  double kv_quantile = 0.99;    // percentile of reserved KV that must fit, in (0, 1)
};

enum class binding_constraint { none, ttft, atgt, kv };
std::string_view to_string(binding_constraint c);

// The model evaluated at one arrival rate per worker.
struct operating_point {
  double rate = 0;                 // queries/s to this worker
  bool stable = false;             // rate < λ_stable; when false the metrics are +inf
  double prefill_utilisation = 0;  // ρ_p
  double batch = 0;                // B: mean number of decoding queries
  double atgt_s = 0;               // A: predicted mean ATGT
  double atgt_tail_s = 0;          // ATGT that options.atgt_quantile of queries stay within
  double ttft_s = 0;               // predicted TTFT at options.ttft_quantile
  double kv_tokens = 0;            // reserved KV tokens at options.kv_quantile
};

// Throws std::invalid_argument when the inputs are out of range (negative rate, mean output of
// zero, options outside their ranges, a profile that predicts no work per query).
operating_point evaluate_worker(const worker_profile& profile, const workload_stats& workload,
                                double rate, const planner_options& options = {});

// What one worker of a shape sustains.
struct shape_capacity {
  worker_config config;
  int gpus_per_worker = 0;
  bool feasible = false;
  // Feasible: the constraint that caps the rate. Infeasible: the one that fails at any rate.
  binding_constraint binding = binding_constraint::none;
  std::string reason;                // why infeasible; empty when feasible
  double max_rate_per_worker = 0;    // queries/s; 0 when infeasible
  double rate_per_gpu = 0;
  operating_point at_max;            // the model at max_rate_per_worker
};

shape_capacity max_rate(const worker_profile& profile, const workload_stats& workload,
                        const slo_target& slo, const planner_options& options = {});

// ceil(demand / rate_per_worker) up to a relative 1e-9 (so float noise in an exact multiple
// does not buy a worker); 0 when demand ≤ 0. Throws std::invalid_argument when demand > 0 and
// rate_per_worker ≤ 0, and std::overflow_error when the count does not fit an int.
int workers_needed(double demand, double rate_per_worker);

struct shape_plan {
  shape_capacity capacity;
  int workers = 0;  // for the demand; 0 when infeasible
  int gpus = 0;     // workers × gpus_per_worker
};

struct fleet_plan {
  double demand = 0;                // queries/s
  std::vector<shape_plan> shapes;   // in the order of the profiles given
  std::optional<std::size_t> best;  // index into shapes; empty when no shape is feasible
};

// The best feasible shape for the plans' demand (see the header comment for the order).
std::optional<std::size_t> choose_shape(std::span<const shape_plan> shapes);

fleet_plan plan_fleet(std::span<const worker_profile> profiles, const workload_stats& workload,
                      const slo_target& slo, double demand, const planner_options& options = {});

// ---------------------------------------------------------------------------------------------
// Fleet diff. Shapes are identified by their worker_config (model, GPU, TP).
struct fleet_entry {
  worker_config config;
  int workers = 0;
};

enum class fleet_action_kind { start, drain };
std::string_view to_string(fleet_action_kind k);

struct fleet_action {
  fleet_action_kind kind = fleet_action_kind::start;
  worker_config config;
  int workers = 0;  // > 0

  friend bool operator==(const fleet_action&, const fleet_action&) = default;
};

// Actions that turn `current` into a fleet of exactly target.workers workers of target.config:
// start or drain the difference on the target shape, drain every worker of any other shape.
// Entries of the same shape in `current` are added up. Starts come first (new capacity before
// old is drained, so a shape switch never dips below the demand), then drains in order of
// (model, gpu, tp). An empty list means the fleet already matches. Throws
// std::invalid_argument on a negative worker count.
std::vector<fleet_action> diff_fleet(std::span<const fleet_entry> current,
                                     const fleet_entry& target);

}  // namespace aladdin
