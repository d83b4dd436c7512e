#include "actors/node/ticket.hpp"

namespace aladdin::node {

node_clock node_clock::start_now(double scale, steady origin) {
  const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  return node_clock(origin, static_cast<std::uint64_t>(wall), scale);
}

ticket ticket_from_journal(const journal_entry& e, const node_clock& clock, node_clock::steady now) {
  ticket t;
  t.id = e.id;
  t.client = e.client_id;
  t.client_query_id = e.client_query_id;
  t.prompt_tokens = e.prompt_tokens;
  t.max_output_tokens = e.max_output_tokens;
  t.slo.ttft_s = static_cast<double>(e.ttft_slo_micros) / 1e6;
  t.slo.atgt_s = static_cast<double>(e.atgt_slo_micros) / 1e6;
  t.arrival_s = clock.model_s_of_wall(e.accepted_micros, now);
  t.accepted_micros = e.accepted_micros;
  // It was (or may have been) on a worker before the restart.
  t.placements = e.state == journal_state::dispatched ? 1 : 0;
  t.request = from_stored(e.request);
  return t;
}

stored_request to_stored(const worker_channel::engine_request& r) {
  using A = worker_channel::engine_api;
  const request_api api = r.api == A::completions        ? request_api::completions
                          : r.api == A::chat_completions ? request_api::chat_completions
                                                         : request_api::none;
  return {api, r.body};
}

worker_channel::engine_request from_stored(const stored_request& r) {
  using A = worker_channel::engine_api;
  const A api = r.api == request_api::completions        ? A::completions
                : r.api == request_api::chat_completions ? A::chat_completions
                                                         : A::none;
  return {api, r.body};
}

desk_query desk_query_of(const ticket& t) {
  desk_query q;
  q.id = t.id;
  q.prompt_tokens = static_cast<int>(t.prompt_tokens);
  q.arrival_s = t.arrival_s;
  q.slo = t.slo;
  return q;
}

}  // namespace aladdin::node
