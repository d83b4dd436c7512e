#pragma once
// The simulated GPU's own idea of how long an iteration takes: interpolated measured tables,
// deliberately NOT the scheduler's fitted latency model, so that the scheduler has to live with
// model error exactly as it would on real hardware.
//
// Source: per-configuration medians of the Splitwise A100 profile (columns model, hardware,
// prompt_size, batch_size, token_size, prompt_time, token_time, tensor_parallel; ms). Each
// configuration (model, GPU, TP) was measured in three sweeps that share one point:
//   prompt sweep   batch 1, prompt p (128..8192), token_size t_ref (128)
//   batch sweep    prompt p_ref (512), batch b (1..64), token_size t_ref
//   output sweep   batch 1, prompt p_ref, token_size t (128..8192)
// p_ref and t_ref are read from the data (the prompt of the batch > 1 rows and the smallest
// token_size), not assumed.
//
// Prefill of n prompts holding T tokens in all:
//   prefill(T, n) = P1(T) · PB(n) / P1(p_ref · n)
// P1 is the prompt sweep and PB the batch sweep, each interpolated piecewise-linearly and
// extrapolated linearly beyond its ends. It is exact on both sweeps (n = 1 gives P1, T = p_ref·n
// gives PB) and reads as: "a batch costs what one prompt of the same total length costs, times
// the batching factor measured at p_ref". A per-sequence form (n·P1(T/n)·…) was rejected: P1's
// intercept is a per-forward-pass cost, and multiplying it by n makes many short prompts
// absurdly slow. An additive form (P1(T) + PB(n) − P1(p_ref·n)) goes negative when both sweeps
// are extrapolated far (BLOOM at 256 short prompts); the ratio stays positive and bounded.
//
// Decode iteration of b sequences holding C tokens of context in all:
//   decode(b, C) = DB(b) + k · (C − b · c_ref),   c_ref = p_ref + t_ref / 2
// DB is the batch sweep's token_time (piecewise-linear in b, linear beyond the ends), measured
// at a mean context of c_ref per sequence (each sequence grows from p_ref to p_ref + t_ref).
// k (s per context token) is the least-squares slope of token_time over mean context
// (prompt + token_size/2) across every batch-1 point (prompt and output sweeps); it is clamped at
// zero, because attention never gets cheaper with more context and a negative slope would only
// be noise. Exact on the batch sweep; within ~9% of the batch-1 points (which are noisy:
// llama2-70b TP2 jumps by 5 ms between output 128 and 256).
//
// Floors: every interpolant is clamped at half its fastest measurement, so that no
// extrapolation ever yields a zero or negative time.
//
// Broken rows: a configuration is dropped when one of its times is more than 2× faster than the
// same time of a configuration with strictly less work (prefill: prompt and batch both ≤, one
// <; decode: prompt, batch and token_size all ≤, one <). A run that does more work cannot
// honestly be twice as fast; such a row is a truncated or failed run. The whole configuration is
// dropped, not just the faster time: a run that broke one measurement is not trusted for the
// other. In the A100 data this drops exactly llama2-70b TP2 batch 64 (prefill 0.8 s after 6.6 s
// at batch 32).
//
// Noise is not stored here: the engine multiplies each iteration by noise_factor(), drawn from
// the rng the caller gives it, so the tables stay exact and the randomness stays reproducible.

#include <cstdint>
#include <istream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/latency_model.hpp"
#include "util/rng.hpp"

namespace aladdin::sim {

// One measured configuration: the medians over its repeats, in milliseconds as in the source.
struct profile_point {
  int prompt = 0;         // prompt_size
  int batch = 0;          // batch_size
  int tokens = 0;         // token_size (output tokens generated per query)
  int repeats = 0;        // rows the medians were taken over
  double prefill_ms = 0;  // median prompt_time
  double token_ms = 0;    // median token_time

  friend bool operator==(const profile_point&, const profile_point&) = default;
};

// A table built into the binary (builtin_ground_truth.cpp).
struct builtin_profile_table {
  const char* model;
  const char* gpu;
  int tp;
  const char* source;
  std::span<const profile_point> points;
};
std::span<const builtin_profile_table> builtin_profile_tables();

// A piecewise-linear function through sorted knots, extrapolated linearly beyond both ends
// along the end segments, never below `floor`.
class piecewise_linear {
 public:
  piecewise_linear() = default;
  // xs strictly increasing, same length as ys, at least one knot.
  piecewise_linear(std::vector<double> xs, std::vector<double> ys, double floor);
  double operator()(double x) const;
  const std::vector<double>& xs() const { return xs_; }
  const std::vector<double>& ys() const { return ys_; }

 private:
  std::vector<double> xs_, ys_;
  double floor_ = 0;
};

class ground_truth {
 public:
  // Reads the rows of one configuration from a Splitwise-format profile (columns found by header
  // name), takes medians over repeats and builds the tables. Names match through the hardware
  // catalogue's aliases. Throws input_error (naming `source`) on a malformed file, when no row
  // matches, or when the sweeps needed are missing.
  static ground_truth from_profile_csv(std::istream& in, const std::string& source,
                                       std::string_view model, std::string_view hardware, int tp);

  // Medians per configuration, before the broken-row rule; sorted by (prompt, batch, tokens).
  static std::vector<profile_point> medians_from_csv(std::istream& in, const std::string& source,
                                                     std::string_view model,
                                                     std::string_view hardware, int tp);

  // Builds the tables from medians (applies the broken-row rule). Throws input_error when the
  // sweeps needed are missing.
  static ground_truth from_points(worker_config config, std::vector<profile_point> points,
                                  std::string source);

  // The tables built into aladdin, for running without ../shared/data; nullopt when the
  // configuration was not measured.
  static std::optional<ground_truth> builtin(std::string_view model, std::string_view gpu, int tp);

  // Prefill of a batch is charged per sequence — attention is quadratic in each prompt, not in
  // the batch's total — times the batching factor the batch sweep measured:
  //   prefill(l_1..l_n) = Σ P1(l_i) · g(n),   g(n) = PB(n) / (n · P1(p_ref)),  g(1) = 1.
  // It reproduces both sweeps exactly (n prompts of p_ref tokens cost PB(n)).
  // Seconds. sequences/batch ≤ 0 or no tokens: 0.
  // n prompts of equal length (sum_tokens / sequences each).
  double prefill_s(double sum_tokens, int sequences) const;
  // P1 alone: one prompt of `tokens`, unbatched.
  double prompt_s(double tokens) const;
  double batch_factor(int sequences) const;
  // A batch whose prompts' P1 costs add up to sum_prompt_s.
  double prefill_batch_s(double sum_prompt_s, int sequences) const {
    return sum_prompt_s * batch_factor(sequences);
  }
  double decode_s(int batch, double sum_context) const;

  // One chunked-prefill iteration: prefill chunks of `prefill_seqs` sequences holding
  // `prefill_tokens` in all, plus one decode token for each of `decode_seqs` sequences holding
  // `decode_context` tokens. Both halves share a single forward pass, so the weights are read
  // and the kernels launched once: the cost is prefill + decode − the per-pass overhead
  // (iteration_overhead_s, capped by the smaller half so the sum never drops below either).
  // With one half empty it is exactly the other.
  // The prefill half is given as Σ prompt_s(chunk) over its chunks.
  double mixed_s(double sum_prompt_s, int prefill_seqs, int decode_seqs,
                 double decode_context) const;

  // What a prefill chunk pays beyond prefill_s for attending to the `context_before` tokens its
  // sequence prefilled in earlier iterations: P1(o+c) − P1(o) − P1(c) + P1(0) ≥ 0. Charged per
  // chunk, it makes a prompt's chunks add up to its unchunked cost plus one P1(0) per extra pass,
  // instead of undercharging long prompts by the convexity of P1.
  double context_penalty_s(double chunk_tokens, double context_before) const;

  // The part of any forward pass that does not grow with its work: a decode step of one
  // sequence with no context (weight reads, launches, sampling).
  double iteration_overhead_s() const { return overhead_s_; }

  // Multiplicative noise for one iteration: exp(σz − σ²/2), z standard normal clamped to ±4,
  // so its mean is 1 and a huge σ cannot produce absurd outliers. σ = 0 draws nothing.
  static double noise_factor(rng& r, double sigma);

  const worker_config& config() const { return config_; }
  const std::string& source() const { return source_; }
  // Medians used by the tables and those dropped by the broken-row rule.
  const std::vector<profile_point>& points() const { return points_; }
  const std::vector<profile_point>& excluded() const { return excluded_; }
  int reference_prompt() const { return p_ref_; }
  int reference_tokens() const { return t_ref_; }
  double context_slope_s_per_token() const { return k_ctx_; }

 private:
  ground_truth() = default;

  worker_config config_;
  std::string source_;
  std::vector<profile_point> points_, excluded_;
  int p_ref_ = 0;
  int t_ref_ = 0;
  double c_ref_ = 0;
  piecewise_linear prompt_sweep_;   // P1: prompt tokens → s
  piecewise_linear batch_prefill_;  // PB: batch → s
  piecewise_linear batch_decode_;   // DB: batch → s
  double k_ctx_ = 0;
  double decode_floor_ = 0;
  double overhead_s_ = 0;
};

}  // namespace aladdin::sim
