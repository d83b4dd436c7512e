#pragma once
// The worker channel's lifecycle as every worker speaks it, whatever its engine: registration
// and its retry, the silence warning, the heartbeat grid, query events held while unregistered,
// re-registration on unknownWorker, error counting, drain and shutdown. The emulated worker
// (worker_core) and the engine agent (engine_agent_core) each own one and add their engine.
//
// No sockets, no clock reads: the owner passes `now` (already clamped never to decrease) and
// collects take_outbound(). The rules (documented for the user in worker_core.hpp):
// - start() sends registerWorker; until registered arrives no heartbeats go out, registerWorker
//   is re-sent every register_retry, and query events are held. On registered: a heartbeat at
//   once (so a control node that lost its state re-adopts queries before it hears of their
//   tokens), then the held events in order.
// - error{unknownWorker} while registered: back to unregistered, registerWorker again under the
//   same name. Other errors are counted, never answered.
// - drain: the owner refuses new work; it calls check_drain(active) and the session finishes
//   when nothing active is left (sending a last heartbeat) or at the drain's deadline.
//   shutdown: finished at once. After finishing nothing more is sent.
// - lose(): the owner's engine is gone (an engine agent whose engine stopped answering): the
//   session finishes with exit_reason::engine_lost and sends nothing more, so the control node
//   treats the worker as lost (heartbeats stop) and re-places or fails its queries.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "schema/worker_channel.hpp"
#include "util/answer_watch.hpp"

namespace aladdin::worker {

// Wall-clock microseconds since the Unix epoch, as on the wire.
using micros = std::uint64_t;

inline constexpr micros never = std::numeric_limits<micros>::max();

enum class exit_reason : std::uint8_t { none, shutdown, drained, drain_deadline, engine_lost };
const char* to_string(exit_reason r);

struct session_options {
  micros heartbeat_interval = 100'000;  // > 0
  micros register_retry = 1'000'000;    // > 0
  micros silence_warning = 5'000'000;   // registering unanswered this long: tell; > 0
  micros silence_repeat = 30'000'000;   // then again this often (0: once)
};

struct session_stats {
  std::uint64_t errors_received = 0;
  std::uint64_t registrations = 0;  // registered messages handled
  std::uint64_t heartbeats = 0;
};

class worker_session {
 public:
  // The engine's state for a heartbeat; the session sets worker_id and at_micros.
  using heartbeat_source = std::function<worker_channel::heartbeat()>;

  // Throws std::invalid_argument on a zero interval.
  worker_session(session_options options, heartbeat_source heartbeat);

  // Queues the first registerWorker (what `registration` says). Call once.
  void start(worker_channel::register_worker registration, micros now);

  // Handles registered, drain, shutdown and error; returns false for anything else (assignQuery,
  // cancelQuery: the engine's). Does nothing once finished.
  bool handle_lifecycle(const worker_channel::message& m, micros now);

  // A query event (firstToken, queryText, queryCompleted, queryRejected): sent now when
  // registered, held otherwise; dropped once finished.
  void emit(worker_channel::message event);

  // Sends what is due at `now`: a heartbeat, a registerWorker retry.
  void tick(micros now);
  // With `active` queries left: finishes a drain when none is, or at its deadline.
  void check_drain(std::size_t active, micros now);
  // The engine is gone: finish with engine_lost, sending nothing more.
  void lose();

  micros next_wake() const;
  std::optional<micros> silence_warning(micros now);
  std::vector<worker_channel::message> take_outbound();

  bool started() const { return started_; }
  bool finished() const { return exit_ != exit_reason::none; }
  exit_reason why_finished() const { return exit_; }
  bool registered() const { return registered_; }
  bool draining() const { return draining_; }
  std::uint32_t worker_id() const { return worker_id_; }
  std::uint64_t epoch() const { return epoch_; }
  const session_stats& stats() const { return stats_; }
  const session_options& options() const { return options_; }

 private:
  void send_registration(micros now);
  void send_heartbeat(micros now);

  session_options options_;
  heartbeat_source heartbeat_;
  worker_channel::register_worker registration_;
  bool started_ = false;
  bool registered_ = false;
  std::uint32_t worker_id_ = 0;
  std::uint64_t epoch_ = 0;
  micros next_heartbeat_ = never;
  micros next_register_ = never;
  answer_watch control_plane_;
  bool draining_ = false;
  micros drain_deadline_ = 0;
  exit_reason exit_ = exit_reason::none;
  std::vector<worker_channel::message> outbox_;
  std::vector<worker_channel::message> held_;
  session_stats stats_;
};

}  // namespace aladdin::worker
