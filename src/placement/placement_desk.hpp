#pragma once
// The placement desk: everything between "a query has been accepted" and "it is on a worker",
// for one fleet. It owns the fleet's cluster_state (a worker_schedule per worker — the
// "per-worker placement" state of the design), the placement policy, the online length
// predictor every schedule predicts with, and the queries that wait because no worker can take
// them yet. The fleet simulator (src/sim/fleet_simulator.cpp) and the live node's placement
// actor (actors/caf/placement_actor.cpp) both drive one of these, so `aladdin plan` measures the
// very admission rule the node runs, decision by decision (tests/unit/test_desk_parity.cpp).
//
// Admission — what happens to a query no worker takes now — is this, and only this:
//   * a new query is offered to the policy at once; if no worker takes it, it waits, first come
//     first served (queries that lost their worker rejoin in arrival order);
//   * waiting queries are retried, oldest first and `retry_batch` at a time, whenever the caller
//     says capacity freed (a completion, a new worker) and on the node's timer;
//   * a query that has waited past its TTFT SLO has lost its TTFT: it is retried with the TTFT
//     constraint lifted, so it goes wherever it does not hurt the others;
//   * when no accepting worker holds anything and the oldest query still cannot be placed, it
//     goes best effort to the least loaded worker, one per retry: an idle fleet frees no capacity
//     to wait for;
//   * a query that can never fit — its prompt alone exceeds the KV capacity of every accepting
//     worker even when idle — is refused at once (`never_fits`), not parked forever;
//   * a query that waits longer than `max_wait_s` expires, with the last reason it was refused.
//
// Workers are known by their fleet id (worker_id: store and wire id in the node, engine index in
// the simulator); the cluster's dense slots stay inside.
//
// Output lengths are predicted. Only a policy that asks for the truth (the oracle), on a desk
// that allows it (`allow_true_lengths`: the simulator), reads desk_query::true_output_tokens;
// the live node allows neither.
//
// Time and randomness are inputs: `now` comes with every call, and the policy's generator is
// seeded from options.seed.

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "placement/cluster_state.hpp"
#include "placement/length_source.hpp"
#include "placement/policy.hpp"
#include "placement/registry.hpp"
#include "placement/slo_feedback.hpp"
#include "predict/length_predictor.hpp"
#include "util/rng.hpp"

namespace aladdin {

struct desk_options {
  std::string policy = "aladdin";
  policy_config policy_options;   // the policy's own knobs (see registry.hpp)
  schedule_options schedule;
  length_predictor_options predictor;
  bool allow_true_lengths = false;  // a policy may see true output lengths (the simulator only)
  std::uint64_t seed = 1;
  std::size_t retry_batch = 32;   // waiting queries retried per occasion
  double max_wait_s = std::numeric_limits<double>::infinity();  // model seconds before expiry
  // The loop from outcomes back to planning margins (slo_feedback.hpp).
  slo_feedback_options feedback;
  // Every placement carries what the chosen worker's schedule predicted for it (one more
  // evaluation per placement): for decision logs.
  bool record_predictions = false;
};

// An accepted query as the desk sees it.
struct desk_query {
  query_id id;
  int prompt_tokens = 0;
  int true_output_tokens = -1;  // read only for a policy that uses true lengths (the oracle)
  double arrival_s = 0;         // model time of acceptance
  slo_target slo;
};

// A placement to carry out: tell `worker` to run `query`.
struct desk_dispatch {
  worker_id worker;
  query_id query;
  std::uint32_t output_hint = 0;  // the predicted output length, for the engine's planning
  double fit = 0;                 // the policy's tightness after the query (0: not measured)
  bool best_effort = false;       // placed on an idle fleet although no worker fit it
  bool ttft_lost = false;         // it had waited past its TTFT SLO: placed for its ATGT only
  // No worker met its TTFT with the planning headroom, but one still meets the SLO itself as
  // predicted: it is placed there, where its first token comes soonest (see try_place).
  bool late = false;
  std::uint32_t refusals = 0;     // times the policy refused it before
  reject_reason last_refusal = reject_reason::none;
  // With desk_options::record_predictions: the chosen worker's schedule on this query just
  // before it joined (predicted TTFT, decode iteration, KV peak), and the length it planned.
  fit_result predicted;
  double expected_output_tokens = 0;
};

// Why a query is not (yet) on a worker. `retry` outcomes may change as capacity frees;
// `never_fits` will not (Kubernetes' Unschedulable vs UnschedulableAndUnresolvable).
enum class wait_scope : std::uint8_t { retry, never_fits };

struct desk_refusal {
  query_id query;
  reject_reason reason = reject_reason::none;  // the constraint that excluded the most workers
  wait_scope scope = wait_scope::retry;
  double waited_s = 0;                          // expiry only
};

// What one call decided: the placements to carry out, and the queries that leave the desk
// without a worker (refused as never fitting, or expired). Cleared by the caller.
struct desk_decisions {
  std::vector<desk_dispatch> placed;
  std::vector<desk_refusal> refused;   // never_fits: fail them, they will not fit later
  std::vector<desk_refusal> expired;   // waited past max_wait_s
  void clear() {
    placed.clear();
    refused.clear();
    expired.clear();
  }
  bool empty() const { return placed.empty() && refused.empty() && expired.empty(); }
};

struct desk_counters {
  std::uint64_t placed = 0;
  std::uint64_t waited = 0;       // queries that had to wait at least once
  std::uint64_t forced = 0;       // best-effort placements on an idle fleet
  std::uint64_t late = 0;         // placed past the TTFT headroom, within the SLO (try_place)
  std::uint64_t expired = 0;
  std::uint64_t never_fit = 0;    // refused: no worker could ever hold them
  std::uint64_t rejections = 0;   // policy refusals (one query may be refused many times)
  // Policy refusals by the constraint that excluded the most workers.
  std::uint64_t refused_no_workers = 0, refused_kv = 0, refused_ttft = 0, refused_atgt = 0;
  // Completed queries judged against their SLOs (one may miss both), and the output length
  // the length source expected at placement against the one observed: Σ|expected − observed|.
  std::uint64_t judged = 0, slo_met = 0, ttft_missed = 0, atgt_missed = 0;
  double length_abs_error_tokens = 0;
  // The last recent_window judged queries: how many met both SLOs.
  static constexpr std::size_t recent_window = 1000;
  std::uint64_t recent_judged = 0, recent_met = 0;
};

class placement_desk {
 public:
  // Throws std::invalid_argument for an unknown policy, or one that needs true lengths on a
  // desk without them.
  explicit placement_desk(desk_options options);

  // ---- the fleet -----------------------------------------------------------------------------
  // False when the worker is already known. `chunk_tokens`: see cluster_state::add_worker.
  bool add_worker(worker_id worker, worker_profile profile, worker_role role = worker_role::unified,
                  std::optional<int> chunk_tokens = std::nullopt);
  // Takes no new queries; keeps what it has.
  void drain_worker(worker_id worker);
  // Forgets the worker and its schedule; what it held is the caller's to re-place or fail.
  void remove_worker(worker_id worker);
  bool has_worker(worker_id worker) const;
  int outstanding(worker_id worker) const;  // queued + running on its schedule; 0 if unknown
  // The screening numbers of a worker's schedule (KV held and capacity, running, entries), and
  // its shape; nullptr if unknown. For reports: the node's metrics and status.
  const schedule_summary* summary_of(worker_id worker) const;
  std::size_t workers() const { return slot_of_.size(); }

  // ---- queries ---------------------------------------------------------------------------------
  // New queries in acceptance order: each is placed at once, waits, or is refused.
  void offer(std::span<const desk_query> batch, double now, desk_decisions& out);
  // Queries that lost their worker: the same, but they rejoin the waiting in arrival order (they
  // are older than most of what waits).
  void reoffer(std::span<const desk_query> batch, double now, desk_decisions& out);
  // Another chance for waiting queries (capacity freed, or a timer): expiry, a bounded batch of
  // retries, and best effort on an idle fleet.
  void retry(double now, desk_decisions& out);
  // A waiting query leaves the queue undecided (its client has gone). False when it is not
  // waiting here (placed already, refused, or unknown).
  bool withdraw(query_id q);

  // ---- what workers report -------------------------------------------------------------------
  void first_token(worker_id worker, query_id q, double now);
  // A heartbeat's running queries and their generated tokens: one schedule update.
  void progress(worker_id worker, std::span<const progress_report> running, double now);
  // Every running query of the worker made `iterations` more tokens (the simulator's engines).
  void advance_decode(worker_id worker, int iterations, double now);
  // A finished engine iteration and its measured time: calibrates the worker's shape.
  void observe_iteration(worker_id worker, int prefill_tokens, int prefill_sequences,
                         int decode_sequences, double measured_s);
  // Finished: frees its share and teaches the predictor its length.
  void completed(worker_id worker, query_id q, int prompt_tokens, int output_tokens, double now);
  // Gone without a length to learn from (refused by the engine, failed, cancelled).
  void removed(worker_id worker, query_id q, double now);
  // A length learnt elsewhere (a query that finished outside any schedule).
  void learn_length(int prompt_tokens, int output_tokens);
  // A query the worker already holds, taken back after a restart of the node.
  void adopt(worker_id worker, const desk_query& q, bool running, int generated_tokens, double now);

  // ---- what callers read ---------------------------------------------------------------------
  std::size_t waiting() const { return waiting_.size(); }
  // Takes every waiting query off the desk (the node stops and fails them), in arrival order.
  std::vector<query_id> drop_waiting();
  const desk_counters& counters() const { return counters_; }
  const slo_feedback& feedback() const { return feedback_; }
  // The margin in force on a worker's shape (1, 1 when unknown).
  slo_margin margin(worker_id worker) const;
  const length_predictor& predictor() const { return predictor_; }
  const cluster_state& cluster() const { return *cluster_; }

 private:
  // A waiting query and the constraint that refused it last (reported when it expires).
  struct waiting_query {
    desk_query query;
    reject_reason last = reject_reason::none;
    std::uint32_t refusals = 0;
  };
  // A query on a worker, until it completes or leaves: what its outcome is judged against.
  struct placed_query {
    worker_id worker;
    double arrival_s = 0;
    slo_target slo;
    double first_token_s = -1;
    bool ttft_planned = false;
    bool atgt_planned = false;
    bool waited = false;
    double expected_output_tokens = 0;  // the length source's, at placement
  };
  // Placed (true), or the policy's refusal in `why`.
  bool try_place(const desk_query& q, double now, bool best_effort, desk_decisions& out,
                 placement_outcome& why, const waiting_query* history = nullptr);
  void judge(worker_slot w, worker_id worker, const placed_query& p, int output_tokens, double now);
  void offer_one(const desk_query& q, double now, bool in_arrival_order, desk_decisions& out);
  bool never_fits(const desk_query& q) const;
  // The worker where q's first token comes soonest among those that take it on every other
  // count (KV, the ATGT of q and of the queries there), if that is within q's TTFT SLO.
  std::optional<worker_slot> soonest_first_token(const query_request& q, double now) const;
  bool fleet_idle() const;
  query_request request_of(const desk_query& q, double now) const;
  query_lengths lengths_of(const desk_query& q) const;
  void count_refusal(reject_reason r);
  const worker_slot* slot_of(worker_id worker) const;

  desk_options options_;
  length_predictor predictor_;
  std::unique_ptr<length_source> lengths_;
  std::unique_ptr<cluster_state> cluster_;
  std::unique_ptr<placement_policy> policy_;
  rng random_;
  std::unordered_map<worker_id, worker_slot> slot_of_;
  std::vector<worker_id> id_of_;  // by slot
  bool true_lengths_ = false;        // the policy decides with true output lengths
  std::deque<waiting_query> waiting_;  // oldest first
  std::unordered_map<query_id, placed_query> placed_;
  std::deque<bool> recent_;  // met both SLOs, the last desk_counters::recent_window judged
  slo_feedback feedback_;
  std::vector<waiting_query> scratch_;
  desk_counters counters_;
};

}  // namespace aladdin
