#pragma once
// The GPU-count search behind `aladdin plan`: for each placement policy, the fewest GPUs (and
// the worker shape) with which the fleet simulator reaches an SLO-attainment target on a
// workload; beside it the analytical planner's prediction and a fluid lower bound.
//
// Pure and deterministic: no I/O, no clocks. Simulations run on a small pool of std::threads,
// and every decision depends only on results collected by task index, so the report is the same
// byte for byte whatever the number of threads.
//
// ---------------------------------------------------------------------------------------------
// Search, per (policy, shape). attain(N) is the attainment the simulator reports with N workers.
// It is nearly but not strictly monotone in N (another worker changes every later placement),
// so the search promises only what it has simulated: a reported N reaches the target and N − 1
// does not, both simulated. Misses are compared as log(miss fraction − its floor): misses fall
// about exponentially as a fleet leaves overload, towards a floor no number of workers removes
// (estimated as 90% of the fewest misses seen), so this is roughly linear in N and inter- and
// extrapolates well.
//   floor    the fluid lower bound of the shape in workers (below): no run is expected to reach
//            the target under it, so floor − 1 serves as an *assumed* failure that brackets the
//            search from below without being simulated.
//   start    the planner's workers for the shape at the busiest minute's arrival rate (the mean
//            rate underestimates what bursts need), at least the floor.
//   bracket  while nothing has reached the target: probe start; after one failure grow by
//            `growth`, after two extrapolate the miss curve to the target (+15%, so the next run
//            lands just above the answer), never more than doubling, up to the search limit.
//   narrow   interpolate the miss curve between the highest failure and the lowest success
//            (rounded up); bisect instead when the same end of the bracket moved twice in a row
//            (interpolation stalling). With no failure simulated below a success yet, step down
//            by `growth` instead, mirroring the way up (not towards the bound: runs deep in
//            overload are the slow ones).
//   confirm  when the failure just below the answer was only assumed, simulate it. Should it
//            reach the target after all, walk down one worker at a time, at most
//            `confirm_steps` times, then bisect from the highest *simulated* failure (or zero
//            workers, which fail by definition).
//   plateau  while bracketing: when a larger fleet gives a result identical to a smaller failing
//            one (met count, engine iterations, preemptions, makespan, p99s), the extra workers
//            were never given any work (each worker's engine has its own noise stream, so any
//            use would show). A policy that leaves idle workers idle (packing policies break ties
//            between identical empty workers by lowest id) cannot gain from more of them.
//   rescue   before giving up (plateau or the limit), simulate up to `confirm_steps` unsimulated
//            neighbours (±1 worker, not below the floor) of the best failures: a packing policy
//            can do better with fewer workers (it is forced to spread), and a success there is
//            then narrowed down as usual.
// Per policy the best shape is the one with the fewest GPUs (ties: higher attainment, then
// smaller TP). The lead shape (the planner's choice, else the lower bound's) is searched first;
// then every other shape starts at the most workers that could still beat or tie it, which
// settles a losing shape in one run. A shape is pruned once one more worker than its highest
// failure (simulated or assumed) would need more GPUs than the policy's best so far, and no
// search probes above that many GPUs. Nothing is simulated twice.
// A policy whose registry entry pins its deployment (vllm) runs as pinned: only on the default
// shape passed in, and with prefill-first batching if so pinned.
//
// Parallelism: the searches of one policy advance in waves (a wave is planned from the results
// of earlier waves only); different policies' waves overlap on a pool of std::threads. Results
// are stored by task, never by completion order, so the report is identical for any number of
// threads, and the same seed gives the same report byte for byte.
//
// ---------------------------------------------------------------------------------------------
// Fluid lower bound (per shape, then the minimum over shapes), under the shape's FITTED latency
// model (worker_profile; not the simulator's ground truth, which differs from the fit by its
// MAPE and per-iteration noise, so the bound is exact for the model and close for the simulator).
//
// Each query q (input l, output o) that meets its SLOs costs a worker at least:
//   prefill   prefill-first: k1·l + q1·l² + s1 + min(c1, 0): its own terms of whatever batch it is
//             prefilled in (a negative per-batch c1 is charged to it in full, as if alone).
//             Chunked: k1·l only, since a chunk rides in a pass whose fixed costs the decodes pay
//             and the fitted model says nothing about how chunking splits the quadratic term.
//   decode    o − 1 iterations; in iteration i it holds context l + i and its share of an
//             iteration of batch B is k2·(l + i) + c2 + c3/B (the shares of a batch add up to its
//             time). Meeting the ATGT SLO A means its iterations add up to at most A·(o − 1), and
//             each lasts at least k2·(l + i) + c2·B + c3, so Σ B_i ≤ (A·(o−1) − k2·Σ(l+i) −
//             c3·(o−1)) / c2, capped at max_num_seqs per iteration. Bigger batches are cheaper
//             per token (c3/B) but, second resource, hold KV for longer: its KV-seconds are at
//             least Σ (l+i)·(k2·(l+i) + c2·B_i + c3) ≥ exact terms + (l+1)·c2·Σ B_i.
// A fleet of N workers over a window of length T supplies N·T worker-seconds and N·C·T
// KV-token-seconds (C = the shape's KV capacity), so for every λ in [0, 1]
//   N·T ≥ Σ_q min over B of [λ·compute_q(B) + (1 − λ)·kv_seconds_q(B) / C],
// which is separable per query (a convex a/B + b·B, minimised in closed form, the B_i equal).
// The queries counted are those that must be met inside the window: arrival ≥ window start and
// deadline = arrival + SLO_ttft + A·(o − 1) ≤ window end. The target allows ⌊(1 − target)·n⌋
// misses; queries this shape cannot serve in time (its own prefill beyond the TTFT SLO,
// an ATGT below a lone iteration, or more KV than the worker holds) are misses for sure, and the
// remaining allowance is spent, adversarially, on the costliest queries of the window. The bound
// is the maximum over windows starting at 65 arrival quantiles and ending at every deadline, at
// the λ that maximises the whole-trace bound (any λ is sound), rounded up to whole workers,
// times the TP. Work of queries that miss, preemption recompute and idle time only add to what
// a real fleet needs, so they are left out.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/latency_model.hpp"
#include "placement/types.hpp"
#include "plan/planner.hpp"
#include "sim/fleet_simulator.hpp"
#include "sim/ground_truth.hpp"
#include "sim/svg_chart.hpp"
#include "trace/trace.hpp"

namespace aladdin::sim {

// "aladdin,jsq" → {"aladdin", "jsq"}, in the order given. Names are checked against the
// placement registry; blanks around names are ignored. Throws std::invalid_argument naming the
// first unknown, empty or repeated name (and the known ones).
std::vector<std::string> parse_policy_list(std::string_view text);

// A worker shape the search may use: the scheduler's fitted model and the simulated truth.
struct plan_shape {
  worker_profile profile;
  ground_truth truth;
};

// --- fluid lower bound -------------------------------------------------------------------------
struct shape_bound {
  int tp = 0;
  bool feasible = false;        // the target is reachable at all under the model
  std::size_t forced_misses = 0;  // queries this shape cannot serve within their SLOs
  double workers = 0;           // fractional workers the busiest window needs
  int gpus = 0;                 // ceil(workers) × tp; 0 when infeasible
  double lambda = 1;            // weight of compute against KV (1: compute only)
  double window_start_s = 0, window_end_s = 0;  // the window that sets the bound
};

struct fluid_bound {
  std::optional<int> gpus;       // minimum over feasible shapes; empty when none is
  int tp = 0;                    // the shape that gives it
  std::vector<shape_bound> shapes;  // in the order of the profiles given
};

fluid_bound fluid_lower_bound(const trace& arrivals, std::span<const worker_profile> profiles,
                              const slo_target& slo, double attainment_target,
                              serving_mode mode, int max_num_seqs);

// --- search ------------------------------------------------------------------------------------
struct plan_probe {
  int workers = 0;
  int gpus = 0;
  double attainment = 0;
  double ttft_p99_s = 0;
  double atgt_p99_s = 0;
  std::size_t met_slo = 0;
  // With met_slo: the fingerprint of a run that the plateau rule compares.
  std::uint64_t iterations = 0;
  std::uint64_t preemptions = 0;
  std::size_t queued_at_intake = 0;
  double makespan_s = 0;
};

enum class search_outcome {
  found,        // target met at `workers`, simulated not met at workers − 1
  not_reached,  // not met up to the search limit (`workers` is the largest tried)
  plateau,      // stopped growing: more workers gave an identical result (see above)
  pruned,       // cannot beat another shape of the same policy
};
std::string_view to_string(search_outcome o);

struct shape_search {
  int tp = 0;
  search_outcome outcome = search_outcome::not_reached;
  int workers = 0;                // found: the answer; otherwise the largest tried (0: none)
  std::vector<plan_probe> probes;  // every simulation of this shape, by workers
};

struct policy_plan {
  std::string policy;
  bool fixed_shape = false;       // ran only on the default shape (vllm)
  pinned_batching batching = pinned_batching::as_measured;  // vllm: as it ships
  serving_mode mode = serving_mode::prefill_first;           // the batching it ran with
  bool reached = false;           // some shape met the target within the limit
  // Reached: the best shape's answer. Otherwise the largest fleet tried on the shape that came
  // closest (highest attainment there; ties: fewer GPUs, smaller TP). tp = 0 when nothing ran.
  int tp = 0;
  plan_probe result;
  std::vector<shape_search> shapes;  // the shapes searched, in increasing TP
};

struct planner_prediction {
  double rate_qps = 0;  // the demand given to the planner: queries / (last − first arrival)
  std::optional<int> gpus, workers;  // empty when the planner finds no feasible shape
  int tp = 0;
};

struct plan_progress {
  std::size_t simulations = 0;       // finished so far
  std::size_t searches = 0;          // (policy, shape) searches in all
  std::size_t searches_done = 0;
};

struct plan_search_options {
  std::vector<std::string> policies;  // report order; empty: every registered policy
  slo_target slo;
  double attainment_target = 0.99;   // in (0, 1]
  serving_mode mode = serving_mode::prefill_first;  // prefill_first or chunked
  int max_gpus = 2048;               // no probe uses more
  int threads = 1;                   // ≥ 1; does not change the result
  std::uint64_t seed = 1;            // the same for every simulation
  double growth = 1.3;               // bracketing factor after one failure (> 1)
  int confirm_steps = 3;
  // Called after every simulation, one call at a time (from a worker thread).
  std::function<void(const plan_progress&)> on_progress;
};

struct plan_report {
  std::vector<policy_plan> policies;  // in the order asked
  planner_prediction planner;
  fluid_bound lower_bound;
  std::size_t simulations = 0;
  std::size_t queries = 0;
  double arrival_span_s = 0;          // last − first arrival
};

// The search alone, over any evaluation of (policy, shape, workers) — search_plans runs it on
// the simulator; tests run it on made-up curves. `probe` must be deterministic and safe to call
// from several threads at once; it fills gpus, attainment and met_slo at least (met_slo decides:
// the target is met when met_slo ≥ ⌈target · queries⌉). The policies' shapes[0] is the lead.
struct size_search_shape {
  int tp = 0;
  int floor_workers = 1;  // a lower bound in workers: fewer are assumed to fail
  int estimate = 1;       // where the search starts
};
struct size_search_policy {
  std::string name;
  bool fixed_shape = false;
  std::vector<size_search_shape> shapes;
  pinned_batching batching = pinned_batching::as_measured;
};
using probe_function = std::function<plan_probe(std::size_t policy, std::size_t shape, int workers)>;
std::vector<policy_plan> search_sizes(std::span<const size_search_policy> policies,
                                      const probe_function& probe, std::size_t queries,
                                      const plan_search_options& options,
                                      std::size_t* probes_run = nullptr);

// The batching a policy runs with: its pinned one, else what every policy is measured with.
serving_mode mode_of(pinned_batching pinned, serving_mode measured);

// The simulation behind one probe of the search: the policy on `workers` of `shape`, with the
// batching its deployment is pinned to (else options.mode), the closed loop's risk budget set
// from the attainment target, the options' SLO and seed. Throws for an unknown policy.
simulation_config probe_config(const std::string& policy, const plan_shape& shape, int workers,
                               const plan_search_options& options);

// Searches every policy over `shapes` (for a fixed-shape policy: only the one of TP
// default_tp), on the queries within the model's context (the others are rejected at intake;
// report.queries counts the rest). Throws std::invalid_argument on bad options, no shapes, an unknown policy or a
// fixed-shape policy whose default shape is not among `shapes`; exceptions from the simulator
// pass through.
plan_report search_plans(const trace& arrivals, std::span<const plan_shape> shapes,
                         std::optional<int> default_tp, const plan_search_options& options);

// Attainment (y) against GPUs (x) of everything the search simulated: per policy one polyline
// through the probes of its chosen shape (filled markers), hollow markers for its other shapes
// (marker shape by TP), a dashed line at the target, dotted marks at the lower bound and the
// planner's prediction. A log x axis when the GPUs tried span more than 16×.
// The serving topology inside the search: search_plans once per batching regime in `modes`
// (each a whole search), and per policy keep the regime that reaches the target with the
// fewest GPUs (ties: higher attainment, then the order of `modes`); a policy that reaches it
// nowhere keeps the regime where it came closest. Pinned deployments run once, as they ship.
// The planner's prediction and the lower bound are those of modes[0]. Throws for no modes and
// as search_plans does.
plan_report search_topologies(const trace& arrivals, std::span<const plan_shape> shapes,
                              std::optional<int> default_tp, const plan_search_options& options,
                              std::span<const serving_mode> modes);

line_chart plan_chart(const plan_report& report, double attainment_target);

}  // namespace aladdin::sim
