#pragma once
// What the query intake checks before it journals a submission. A refusal here is "never, as
// sent" (invalid) or "can never fit" (kv): the client should not retry the same query. The
// "try again later" refusals (overloaded, draining) depend on the node's state and are decided
// by the intake actor.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/node/ticket.hpp"
#include "actors/wire/messages.hpp"
#include "storage/state_store.hpp"

namespace aladdin::node {

struct intake_limits {
  std::string model;                      // canonical name of the served model
  std::uint32_t max_prompt_tokens = 131072;
  double kv_capacity_tokens = 0;          // of the served worker shape; 0: not checked
  slo_target default_slo;                 // model seconds, for a submission that sets none
  double max_slo_s = 3600;
};

// The state the intake's "try again later" refusals depend on.
struct intake_state_view {
  bool draining = false;          // the node is shutting down
  std::size_t waiting = 0;        // queries waiting at the intake now
  std::size_t max_waiting = 0;
};

struct intake_result {
  std::vector<ticket> accepted;                  // in order, for placement
  std::vector<std::pair<double, int>> arrivals;  // model time, prompt tokens, for the forecaster
  std::size_t refused = 0;
  std::size_t journal_failures = 0;
};

// One batch of submissions: refuses what must be refused, journals the rest in one durable
// batched write (state_store::accept_all), and only then acknowledges them (queryAccepted),
// appending every reply to `frames`. `now_s` is model time, `now_micros` wall time.
intake_result admit(std::vector<client_submit>& batch, state_store& store, const intake_limits& limits,
                    const intake_state_view& state, double now_s, std::uint64_t now_micros,
                    std::vector<outbound_frame>& frames);

// nullopt when the submission may be accepted.
std::optional<client_channel::query_rejected> check_submission(const client_channel::submit_query& q,
                                                              const intake_limits& limits);

// The query's SLOs in model seconds: the client's, or the defaults where it set 0.
slo_target slo_of(const client_channel::submit_query& q, const intake_limits& limits);

}  // namespace aladdin::node
