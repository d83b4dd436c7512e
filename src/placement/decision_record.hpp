#pragma once
// One query's decision and what became of it: which worker placement chose and what that
// worker's schedule predicted for the query (TTFT, decode iteration, KV peak, tightness), how
// often it was refused first and why, and the outcome the workers reported. `simulate
// --decisions FILE` writes one line per query, so the model's prediction error can be studied
// decision by decision; prediction_errors() sums it up by decision kind.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/slo.hpp"
#include "placement/types.hpp"

namespace aladdin {

enum class decision_kind : std::uint8_t {
  planned,      // placed where the model said it fits
  ttft_lost,    // placed after waiting past its TTFT SLO: planned for its ATGT only
  late,         // no worker met its TTFT with headroom: placed where it comes soonest
  best_effort,  // placed on an idle fleet although no worker fit it
  never_fit,    // refused: no worker could ever hold it
  expired,      // waited at the intake past the wait limit
  unplaced,     // still waiting when the run ended
};
const char* to_string(decision_kind k);

struct decision_record {
  std::uint64_t query = 0;
  double arrival_s = 0;
  int prompt_tokens = 0;
  int output_tokens = 0;              // as it turned out (−1: not known)
  slo_target slo;
  decision_kind kind = decision_kind::unplaced;
  std::int64_t worker = -1;           // the worker's fleet id; −1 when not placed
  double decided_s = -1;
  std::uint32_t refusals = 0;         // times refused before it was placed (or left)
  reject_reason last_refusal = reject_reason::none;
  // What the chosen worker's schedule predicted just before the query joined.
  double expected_output_tokens = 0;
  double predicted_ttft_s = 0;
  double predicted_iteration_s = 0;   // the decode iteration with the query in the batch
  double predicted_peak_kv_tokens = 0;
  double tightness = 0;
  // What happened (−1: did not happen).
  double first_token_s = -1;
  double finish_s = -1;

  double ttft_s() const { return first_token_s < 0 ? -1 : first_token_s - arrival_s; }
  // ATGT: the mean time per token after the first (0 for a one-token answer).
  double atgt_s() const;
  bool finished() const { return finish_s >= 0; }
  bool met() const;
};

// CSV with a header line, one row per record; times in seconds. The header and one row, for
// a log written as queries end.
std::string decisions_csv(std::span<const decision_record> records);
std::string decisions_csv_header();
std::string decisions_csv_row(const decision_record& r);

// Prediction error of finished queries of one decision kind.
struct prediction_error {
  decision_kind kind = decision_kind::planned;
  std::size_t finished = 0;
  std::size_t missed_ttft = 0, missed_atgt = 0;
  // Observed − predicted TTFT (s): mean and quantiles.
  double ttft_error_mean_s = 0, ttft_error_p50_s = 0, ttft_error_p90_s = 0, ttft_error_p99_s = 0;
  // Observed ATGT / the predicted decode iteration: what stalls and growth added (answers of
  // two tokens or more).
  double atgt_ratio_p50 = 0, atgt_ratio_p90 = 0, atgt_ratio_p99 = 0;
  // Observed / expected output length.
  double length_ratio_p10 = 0, length_ratio_p50 = 0, length_ratio_p90 = 0;
};
// One row per decision kind that placed at least one finished query, in enum order.
std::vector<prediction_error> prediction_errors(std::span<const decision_record> records);

}  // namespace aladdin
