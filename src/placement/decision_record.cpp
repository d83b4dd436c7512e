#include "placement/decision_record.hpp"

#include <algorithm>
#include <cstdio>

#include "util/quantile.hpp"

namespace aladdin {

const char* to_string(decision_kind k) {
  switch (k) {
    case decision_kind::planned: return "planned";
    case decision_kind::ttft_lost: return "ttft_lost";
    case decision_kind::late: return "late";
    case decision_kind::best_effort: return "best_effort";
    case decision_kind::never_fit: return "never_fit";
    case decision_kind::expired: return "expired";
    case decision_kind::unplaced: return "unplaced";
  }
  return "?";
}

double decision_record::atgt_s() const {
  if (!finished() || first_token_s < 0 || output_tokens <= 1) return 0;
  return (finish_s - first_token_s) / (output_tokens - 1);
}

bool decision_record::met() const {
  return finished() && ttft_s() <= slo.ttft_s && atgt_s() <= slo.atgt_s;
}

std::string decisions_csv_header() {
  return "query,arrival_s,prompt_tokens,output_tokens,slo_ttft_s,slo_atgt_s,decision,worker,decided_s,"
         "refusals,last_refusal,expected_output_tokens,predicted_ttft_s,predicted_iteration_s,"
         "predicted_peak_kv_tokens,tightness,first_token_s,finish_s,ttft_s,atgt_s,met\n";
}

std::string decisions_csv_row(const decision_record& r) {
  char line[512];
  std::snprintf(line, sizeof line,
                  "%llu,%.6f,%d,%d,%.6g,%.6g,%s,%lld,%.6f,%u,%s,%.1f,%.6f,%.6f,%.0f,%.4f,%.6f,%.6f,%.6f,%.6f,%d\n",
                  static_cast<unsigned long long>(r.query), r.arrival_s, r.prompt_tokens,
                  r.output_tokens, r.slo.ttft_s, r.slo.atgt_s, to_string(r.kind),
                  static_cast<long long>(r.worker), r.decided_s, r.refusals,
                  std::string(to_string(r.last_refusal)).c_str(), r.expected_output_tokens, r.predicted_ttft_s,
                  r.predicted_iteration_s, r.predicted_peak_kv_tokens, r.tightness,
                  r.first_token_s, r.finish_s, r.ttft_s(), r.atgt_s(), r.met() ? 1 : 0);
  return line;
}

std::string decisions_csv(std::span<const decision_record> records) {
  std::string out = decisions_csv_header();
  for (const decision_record& r : records) out += decisions_csv_row(r);
  return out;
}

std::vector<prediction_error> prediction_errors(std::span<const decision_record> records) {
  std::vector<prediction_error> rows;
  for (int k = 0; k <= static_cast<int>(decision_kind::best_effort); ++k) {
    const auto kind = static_cast<decision_kind>(k);
    prediction_error e;
    e.kind = kind;
    std::vector<double> ttft, atgt, length;
    double sum = 0;
    for (const decision_record& r : records) {
      if (r.kind != kind || !r.finished()) continue;
      ++e.finished;
      e.missed_ttft += r.ttft_s() > r.slo.ttft_s;
      e.missed_atgt += r.atgt_s() > r.slo.atgt_s;
      const double err = r.ttft_s() - r.predicted_ttft_s;
      ttft.push_back(err);
      sum += err;
      if (r.output_tokens > 1 && r.predicted_iteration_s > 0)
        atgt.push_back(r.atgt_s() / r.predicted_iteration_s);
      if (r.expected_output_tokens > 0) length.push_back(r.output_tokens / r.expected_output_tokens);
    }
    if (e.finished == 0) continue;
    std::sort(ttft.begin(), ttft.end());
    std::sort(atgt.begin(), atgt.end());
    std::sort(length.begin(), length.end());
    e.ttft_error_mean_s = sum / static_cast<double>(e.finished);
    e.ttft_error_p50_s = sorted_quantile(ttft, 0.5);
    e.ttft_error_p90_s = sorted_quantile(ttft, 0.9);
    e.ttft_error_p99_s = sorted_quantile(ttft, 0.99);
    e.atgt_ratio_p50 = sorted_quantile(atgt, 0.5);
    e.atgt_ratio_p90 = sorted_quantile(atgt, 0.9);
    e.atgt_ratio_p99 = sorted_quantile(atgt, 0.99);
    e.length_ratio_p10 = sorted_quantile(length, 0.1);
    e.length_ratio_p50 = sorted_quantile(length, 0.5);
    e.length_ratio_p90 = sorted_quantile(length, 0.9);
    rows.push_back(e);
  }
  return rows;
}

}  // namespace aladdin
