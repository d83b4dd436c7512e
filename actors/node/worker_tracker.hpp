#pragma once
// What a worker proxy knows about its worker: the queries in flight there, whether the worker
// is alive, and what each of its messages means for the journal, the clients and placement.
// Plain C++ (the proxy actor wraps it): it writes the journal, posts frames to the outbox and
// fills a report for the placement desk; it never sends actor messages or reads a clock.
//
// Journal order: a query is marked dispatched before its assignment is sent, so a worker only
// ever holds queries the journal says were dispatched (what re-adoption after a restart relies
// on), and finished before its client hears so. Both are written per batch of messages (one
// durable write each), not per query.
//
// Liveness: every heartbeat starts a new generation; the proxy checks, a timeout later, whether
// the generation it armed is still current. If it is, no heartbeat came in between: the worker
// is lost.
//
// Loss: a query that has streamed its first token cannot be resumed elsewhere without its
// client seeing the output start over, so it fails (workerLost). One that has not started is
// handed back for re-placement, up to max_placements dispatches in all.
//
// Broken stream: an engine that answers but lost one query's stream (the agent says
// streamBroken) is that query's trouble, not the worker's: before its first token it is handed
// back for re-placement under the same bound; after it, it fails.
//
// Orphans: a query in flight that two consecutive complete heartbeats do not list (neither
// running nor waiting) was lost on the way or dropped by the engine; it is treated as lost with
// the worker. Two, because the heartbeat sent while an assignment was in transit cannot list it.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/node/text_relay.hpp"
#include "actors/node/ticket.hpp"
#include "actors/wire/outbox.hpp"
#include "storage/state_store.hpp"

namespace aladdin::node {

// What placement must learn from one batch of a worker's messages.
struct tracker_report {
  struct done {
    query_id id;
    int prompt_tokens = 0;
    int output_tokens = 0;
  };
  std::uint32_t worker = 0;
  std::vector<query_id> first_tokens;
  std::vector<progress_report> progress;           // running queries and tokens generated
  std::vector<done> completed;
  std::vector<query_id> removed;                   // ended without a length to learn from
  std::vector<ticket> orphaned;                    // to re-place (not started yet)
  // Reported by the worker but not in flight here: candidates for re-adoption after a restart
  // (or leftovers to cancel).
  std::vector<std::pair<query_id, int>> unknown_running;
  std::vector<query_id> unknown_waiting;
  std::vector<worker_channel::query_completed> unknown_completed;
  bool heartbeat = false;                          // a heartbeat was among the messages

  bool frees_capacity() const { return !completed.empty() || !removed.empty() || !orphaned.empty(); }
};

// Ends a query that will not run: the journal first (failed), then its client. False when the
// journal says it had ended already (its client heard of it then) or could not be written.
bool fail_query(state_store& store, std::vector<outbound_frame>& frames, const ticket& t,
                client_channel::failure_code code, const std::string& detail,
                std::uint64_t wall_micros);

// Ends a query from the journal that a worker completed while the node was down.
bool finish_recovered(state_store& store, std::vector<outbound_frame>& frames,
                      const journal_entry& e, const worker_channel::query_completed& done,
                      std::uint64_t wall_micros);

struct tracker_options {
  int max_placements = 3;
};

class worker_tracker {
 public:
  worker_tracker(std::uint32_t worker, std::string name, routing_id peer, state_store& store,
                 outbox& out, node_clock clock, tracker_options options = {});

  std::uint32_t worker() const { return worker_; }
  const std::string& name() const { return name_; }
  const routing_id& peer() const { return peer_; }
  std::size_t in_flight() const { return flights_.size(); }
  bool holds(query_id q) const { return flights_.count(q.value) != 0; }

  // Placement chose this worker: journal (dispatched), then send the assignments. A query the
  // journal refuses (it ended meanwhile) is not sent and comes back in report.removed.
  void assign(std::vector<dispatch>& batch, node_clock::steady now, tracker_report& report);
  // Already on the worker (re-adoption): tracked, not sent again. If its completion came in
  // first (it races the adoption through placement), it ends now, into `report`.
  void adopt(const ticket& t, bool started, node_clock::steady now, tracker_report& report);
  void cancel(query_id q);
  // The query's client went away: the worker is told to cancel it, it fails (cancelled) in the
  // journal and for its client, and it leaves this worker's schedule (report.removed). False
  // when it is not in flight here.
  bool abandon(query_id q, const std::string& why, node_clock::steady now, tracker_report& report);
  // Where the text of queries with a request goes, and the engine's account at completion
  // (nothing when unset).
  void set_text_relay(text_relay* relay) { relay_ = relay; }
  void drain();
  void shutdown(const std::string& reason);

  void handle(std::vector<worker_event>& events, node_clock::steady now, tracker_report& report);

  std::uint64_t generation() const { return generation_; }

  // The worker is gone: started queries fail (journal, client); the rest come back for
  // re-placement, or fail too once they have used up max_placements.
  std::vector<ticket> lose(node_clock::steady now, const std::string& why);
  // The node is shutting down and will not wait for them: every query in flight fails
  // (journal, then its client, with `code` and `detail`) and is cancelled on the worker; each
  // goes into report.removed. Returns how many failed.
  std::size_t fail_all(client_channel::failure_code code, const std::string& detail, node_clock::steady now,
                       tracker_report& report);

 private:
  struct flight {
    ticket query;
    std::uint64_t first_token_micros = 0;  // wall; 0 until the first token
    int missed = 0;                        // consecutive complete heartbeats without it
  };
  void on_heartbeat(const worker_channel::heartbeat& hb, node_clock::steady now,
                    tracker_report& report);
  void on_first_token(const worker_channel::first_token& m, node_clock::steady now,
                      tracker_report& report);
  void on_completed(const worker_channel::query_completed& m, node_clock::steady now,
                    tracker_report& report);
  void on_rejected(const worker_channel::engine_rejected& m, node_clock::steady now,
                   tracker_report& report);
  void on_text(const worker_channel::query_text& m);
  // Journals the completions collected by on_completed in one write, then tells their clients.
  void finish_pending(tracker_report& report);
  void fail(const ticket& t, client_channel::failure_code code, const std::string& detail,
            node_clock::steady now);
  void to_client(const ticket& t, client_channel::message m);

  std::uint32_t worker_;
  std::string name_;
  routing_id peer_;
  state_store& store_;
  outbox& out_;
  node_clock clock_;
  tracker_options options_;
  std::unordered_map<std::uint64_t, flight> flights_;
  std::uint64_t generation_ = 0;
  std::vector<outbound_frame> frames_;  // scratch: posted once per call
  struct finishing {
    ticket query;
    finish_info fin;
    worker_channel::query_completed done;
  };
  std::vector<finishing> finishing_;  // completions of the current batch
  text_relay* relay_ = nullptr;
  // Completions of queries not (yet) tracked here, newest last, bounded: a worker that
  // re-registers reports a query in a heartbeat and its completion right after, before the
  // adoption decided by placement comes back.
  std::unordered_map<std::uint64_t, worker_channel::query_completed> early_;
  std::vector<std::uint64_t> early_order_;
};

}  // namespace aladdin::node
