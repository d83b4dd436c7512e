#pragma once
// Shared helpers for the placement tests: a small, known worker profile and a way to place a
// query and commit it the way a harness does.

#include "placement/cluster_state.hpp"
#include "placement/policy.hpp"

namespace aladdin::testing {

// Round numbers in the range of Llama-2-70B on four A100s.
inline worker_profile test_profile(double kv_capacity_tokens = 100000) {
  worker_profile p;
  p.config = {"test-model", "test-gpu", 4};
  p.prefill = {2e-4, 0, 0, 0.02};
  p.decode = {2e-7, 2e-4, 0.04};
  p.kv.bytes_per_token = 1;
  p.kv.capacity_tokens = kv_capacity_tokens;
  p.source = "test";
  return p;
}

// The model taken at its word: no headroom, mean lengths. Tests of the constraints use it so
// that their arithmetic is exact (with aladdin_policy_options{1.0}: plain best fit).
inline schedule_options exact() { return {1.0, 1.0, 1.0, 0.0}; }

inline query_request make_query(const cluster_state& c, std::uint64_t id, int input,
                                int true_output, double arrival, slo_target slo = {2.0, 0.1}) {
  query_request q;
  q.id = query_id{id};
  q.input_tokens = input;
  q.arrival_s = arrival;
  q.slo = slo;
  q.expected_output_tokens = c.expected_output({input, true_output});
  return q;
}

// Places q and, if placed, commits it to the chosen worker's schedule.
inline placement_outcome place_and_commit(cluster_state& c, placement_policy& p,
                                          const query_request& q, int true_output,
                                          decision_context& ctx) {
  const placement_outcome out = p.place(c, q, ctx);
  if (out.placed) c.assign(out.worker, q, {q.input_tokens, true_output}, ctx.now_s);
  return out;
}

}  // namespace aladdin::testing
