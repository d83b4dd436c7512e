#pragma once
// Fitting the latency model (model/latency_model.hpp) to measured profiles.
//
// Input: one row per measured run, as in the Splitwise profile
// (model,hardware,prompt_size,batch_size,token_size,...,prompt_time,token_time,...,
// tensor_parallel; times in ms). A row holds two measurements, one per phase:
//   prefill  prompt_time = prefill of `batch` prompts of `prompt` tokens each;
//   decode   token_time  = mean decode iteration while each of `batch` queries generates
//            `tokens` tokens. The context grows during the run: iteration i holds batch·(prompt+i)
//            tokens, so the mean context over the run is batch·(prompt + (tokens−1)/2).
//
// Rows are grouped by (model, hardware, tensor_parallel); each group gets its own coefficients.
// Before fitting, every group is screened, and every row or phase that is left out is reported
// with its line number and the reason — nothing is dropped silently:
//   1. basic validity: unparsable, non-finite or non-positive numbers;
//   2. repeats: a run far from the median of identical configurations (needs 3+ repeats);
//   3. dominance: a configuration with at least as much work in every dimension that runs in
//      under half the time of one with less work is physically impossible; the configuration in
//      the most such conflicts is rejected (whole rows), greedily, until none remain;
//   4. after each fit, gross outliers of the training rows are rejected and the phase refit.
// Then a seeded fraction of each group's rows is held out for validation. Fits minimise the
// mean absolute relative error (MAPE) by iteratively reweighted least squares.
//
// Everything is deterministic: the same rows, options and seed give the same result on every
// platform.

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "model/latency_model.hpp"

namespace aladdin {

// One measured run. A phase whose time is NaN is unusable (parse_profile reports why).
struct profile_row {
  std::size_t line = 0;  // 1-based line in the source file (0 when built in code)
  std::string model;
  std::string hardware;
  int tp = 1;
  std::int64_t prompt = 0;  // tokens per prompt
  std::int64_t batch = 0;   // prompts per batch
  std::int64_t tokens = 0;  // generated tokens per query
  double prompt_time_ms = 0;
  double token_time_ms = 0;

  worker_config config() const { return {model, hardware, tp}; }
};

// A row, or one phase of it, left out of a fit.
struct rejected_row {
  std::size_t line = 0;
  std::string phase;  // "prefill", "decode" or "row" (both phases)
  std::string reason;

  friend bool operator==(const rejected_row&, const rejected_row&) = default;
};

// A rejection made while parsing, with the group it belongs to when its key columns parsed.
struct parse_rejection {
  rejected_row rejection;
  std::optional<worker_config> config;
};

struct parsed_profile {
  std::vector<profile_row> rows;
  std::vector<parse_rejection> rejected;
};

// Reads a profile CSV. Columns are found by header name, so reordered or extra columns are fine;
// a missing required column throws input_error naming the source and the column. Bad values
// reject the row (or only the phase, for a bad time) and are reported; field-count mismatches
// are reported as rejected rows too.
parsed_profile parse_profile(std::istream& in, const std::string& source);

struct fit_options {
  double validate_fraction = 0.2;  // share of each group's rows held out, in [0, 0.9]
  std::uint64_t seed = 1;          // seeds the hold-out split

  // Screening thresholds (see the file comment).
  double repeat_tolerance = 0.5;      // |t / median − 1| above this disagrees with the repeats
  double dominance_ratio = 0.5;       // more work in under this share of the time is impossible
  double outlier_floor = 0.5;         // a residual is gross above max(floor,
  double outlier_factor = 6.0;        //   factor × median |relative residual|)
  int outlier_rounds = 3;             // fit, reject, refit at most this often
  std::size_t min_train_rows = 8;     // never hold out so much that fewer rows remain

  // IRLS toward least absolute relative error.
  int irls_iterations = 20;
  double irls_epsilon = 1e-4;  // floor of |relative residual| in the weights
  // An optional term (q1, s1) must lower the training MAPE by this share to be kept.
  double min_term_gain = 0.05;
};

struct fit_stats {
  double prefill_mape = 0;  // fractions; NaN when the set has no row of that phase
  double decode_mape = 0;
  std::size_t rows = 0;  // rows of the set with at least one phase used
  std::size_t prefill_rows = 0;
  std::size_t decode_rows = 0;
};

struct config_fit {
  worker_config config;
  prefill_coefficients prefill;  // seconds
  decode_coefficients decode;    // seconds
  bool prefill_fitted = false;   // false when no usable prefill rows were left
  bool decode_fitted = false;
  bool has_q1 = false;  // optional prefill terms kept
  bool has_s1 = false;
  fit_stats train;
  fit_stats validation;
  std::vector<rejected_row> rejected;  // sorted by line, then phase
  // Lines of the rows each set used (a training row: at least one phase in the final fit), in
  // input order; disjoint. Rows built in code have line 0 unless their builder numbers them.
  std::vector<std::size_t> train_lines;
  std::vector<std::size_t> validation_lines;
  std::vector<std::string> notes;      // term choices and fallbacks, in the order made
};

struct fit_result {
  std::vector<config_fit> configs;  // sorted by model, hardware, tp
  // Parse rejections whose group is unknown (their model, hardware or tp did not parse).
  std::vector<rejected_row> unassigned;
};

fit_result fit_profiles(const parsed_profile& profile, const fit_options& options = {});
// For rows built in code: their unusable values are reported as rejections of their group.
std::vector<config_fit> fit_profiles(const std::vector<profile_row>& rows,
                                     const fit_options& options = {});

// Prediction of a row's phase time by fitted coefficients, in ms (the features described above).
double predict_prefill_ms(const prefill_coefficients& c, const profile_row& r);
double predict_decode_ms(const decode_coefficients& c, const profile_row& r);

// A worker profile from a fit. The KV model comes from the hardware catalogue when both the
// model and the GPU are known; otherwise its capacity is 0 and *note (if given) says why.
worker_profile to_worker_profile(const config_fit& fit, std::string source,
                                 std::string* note = nullptr);

}  // namespace aladdin
