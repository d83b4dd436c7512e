#pragma once
// The emulated GPU worker's state machine: the simulator's engine (sim::engine on a ground truth)
// run against an injected wall clock, speaking the worker channel as plain messages
// (schema/worker_channel.hpp: the structs the control node speaks too).
//
// No sockets, no clock reads, no threads: the caller passes `now` (wall-clock microseconds,
// never decreasing; a smaller value is treated as the last one) into every call, and collects
// what the core wants to send with take_outbound(). worker_process runs it on a ZeroMQ DEALER
// with the system clock; the tests run it on a fake clock.
//
// Time. Engine seconds = (now − start) × time_scale / 10⁶, so a time scale of 50 plays 50
// engine seconds per wall second. Engine events are reported at the wall time their engine time
// maps back to (rounded up to the next microsecond), not at the time the caller happened to
// call advance(), so a late wake-up delays a message but never distorts the times in it.
//
// Registration (the rules live in worker_session, shared with the engine agent). start() sends registerWorker. Until registered arrives the core sends no
// heartbeats, re-sends registerWorker every register_retry, and holds the query events
// (firstToken, queryCompleted, queryRejected) it produces; on registered it sends a heartbeat
// at once, then the held events in order. An error{unknownWorker} from the control plane (it
// restarted and lost its registry, say) puts the core back to unregistered and re-sends
// registerWorker under the same name; running queries keep running, and the control plane
// re-adopts them from the heartbeat that follows the new registration. Errors of other codes
// are counted and otherwise ignored: the core never answers an error, so two peers cannot
// bounce errors forever. A control plane that answers nothing at all (none listens at the
// endpoint: ZeroMQ keeps reconnecting without a word) is told by silence_warning(): after
// silence_warning of registering unanswered, then every silence_repeat, the process logs it
// and keeps trying (a worker is often started before its node, or outlives a node restart).
//
// Assignments. The engine is the GPU and must know each query's true output length. A real
// engine stops at end-of-sequence; the emulation has no text, so it stops at the client's
// max_tokens (maxOutputTokens) when given, else at the predicted length (outputTokensHint),
// else at default_output_tokens. Refusals by the engine become queryRejected: tooLarge when
// prompt + output can never fit the KV cache, invalid for an empty prompt. An assignment of a
// query id that is already live is a duplicate (a resend): it is ignored and counted, since
// the query already runs and will report. A query id held by a cancelled, still running
// sequence is rejected (invalid): the engine cannot hold two sequences under one id.
//
// Text. An assignment that carries a request (a client that sent text: request.api != none)
// gets deterministic synthetic text (synthetic_text.hpp, seeded by `seed`): after the firstToken
// of an engine iteration and before its queryCompleted, one queryText per iteration that
// produced tokens for the query, seq counting from 0, `tokens` the tokens it carries. A text
// client has no true length, so the emulation stops at the predicted length (outputTokensHint)
// capped by max_tokens, else at max_tokens, else at default_output_tokens; queryCompleted says
// finishReason length when it stopped at max_tokens, stop otherwise, and promptTokens = the
// assignment's promptTokens. Token-count assignments carry no text and finishReason unknown.
//
// Cancellation. sim::engine has no way to remove a sequence, so a cancelled query keeps
// running in the engine until its natural end, holding KV blocks and batch slots as a real
// engine would until its abort reaches the scheduler; the core only drops its events and leaves
// it out of the heartbeat's running/waiting lists and of the waiting count (kvBlocksUsed stays
// the engine's true use). Cancelling an unknown or finished query is a no-op (it can race with
// completion).
//
// Lifecycle. drain: assignments are refused (queryRejected invalid, "draining"); the core
// finishes when no uncancelled query is left, sending a last heartbeat, or at the drain's
// deadline if one is given, abandoning what still runs. shutdown: finishes at once.
//
// Members a control plane never sends (a heartbeat, say) are ignored: worker_channel::decode
// refuses them before they reach the core.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/worker/worker_session.hpp"
#include "schema/worker_channel.hpp"
#include "sim/engine.hpp"
#include "sim/ground_truth.hpp"

namespace aladdin::worker {

struct worker_identity {
  std::string name;   // stable across restarts: the routing id and registerWorker.workerName
  std::string model;  // catalogue spelling, so the control plane matches its profiles
  std::string gpu;
  int tp = 1;
};

struct worker_core_options {
  worker_identity identity;
  sim::engine_options engine;                 // kv_capacity_tokens is required
  std::uint64_t seed = 1;                     // the engine's noise
  double time_scale = 1;                      // engine seconds per wall second; > 0
  micros heartbeat_interval = 100'000;        // > 0
  micros register_retry = 1'000'000;          // > 0
  micros silence_warning = 5'000'000;         // registering unanswered this long: tell; > 0
  micros silence_repeat = 30'000'000;         // then again this often (0: once)
  std::uint32_t default_output_tokens = 256;  // > 0
  // Heartbeats list at most this many waiting ids (the head of the queue; waitingCount is always
  // the full count), so that a heartbeat stays well under the channel's 64 KiB message limit.
  std::size_t max_heartbeat_waiting_ids = 4096;
};

struct worker_stats {
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t completed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t cancels_of_unknown_queries = 0;
  std::uint64_t duplicate_assignments = 0;
  std::uint64_t errors_received = 0;
  std::uint64_t registrations = 0;  // registered messages handled
  std::uint64_t heartbeats = 0;
};

class worker_core {
 public:
  // Throws std::invalid_argument on bad options (time scale, intervals, engine options).
  worker_core(worker_core_options options, const sim::ground_truth& truth, micros start);

  // Queues the first registerWorker. Call once, before the other calls.
  void start();

  // Advances to `now`, then handles one message from the control plane.
  void handle(const worker_channel::message& message, micros now);

  // Runs every engine iteration that ends by `now` (reporting its events), then sends what is
  // due: a heartbeat, a registerWorker retry; and notices the end of a drain.
  void advance(micros now);

  // The earliest wall time at which advance() has something to do; `never` when nothing is
  // scheduled. The process polls its socket until then.
  micros next_wake() const;

  // How long registerWorker has gone unanswered, when the operator should be told so now (once
  // per warning, see silence_warning); nullopt otherwise.
  std::optional<micros> silence_warning(micros now);

  // Messages to send, in order; the core forgets them.
  std::vector<worker_channel::message> take_outbound() { return session_.take_outbound(); }

  bool finished() const { return session_.finished(); }
  exit_reason why_finished() const { return session_.why_finished(); }
  bool registered() const { return session_.registered(); }
  bool draining() const { return session_.draining(); }
  std::uint32_t worker_id() const { return session_.worker_id(); }
  // The plan epoch of the last registration (0 before the first): the envelopes' header epoch.
  std::uint64_t epoch() const { return session_.epoch(); }
  // Queries accepted and neither finished nor cancelled.
  std::size_t active_queries() const { return active_; }
  worker_stats stats() const;
  const sim::engine& engine() const { return engine_; }
  const worker_core_options& options() const { return options_; }
  // The registerWorker this core sends: KV capacity is the engine's, in whole blocks.
  worker_channel::register_worker registration() const;

  // The clock mapping, exposed for tests and logs.
  double engine_time(micros wall) const;
  micros wall_time(double engine_s) const;  // rounded up; `never` for infinity

 private:
  struct live_query {
    bool cancelled = false;
    bool has_request = false;  // the client sent text: relay it
    std::uint32_t text_seq = 0;
    int text_tokens = 0;       // output tokens already relayed as text
    std::uint32_t prompt_tokens = 0;
    worker_channel::finish_reason finish = worker_channel::finish_reason::unknown;
  };

  micros clamp_now(micros now);
  void on_assign(const worker_channel::assign_query& m, micros now);
  void on_cancel(const worker_channel::cancel_query& m);
  void on_engine_event(const sim::engine_event& e);
  void relay_text(const sim::token_progress& p);
  worker_channel::heartbeat engine_heartbeat() const;
  void reject(std::uint64_t query_id, worker_channel::engine_reject_code reason, std::string detail);

  worker_core_options options_;
  sim::engine engine_;
  micros start_;
  micros last_now_;
  worker_session session_;  // registration, heartbeats, held events, drain, errors

  std::unordered_map<std::uint64_t, live_query> live_;  // accepted, still in the engine
  std::size_t active_ = 0;                              // of live_, not cancelled
  worker_stats stats_;  // the engine's counts; the session's are merged in by stats()
};

}  // namespace aladdin::worker
