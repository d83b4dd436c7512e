#include "placement/decision_log.hpp"

#include <algorithm>

namespace aladdin {

void record_query(decision_record& r, const desk_query& q) {
  r.query = q.id.value;
  r.arrival_s = q.arrival_s;
  r.prompt_tokens = q.prompt_tokens;
  r.slo = q.slo;
}

void record_placement(decision_record& r, const desk_dispatch& d, double now_s) {
  r.kind = d.best_effort ? decision_kind::best_effort
           : d.ttft_lost ? decision_kind::ttft_lost
           : d.late      ? decision_kind::late
                         : decision_kind::planned;
  r.worker = d.worker.value;
  r.decided_s = now_s;
  r.refusals = d.refusals;
  r.last_refusal = d.last_refusal;
  r.expected_output_tokens = d.expected_output_tokens;
  r.predicted_ttft_s = d.predicted.predicted_ttft_s;
  r.predicted_iteration_s = d.predicted.predicted_iteration_s;
  r.predicted_peak_kv_tokens = d.predicted.predicted_peak_kv_tokens;
  r.tightness = d.predicted.tightness;
}

void record_refusal(decision_record& r, const desk_refusal& f, decision_kind kind, double now_s) {
  r.kind = kind;
  r.decided_s = now_s;
  r.last_refusal = f.reason;
}

void decision_log::placed(const desk_query& q, const desk_dispatch& d, double now_s) {
  decision_record r;
  record_query(r, q);
  r.output_tokens = -1;  // until it finishes
  record_placement(r, d, now_s);
  open_.insert_or_assign(q.id, r);
}

decision_record decision_log::refused(const desk_query& q, const desk_refusal& f, decision_kind kind,
                                      double now_s) {
  open_.erase(q.id);
  decision_record r;
  record_query(r, q);
  r.output_tokens = -1;
  record_refusal(r, f, kind, now_s);
  return r;
}

void decision_log::first_token(query_id q, double now_s) {
  if (auto it = open_.find(q); it != open_.end() && it->second.first_token_s < 0) it->second.first_token_s = now_s;
}

std::optional<decision_record> decision_log::finished(query_id q, int output_tokens, double now_s) {
  auto it = open_.find(q);
  if (it == open_.end()) return std::nullopt;
  decision_record r = it->second;
  open_.erase(it);
  r.output_tokens = output_tokens;
  if (r.first_token_s < 0) r.first_token_s = now_s;  // a one-token answer reported at once
  r.finish_s = now_s;
  return r;
}

std::optional<decision_record> decision_log::ended(query_id q) {
  auto it = open_.find(q);
  if (it == open_.end()) return std::nullopt;
  decision_record r = it->second;
  open_.erase(it);
  return r;
}

std::vector<decision_record> decision_log::worker_gone(worker_id w) {
  std::vector<decision_record> out;
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.worker == static_cast<std::int64_t>(w.value)) {
      out.push_back(it->second);
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(out.begin(), out.end(), [](const decision_record& a, const decision_record& b) { return a.query < b.query; });
  return out;
}

}  // namespace aladdin
