#pragma once
// The fleet simulator: a deterministic discrete-event simulation of a fleet of continuous-
// batching GPU workers (sim::engine, driven by measured timings) with the very placement code
// the control plane runs (cluster_state + a registered policy, deciding with the fitted
// latency model and the online length predictor). It answers "with this policy, this many
// workers of this shape, how many queries meet their SLOs?".
//
// Time is virtual; the only randomness is seeded (engine noise per worker, p2c's choices), so
// the same inputs give the same result, byte for byte.
//
// Serving modes:
//   prefill_first  vLLM's classic scheduler on every worker: a new prefill stalls all decodes.
//   chunked        chunked prefill: mixed batches under a token budget.
//   split          a prefill pool and a decode pool; prompts go to the prefill worker with the
//                  least queued prefill work, the KV cache is transferred, and the policy under
//                  test places the query on the decode pool (which is what it packs).
//
// Admission (the same for every policy): a query that no worker can take (only SLO-aware
// policies ever refuse) waits at the intake, first come first served, and is retried whenever
// a worker frees capacity. Once it has waited past its TTFT SLO its TTFT is lost, and it is
// placed as soon as any worker can hold it without hurting the others. Nothing is dropped:
// a query that is still waiting or running when the simulation ends counts as a miss.
// A query whose prompt + output is over the model's context (model_spec::context_tokens) is
// rejected at intake (over_context), as the live node rejects it, and is not part of attainment.
// Each query is judged by its own SLO when the trace carries one (trace_record), else config.slo.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/latency_model.hpp"
#include "placement/decision_record.hpp"
#include "placement/registry.hpp"
#include "placement/slo_feedback.hpp"
#include "placement/types.hpp"
#include "placement/worker_schedule.hpp"
#include "plan/autoscaler.hpp"
#include "predict/length_predictor.hpp"
#include "sim/engine.hpp"
#include "sim/ground_truth.hpp"
#include "trace/trace.hpp"
#include "util/quantile.hpp"

namespace aladdin::sim {

enum class serving_mode : std::uint8_t { prefill_first, chunked, split };
const char* to_string(serving_mode m);

// Scaling in the loop. Every interval the autoscaler picks a worker count; new workers are
// usable only after start-up; surplus workers are drained (no new queries) and released when
// empty. GPUs are paid from the moment a worker is requested until it is released.
enum class autoscaler_kind : std::uint8_t {
  none,      // the fleet stays at `workers` (static provisioning)
  reactive,  // utilisation autoscaler: outstanding queries per worker against a target
  planner,   // aladdin: forecast demand over start-up + interval, planner's rate per worker
  scheduled, // a fleet given over time (scaling_config::schedule), e.g. a hindsight fleet replayed
};
const char* to_string(autoscaler_kind k);

struct scaling_config {
  autoscaler_kind kind = autoscaler_kind::none;
  double interval_s = 60;
  double startup_s = 120;
  int min_workers = 1;
  int max_workers = 100000;
  // planner: the highest arrival rate one worker sustains within the SLOs (planner::max_rate)
  double max_rate_per_worker = 1;
  // reactive: desired = ceil(active · outstanding per worker / target)
  double target_outstanding_per_worker = 16;
  // Both: scale down only after this many intervals all asked for fewer (as Kubernetes' HPA).
  int stabilization_intervals = 5;
  // scheduled: the fleet over time (start the simulation with `workers` = its `initial`)
  fleet_steps schedule;
};

struct simulation_config {
  std::string policy = "aladdin";
  serving_mode mode = serving_mode::prefill_first;
  worker_profile profile;           // the scheduler's fitted model of the worker shape
  std::optional<ground_truth> truth;  // how that shape really behaves (required)
  int workers = 1;                  // unified mode: all workers; split: the decode pool
  int prefill_workers = 0;          // split mode only
  double kv_transfer_bytes_per_s = 25e9;  // split mode: prefill → decode link (NVLink-class)
  slo_target slo;
  std::uint64_t seed = 1;
  double noise_sigma = 0.03;        // per-iteration noise of the ground truth
  int max_num_seqs = 256;
  int max_batched_tokens = 0;       // 0: the engine's default for the mode
  policy_config policy_options;     // the policy's knobs (see placement/registry.hpp)
  schedule_options schedule;        // aladdin's planning headroom
  slo_feedback_options feedback;    // outcomes correct the planning margins (slo_feedback.hpp)
  // Split mode: the ATGT headroom on the decode pool. Decode-only workers see no prefill stalls,
  // the variance schedule.atgt_headroom mostly exists to absorb; what is left is per-iteration
  // jitter (the ground truth's ~3%) once calibration has removed the fit's bias.
  double decode_pool_atgt_headroom = 0.97;
  bool calibrate = true;            // placement learns from measured iteration times
  length_predictor_options predictor;
  double timeline_window_s = 60;    // attainment reported per window of arrivals
  std::size_t retry_batch = 32;     // queued queries retried per freed-capacity event
  // A query that waits at the intake longer than this (model seconds) expires and counts as
  // failed, as on the live node (serve --max-wait).
  double max_wait_s = 600;
  scaling_config scaling;           // unified modes only
  // Keep every query's decision and outcome in simulation_result::decisions (costs one more
  // schedule evaluation per placement).
  bool record_decisions = false;
  // For a caller's progress report, never read by the simulation: called with (arrived, total)
  // after every hundredth of the arrivals.
  std::function<void(std::size_t arrived, std::size_t total)> on_progress;
};

struct timeline_window {
  double start_s = 0;
  std::size_t arrivals = 0;
  std::size_t met = 0;
  int workers = 0;  // paid-for workers (starting, active or draining) at the window's start
};

struct simulation_result {
  std::size_t queries = 0;
  std::size_t over_context = 0;     // rejected at intake: prompt + output over the model's context
  std::size_t finished = 0;
  std::size_t met_slo = 0;          // finished with TTFT and ATGT within their SLOs
  std::size_t failed = 0;           // too large for every worker's KV cache, or expired
  std::size_t expired = 0;          // of those: waited at the intake longer than max_wait_s
  std::size_t unfinished = 0;       // still queued or running at the end
  std::size_t queued_at_intake = 0; // queries that had to wait at the intake at least once
  std::size_t missed_ttft = 0;      // finished queries over their TTFT SLO
  std::size_t missed_atgt = 0;      // finished queries over their ATGT SLO
  double attainment = 0;            // met_slo / (queries − over_context)
  double ttft_p50_s = 0, ttft_p99_s = 0;
  double atgt_p50_s = 0, atgt_p99_s = 0;
  std::uint64_t preemptions = 0;
  std::uint64_t iterations = 0;     // engine iterations simulated
  int gpus = 0;                     // the most GPUs paid for at once
  double gpu_hours = 0;
  std::size_t scale_ups = 0;        // autoscaler decisions that started workers
  std::size_t scale_downs = 0;      // autoscaler decisions that drained workers
  std::size_t workers_started = 0;  // after the initial fleet
  double makespan_s = 0;            // last event
  std::vector<timeline_window> timeline;
  std::vector<decision_record> decisions;  // with record_decisions: one per query, by index
  // The planning margins the feedback loop ended with (1, 1: never corrected).
  slo_margin final_margin;
  // The paid fleet (starting, active or draining; unified modes) at every change, in time
  // order: (time, workers). `workers` of the config before the first.
  std::vector<std::pair<double, int>> fleet_changes;
};

// Runs the trace (arrivals sorted) through the configured fleet. Throws std::invalid_argument
// for an unknown policy or a nonsensical configuration.
simulation_result simulate(const trace& arrivals, const simulation_config& config);

// Quantile of a sample (nearest rank, util/quantile.hpp), as the reports use it.
using aladdin::quantile;

}  // namespace aladdin::sim
