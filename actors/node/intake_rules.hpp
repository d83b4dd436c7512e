#pragma once
// What the query intake decides about a batch of submissions: every refusal, the journal write
// and the replies. The intake actor only passes in the node's state (intake_state_view) and
// carries out the result. Two kinds of refusal:
//   - "never, as sent": invalid (no prompt, a prompt above the limit, an SLO above the limit,
//     another model), over_context (prompt + requested output over the model's context) or kv (the prompt alone exceeds a worker's KV cache): the client should not
//     retry the same query (check_submission);
//   - "try again later": draining (the node is stopping) or overloaded (the backlog is at
//     --max-waiting, or the journal failed), which depend on the node's state.

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
  // The served model's context (model_spec::context_tokens): a prompt plus its requested output
  // (maxOutputTokens; 1 when it sets none) over it is refused over_context. 0: not checked.
  std::uint32_t context_tokens = 0;
  double kv_capacity_tokens = 0;          // of the served worker shape; 0: not checked
  slo_target default_slo;                 // model seconds, for a submission that sets none
  double max_slo_s = 3600;
  std::size_t max_waiting = 100000;       // backlog at which new queries are refused (overloaded)
};

// The state the intake's "try again later" refusals depend on.
struct intake_state_view {
  bool draining = false;          // the node is shutting down
  std::size_t waiting = 0;        // queries waiting at the intake now
};

struct intake_result {
  std::vector<ticket> accepted;                  // in order, for placement
  std::vector<std::pair<double, int>> arrivals;  // model time, prompt tokens, for the forecaster
  std::size_t refused = 0;
  std::size_t journal_failures = 0;
  double journal_write_s = -1;  // wall time of the batched journal write (-1: none was made)
};

// One batch of submissions: refuses what must be refused, journals the rest in one durable
// batched write (state_store::accept_all), and only then acknowledges them (queryAccepted),
// appending every reply to `frames`. `now_s` is model time, `now_micros` wall time.
intake_result intake_batch(std::vector<client_submit>& batch, state_store& store, const intake_limits& limits,
                           const intake_state_view& state, double now_s, std::uint64_t now_micros,
                           std::vector<outbound_frame>& frames);

// nullopt when the submission may be accepted.
std::optional<client_channel::query_rejected> check_submission(const client_channel::submit_query& q,
                                                              const intake_limits& limits);

// The query's SLOs in model seconds: the client's, or the defaults where it set 0.
slo_target slo_of(const client_channel::submit_query& q, const intake_limits& limits);

}  // namespace aladdin::node
