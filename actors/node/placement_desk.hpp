#pragma once
// The placement state of a whole node: one cluster_state (a worker_schedule per worker — the
// "per-worker placement" state of the design), the registered policy, the online length
// predictor every schedule predicts with, and the queries that wait at the intake because no
// worker can take them yet. Plain C++: the placement actor turns messages into calls here and
// carries out what comes back.
//
// Why one desk for the whole node rather than one actor per worker: a decision is the policy's
// screened best fit over every worker's summary, which takes microseconds in one address space,
// whereas asking per-worker actors would cost a message round trip per worker per query. The
// per-worker state is still kept per worker (one schedule each), incrementally.
//
// Admission mirrors the fleet simulator (src/sim/fleet_simulator.cpp), so the live node and the
// simulator make the same decisions on the same inputs:
//   * a new query is offered to the policy at once; if no worker takes it, it waits, first come
//     first served;
//   * waiting queries are retried, oldest first and a bounded batch at a time, whenever
//     capacity frees (a completion, a new worker) and on a timer;
//   * a query that has waited past its TTFT SLO has lost its TTFT: it is retried with the TTFT
//     constraint lifted, so it goes wherever it does not hurt the others;
//   * when the fleet holds nothing at all and the oldest query still cannot be placed (it would
//     not fit even an idle worker under its SLOs), it is placed best effort on the least loaded
//     worker. The simulator does this only once nothing else can happen; a live node cannot
//     know that nothing else will, and an idle fleet frees no capacity to wait for, so it does
//     it at the next retry.
// The live node adds one rule the simulator does not need: a query that waits longer than
// max_wait_s is handed back as expired, so that its client hears of it (deadlineExceeded)
// rather than waiting forever for a fleet that never comes.
//
// Output lengths are predicted, never read from the client's maxOutputTokens: in emulation that
// is the true length, and placement must not see the truth (only the simulator's oracle does).
//
// Workers are known by their wire/store id (uint32); the cluster's own dense ids stay inside.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/node/ticket.hpp"
#include "placement/cluster_state.hpp"
#include "placement/length_source.hpp"
#include "placement/policy.hpp"
#include "predict/length_predictor.hpp"
#include "util/rng.hpp"

namespace aladdin::node {

struct desk_options {
  std::string policy = "aladdin";
  schedule_options schedule;
  length_predictor_options predictor;
  std::uint64_t seed = 1;
  std::size_t retry_batch = 32;  // waiting queries retried per occasion, as the simulator
  double max_wait_s = 600;       // model seconds at the intake before the query expires
};

// A placement to carry out: tell worker `worker` to run `query`.
struct dispatch {
  std::uint32_t worker = 0;
  ticket query;
  std::uint32_t output_hint = 0;  // the predicted output length, for the engine's planning
};

struct desk_counters {
  std::uint64_t placed = 0;
  std::uint64_t waited = 0;        // queries that had to wait at least once
  std::uint64_t forced = 0;        // best-effort placements on an idle fleet
  std::uint64_t expired = 0;
  std::uint64_t rejections = 0;    // policy refusals (one query may be refused many times)
};

class placement_desk {
 public:
  // Throws std::invalid_argument for an unknown policy or one that needs true lengths.
  explicit placement_desk(desk_options options);

  // ---- the fleet -----------------------------------------------------------------------------
  // False when the worker is already known.
  bool add_worker(std::uint32_t worker, worker_profile profile);
  // Takes no new queries; keeps what it has.
  void drain_worker(std::uint32_t worker);
  // Forgets the worker and its schedule; what it held is the caller's to re-place or fail.
  void remove_worker(std::uint32_t worker);
  bool has_worker(std::uint32_t worker) const;
  int outstanding(std::uint32_t worker) const;  // queued + running on its schedule; 0 if unknown
  std::size_t workers() const { return to_cluster_.size(); }

  // ---- queries ---------------------------------------------------------------------------------
  // New queries in acceptance order: each is placed at once or waits.
  void offer(std::vector<ticket>& batch, double now, std::vector<dispatch>& placed);
  // Queries that lost their worker: placed at once or put back among the waiting in arrival
  // order (they are older than most of what waits).
  void reoffer(std::vector<ticket>& batch, double now, std::vector<dispatch>& placed);
  // Another chance for waiting queries; those past max_wait_s come back in `expired`.
  void retry(double now, std::vector<dispatch>& placed, std::vector<ticket>& expired);

  // ---- what workers report -------------------------------------------------------------------
  void first_token(std::uint32_t worker, query_id q, double now);
  void progress(std::uint32_t worker, query_id q, int generated_tokens, double now);
  // Finished: frees its share and teaches the predictor its length.
  void completed(std::uint32_t worker, query_id q, int prompt_tokens, int output_tokens, double now);
  // Gone without a length to learn from (refused by the engine, failed, cancelled).
  void removed(std::uint32_t worker, query_id q, double now);
  // A query the worker already holds, taken back after a restart of the node.
  void adopt(std::uint32_t worker, const ticket& t, bool running, int generated_tokens, double now);

  std::size_t waiting() const { return waiting_.size(); }
  const desk_counters& counters() const { return counters_; }
  const length_predictor& predictor() const { return predictor_; }
  const cluster_state& cluster() const { return *cluster_; }

 private:
  bool try_place(const ticket& t, double now, bool best_effort, std::vector<dispatch>& placed);
  query_request request_of(const ticket& t, double now) const;
  bool fleet_idle() const;
  const worker_slot* cluster_id(std::uint32_t worker) const;

  desk_options options_;
  length_predictor predictor_;
  predicted_lengths lengths_;
  std::unique_ptr<cluster_state> cluster_;
  std::unique_ptr<placement_policy> policy_;
  rng random_;
  std::unordered_map<std::uint32_t, worker_slot> to_cluster_;
  std::vector<std::uint32_t> to_wire_;  // by cluster id
  std::deque<ticket> waiting_;           // oldest first
  std::vector<ticket> scratch_;
  desk_counters counters_;
};

}  // namespace aladdin::node
