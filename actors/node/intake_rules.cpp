#include "actors/node/intake_rules.hpp"

#include "actors/node/catalogue.hpp"

namespace aladdin::node {

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
  if (q.prompt_tokens > limits.max_prompt_tokens)
    return refuse(q, reject_code::invalid,
                  "promptTokens " + std::to_string(q.prompt_tokens) + " above the limit of " +
                      std::to_string(limits.max_prompt_tokens));
  const slo_target slo = slo_of(q, limits);
  if (slo.ttft_s > limits.max_slo_s || slo.atgt_s > limits.max_slo_s)
    return refuse(q, reject_code::invalid, "an SLO above " + std::to_string(limits.max_slo_s) + " s");
  if (!q.model.empty() && canonical_model(q.model) != limits.model)
    return refuse(q, reject_code::invalid,
                  "model '" + q.model.substr(0, 64) + "' is not served here (serving " + limits.model + ")");
  // The prompt and its first token must fit one worker's KV cache, or no worker will ever run it.
  if (limits.kv_capacity_tokens > 0 && q.prompt_tokens + 1.0 > limits.kv_capacity_tokens)
    return refuse(q, reject_code::kv,
                  "a prompt of " + std::to_string(q.prompt_tokens) + " tokens exceeds the KV cache of a worker (" +
                      std::to_string(static_cast<long long>(limits.kv_capacity_tokens)) + " tokens)");
  return std::nullopt;
}

}  // namespace aladdin::node
