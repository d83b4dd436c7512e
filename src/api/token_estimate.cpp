// The online-calibrated prompt length estimate; see token_estimate.hpp.
#include "api/token_estimate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aladdin::api {

token_estimator::token_estimator(token_estimate_options o)
    : o_(o), chars_(o.initial_chars_per_token * o.prior_tokens), tokens_(o.prior_tokens) {}

std::uint32_t token_estimator::estimate(std::size_t chars) const {
  if (chars == 0) return 0;
  const double t = std::ceil(static_cast<double>(chars) / chars_per_token());
  const double cap = static_cast<double>(std::numeric_limits<std::uint32_t>::max());
  return static_cast<std::uint32_t>(std::clamp(t, 1.0, cap));
}

void token_estimator::observe(std::size_t chars, std::uint32_t tokens) {
  if (tokens == 0 || chars == 0) return;
  chars_ = chars_ * o_.decay + static_cast<double>(chars);
  tokens_ = tokens_ * o_.decay + static_cast<double>(tokens);
  ++samples_;
}

}  // namespace aladdin::api
