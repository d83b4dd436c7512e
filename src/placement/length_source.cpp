#include "placement/length_source.hpp"

#include <algorithm>

namespace aladdin {

double true_lengths::expected_total(const query_lengths& q) const {
  return std::max(1, q.true_output_tokens);
}

double true_lengths::expected_remaining(const query_lengths& q, int generated) const {
  return std::max(1, q.true_output_tokens - generated);
}

double fixed_lengths::expected_remaining(const query_lengths&, int generated) const {
  // Past the fixed expectation, expect as many tokens again as already produced (memoryless
  // growth), so an overrunning query never looks about to finish.
  if (generated < tokens_) return std::max(1.0, tokens_ - generated);
  return std::max(1.0, static_cast<double>(generated));
}

}  // namespace aladdin
