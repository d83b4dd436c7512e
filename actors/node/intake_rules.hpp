#pragma once
// What the query intake checks before it journals a submission. A refusal here is "never, as
// sent" (invalid) or "can never fit" (kv): the client should not retry the same query. The
// "try again later" refusals (overloaded, draining) depend on the node's state and are decided
// by the intake actor.

#include <cstdint>
#include <optional>
#include <string>

#include "actors/node/ticket.hpp"
#include "actors/wire/messages.hpp"

namespace aladdin::node {

struct intake_limits {
  std::string model;                      // canonical name of the served model
  std::uint32_t max_prompt_tokens = 131072;
  double kv_capacity_tokens = 0;          // of the served worker shape; 0: not checked
  slo_target default_slo;                 // model seconds, for a submission that sets none
  double max_slo_s = 3600;
};

// nullopt when the submission may be accepted.
std::optional<query_rejected> check_submission(const submit_query& q, const intake_limits& limits);

// The query's SLOs in model seconds: the client's, or the defaults where it set 0.
slo_target slo_of(const submit_query& q, const intake_limits& limits);

}  // namespace aladdin::node
