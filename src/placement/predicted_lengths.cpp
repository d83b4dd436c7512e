// Kept apart from length_source.cpp so that code using only the truth or a fixed length (tests,
// the oracle) does not link the predictor.
#include <algorithm>

#include "placement/length_source.hpp"

namespace aladdin {

double predicted_lengths::expected_total(const query_lengths& q) const {
  return std::max(1.0, predictor_.predict(q.input_tokens).mean);
}

double predicted_lengths::expected_remaining(const query_lengths& q, int generated) const {
  return std::max(1.0, predictor_.expected_remaining(q.input_tokens, generated));
}

double predicted_lengths::remaining_quantile(const query_lengths& q, int generated,
                                             double p) const {
  return std::max(1.0, predictor_.remaining_quantile(q.input_tokens, generated, p));
}

}  // namespace aladdin
