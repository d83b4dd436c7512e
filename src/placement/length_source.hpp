#pragma once
// Where placement's idea of a query's output length comes from. Every policy sees predictions;
// only the oracle's source reads the true length. Keeping this behind one seam means no policy
// code can peek at the truth by accident.

#include <memory>

#include "predict/length_predictor.hpp"

namespace aladdin {

struct query_lengths {
  int input_tokens = 0;
  int true_output_tokens = -1;  // −1 when unknown (the live system); read only by the oracle
};

class length_source {
 public:
  virtual ~length_source() = default;
  // Expected total output tokens of a new query.
  virtual double expected_total(const query_lengths& q) const = 0;
  // Expected tokens still to come after `generated` tokens; ≥ 1 while the query runs.
  virtual double expected_remaining(const query_lengths& q, int generated) const = 0;
  // The p-quantile of the tokens still to come (p in (0, 1)); ≥ 1 while the query runs.
  virtual double remaining_quantile(const query_lengths& q, int generated, double p) const = 0;
};

// Predictions of an online length_predictor (not owned; must outlive the source).
class predicted_lengths final : public length_source {
 public:
  explicit predicted_lengths(const length_predictor& p) : predictor_(p) {}
  double expected_total(const query_lengths& q) const override;
  double expected_remaining(const query_lengths& q, int generated) const override;
  double remaining_quantile(const query_lengths& q, int generated, double p) const override;

 private:
  const length_predictor& predictor_;
};

// The truth: for the oracle only.
class true_lengths final : public length_source {
 public:
  double expected_total(const query_lengths& q) const override;
  double expected_remaining(const query_lengths& q, int generated) const override;
  double remaining_quantile(const query_lengths& q, int generated, double) const override {
    return expected_remaining(q, generated);
  }
};

// A fixed expectation (tests, and a fallback before any history exists).
class fixed_lengths final : public length_source {
 public:
  explicit fixed_lengths(double tokens) : tokens_(tokens) {}
  double expected_total(const query_lengths&) const override { return tokens_; }
  double expected_remaining(const query_lengths&, int generated) const override;
  double remaining_quantile(const query_lengths& q, int generated, double) const override {
    return expected_remaining(q, generated);
  }

 private:
  double tokens_;
};

}  // namespace aladdin
