#pragma once
// The prompt length of a request that came as text, for placement: an estimate from the text's
// size with a chars-per-token ratio that is calibrated online from what the engines report
// (QueryCompleted.promptTokens, i.e. usage.prompt_tokens), one per served model.
//
// The ratio is a ratio of exponentially weighted sums, sum(chars) / sum(tokens), each sample
// weighted by its size (a long prompt says more about the tokenizer than a short one) and each
// older sample by `decay` per newer one, so that it follows a change of traffic; it starts from
// `initial_chars_per_token` held with the weight of `prior_tokens` tokens. "Chars" are UTF-8
// bytes. Deterministic: the same observations give the same estimates. Not thread-safe.

#include <cstddef>
#include <cstdint>

namespace aladdin::api {

struct token_estimate_options {
  double initial_chars_per_token = 4.0;  // English text with a BPE tokenizer, before any sample
  double prior_tokens = 2000;            // how long the initial ratio holds against samples
  double decay = 0.999;                  // per sample
};

class token_estimator {
 public:
  explicit token_estimator(token_estimate_options o = {});

  // The tokens of a prompt of `chars` bytes: at least 1 for a non-empty prompt, 0 for none.
  std::uint32_t estimate(std::size_t chars) const;
  // An engine tokenised a prompt of `chars` bytes into `tokens` (0: unknown, ignored).
  void observe(std::size_t chars, std::uint32_t tokens);

  double chars_per_token() const { return chars_ / tokens_; }
  std::uint64_t samples() const { return samples_; }

 private:
  token_estimate_options o_;
  double chars_;
  double tokens_;
  std::uint64_t samples_ = 0;
};

}  // namespace aladdin::api
