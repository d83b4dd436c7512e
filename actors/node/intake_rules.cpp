#include "actors/node/intake_rules.hpp"

#include <chrono>

#include "actors/node/catalogue.hpp"

namespace aladdin::node {

using client_channel::query_accepted;
using client_channel::query_rejected;
using client_channel::reject_code;
using client_channel::submit_query;

namespace {

query_rejected refuse(const submit_query& q, reject_code code, std::string detail) {
  return {q.client_query_id, code, std::move(detail)};
}

}  // namespace

slo_target slo_of(const submit_query& q, const intake_limits& limits) {
  slo_target s = limits.default_slo;
  if (q.ttft_slo_micros != 0) s.ttft_s = static_cast<double>(q.ttft_slo_micros) / 1e6;
  if (q.atgt_slo_micros != 0) s.atgt_s = static_cast<double>(q.atgt_slo_micros) / 1e6;
  return s;
}

std::optional<query_rejected> check_submission(const submit_query& q, const intake_limits& limits) {
  if (q.prompt_tokens == 0) return refuse(q, reject_code::invalid, "promptTokens must be positive");
  if (!q.model.empty() && canonical_model(q.model) != limits.model)
    return refuse(q, reject_code::invalid,
                  "model '" + q.model.substr(0, 64) + "' is not served here (serving " + limits.model + ")");
  // The same rule as the simulator's intake (model_spec::fits_context), on what the client asks for;
  // before --max-prompt-tokens, which defaults to the context, so that the reason says why.
  const double requested = q.max_output_tokens > 0 ? q.max_output_tokens : 1.0;
  if (limits.context_tokens > 0 && static_cast<double>(q.prompt_tokens) + requested > limits.context_tokens)
    return refuse(q, reject_code::over_context,
                  "a prompt of " + std::to_string(q.prompt_tokens) + " tokens and " +
                      std::to_string(static_cast<long long>(requested)) + " output tokens exceed the context of " +
                      limits.model + " (" + std::to_string(limits.context_tokens) + " tokens)");
  if (q.prompt_tokens > limits.max_prompt_tokens)
    return refuse(q, reject_code::invalid,
                  "promptTokens " + std::to_string(q.prompt_tokens) + " above the limit of " +
                      std::to_string(limits.max_prompt_tokens));
  const slo_target slo = slo_of(q, limits);
  if (slo.ttft_s > limits.max_slo_s || slo.atgt_s > limits.max_slo_s)
    return refuse(q, reject_code::invalid, "an SLO above " + std::to_string(limits.max_slo_s) + " s");
  // The prompt and its first token must fit one worker's KV cache, or no worker will ever run it.
  if (limits.kv_capacity_tokens > 0 && q.prompt_tokens + 1.0 > limits.kv_capacity_tokens)
    return refuse(q, reject_code::kv,
                  "a prompt of " + std::to_string(q.prompt_tokens) + " tokens exceeds the KV cache of a worker (" +
                      std::to_string(static_cast<long long>(limits.kv_capacity_tokens)) + " tokens)");
  return std::nullopt;
}

intake_result intake_batch(std::vector<client_submit>& batch, state_store& store, const intake_limits& limits,
                           const intake_state_view& state, double now_s, std::uint64_t now_micros,
                           std::vector<outbound_frame>& frames) {
  intake_result r;
  auto refuse = [&](client_submit& s, reject_code code, std::string detail) {
    ++r.refused;
    frames.push_back(outbound_frame::client(std::move(s.client),
                                      query_rejected{s.query.client_query_id, code, std::move(detail)}));
  };
  std::vector<journal_entry> entries;
  std::vector<std::size_t> candidates;  // index in batch of each entry
  entries.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    client_submit& s = batch[i];
    if (state.draining) {
      refuse(s, reject_code::draining, "the node is shutting down");
      continue;
    }
    if (auto why = check_submission(s.query, limits)) {
      refuse(s, why->reason, std::move(why->detail));
      continue;
    }
    // What this batch adds counts too, or one large batch could overshoot the bound.
    if (state.waiting + entries.size() >= limits.max_waiting) {
      refuse(s, reject_code::overloaded, std::to_string(state.waiting) + " queries wait already");
      continue;
    }
    auto id = store.next_query_id();
    if (!id) {
      ++r.journal_failures;
      refuse(s, reject_code::overloaded, "the journal is unavailable");
      continue;
    }
    const slo_target slo = slo_of(s.query, limits);
    journal_entry e;
    e.id = id.value();
    e.client_id = s.client;
    e.client_query_id = s.query.client_query_id;
    e.model = s.query.model;
    e.prompt_tokens = s.query.prompt_tokens;
    e.max_output_tokens = s.query.max_output_tokens;
    e.ttft_slo_micros = static_cast<std::uint64_t>(slo.ttft_s * 1e6);
    e.atgt_slo_micros = static_cast<std::uint64_t>(slo.atgt_s * 1e6);
    e.accepted_micros = now_micros;
    e.request = to_stored(s.request);
    entries.push_back(std::move(e));
    candidates.push_back(i);
  }
  if (entries.empty()) return r;
  // Durable before anyone hears "accepted".
  const auto started = std::chrono::steady_clock::now();
  const std::vector<store_status> journaled = store.accept_all(entries);
  r.journal_write_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (std::size_t k = 0; k < entries.size(); ++k) {
    client_submit& s = batch[candidates[k]];
    if (!journaled[k]) {
      ++r.journal_failures;
      refuse(s, reject_code::overloaded, "the journal is unavailable");
      continue;
    }
    const journal_entry& e = entries[k];
    frames.push_back(outbound_frame::client(s.client, query_accepted{s.query.client_query_id, e.id.value}));
    ticket t;
    t.id = e.id;
    t.client = std::move(s.client);
    t.client_query_id = s.query.client_query_id;
    t.prompt_tokens = s.query.prompt_tokens;
    t.max_output_tokens = s.query.max_output_tokens;
    t.slo = slo_of(s.query, limits);
    t.arrival_s = now_s;
    t.accepted_micros = now_micros;
    t.request = std::move(s.request);
    r.arrivals.emplace_back(now_s, static_cast<int>(t.prompt_tokens));
    r.accepted.push_back(std::move(t));
  }
  return r;
}

}  // namespace aladdin::node
