#pragma once
// The node's vocabulary for one query on its way from acceptance to its end, and the node's
// clocks.
//
// Two kinds of time. Durations that placement and planning reason about (arrival, SLOs, the
// latency model) are *model* seconds: with a time scale X, emulated workers run X times faster
// than real GPUs, so one wall second is X model seconds. Timestamps that are persisted or sent
// (journal, atMicros) are wall-clock microseconds since the Unix epoch, so they still mean
// something after a restart. node_clock converts between the two; it takes "now" as a steady
// time point from the caller (an actor's clock, virtual in tests) and never reads a clock.

#include <chrono>
#include <cstdint>
#include <string>

#include "actors/wire/messages.hpp"
#include "placement/placement_desk.hpp"
#include "placement/types.hpp"
#include "schema/record_types.hpp"

namespace aladdin::node {

class node_clock {
 public:
  using steady = std::chrono::steady_clock::time_point;

  node_clock() = default;
  node_clock(steady origin, std::uint64_t wall_origin_micros, double scale)
      : origin_(origin), wall_origin_micros_(wall_origin_micros), scale_(scale) {}

  // Reads the real clocks once: for the composition root, not for actors.
  static node_clock start_now(double scale, steady origin = std::chrono::steady_clock::now());

  double model_s(steady now) const {
    return std::chrono::duration<double>(now - origin_).count() * scale_;
  }
  std::uint64_t wall_micros(steady now) const {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - origin_).count();
    return wall_origin_micros_ + static_cast<std::uint64_t>(us > 0 ? us : 0);
  }
  // A persisted wall timestamp on the model time line (negative: before this process).
  double model_s_of_wall(std::uint64_t wall_micros, steady now) const {
    const double ago_s =
        (static_cast<double>(wall_micros_now_diff(wall_micros, now))) / 1e6;
    return model_s(now) - ago_s * scale_;
  }
  // A wall duration in model microseconds (what clients are told: ttftMicros, atgtMicros).
  std::uint64_t model_micros(std::uint64_t wall_micros_elapsed) const {
    return static_cast<std::uint64_t>(static_cast<double>(wall_micros_elapsed) * scale_);
  }
  // A model duration as a wall duration (timers).
  std::chrono::nanoseconds wall_of_model(double model_seconds) const {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(model_seconds / scale_ * 1e9));
  }
  double scale() const { return scale_; }

 private:
  std::int64_t wall_micros_now_diff(std::uint64_t wall_micros, steady now) const {
    return static_cast<std::int64_t>(this->wall_micros(now)) - static_cast<std::int64_t>(wall_micros);
  }
  steady origin_{};
  std::uint64_t wall_origin_micros_ = 0;
  double scale_ = 1;
};

// An accepted query as the node carries it between intake, placement and a worker proxy.
struct ticket {
  query_id id;
  routing_id client;
  std::uint64_t client_query_id = 0;
  std::uint32_t prompt_tokens = 0;
  // The client's hard stop. Forwarded to the worker only: placement never uses it as a
  // prediction (in emulation it is the true output length).
  std::uint32_t max_output_tokens = 0;
  slo_target slo;                     // model seconds
  double arrival_s = 0;               // model time of acceptance
  std::uint64_t accepted_micros = 0;  // wall, as journaled
  int placements = 0;                 // times it was dispatched (re-placement after a loss)
  worker_channel::engine_request request;  // an HTTP client's request; api none: token counts only
};

// The request as the journal keeps it, and back (records are their own structs).
stored_request to_stored(const worker_channel::engine_request& r);
worker_channel::engine_request from_stored(const stored_request& r);

// The ticket as the placement desk sees it (never the client's maxOutputTokens: in emulation
// that is the true length, and placement must not see the truth).
desk_query desk_query_of(const ticket& t);

// A placement to carry out: tell worker `worker` to run `query`.
struct dispatch {
  worker_id worker;
  ticket query;
  std::uint32_t output_hint = 0;  // the predicted output length, for the engine's planning
};

// A ticket from the journal after a restart.
ticket ticket_from_journal(const journal_entry& e, const node_clock& clock, node_clock::steady now);

}  // namespace aladdin::node
