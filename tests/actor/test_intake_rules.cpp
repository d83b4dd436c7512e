// The intake's plain rules: a query over the served model's context is refused over_context.

#include <doctest/doctest.h>

#include "actors/node/intake_rules.hpp"

using namespace aladdin;
using namespace aladdin::node;
namespace cc = aladdin::client_channel;

namespace {

intake_limits llama2_limits() {
  intake_limits l;
  l.model = "llama2-70b";
  l.context_tokens = 4096;
  l.max_prompt_tokens = 4096;
  return l;
}

cc::submit_query query(std::uint32_t prompt, std::uint32_t max_output) {
  cc::submit_query q;
  q.client_query_id = 1;
  q.prompt_tokens = prompt;
  q.max_output_tokens = max_output;
  return q;
}

}  // namespace

TEST_CASE("intake rules: prompt + requested output over the model's context is refused over_context") {
  const intake_limits l = llama2_limits();
  CHECK_FALSE(check_submission(query(4000, 96), l));  // exactly the context
  const auto over = check_submission(query(4000, 97), l);
  REQUIRE(over);
  CHECK(over->reason == cc::reject_code::over_context);
  CHECK(over->detail.find("context of llama2-70b (4096 tokens)") != std::string::npos);
  // Without maxOutputTokens the prompt and its first token must fit.
  CHECK_FALSE(check_submission(query(4095, 0), l));
  REQUIRE(check_submission(query(4096, 0), l));
  CHECK(check_submission(query(4096, 0), l)->reason == cc::reject_code::over_context);
  // A prompt over the context is over_context even though it is above --max-prompt-tokens too;
  // one within the context but above a lower --max-prompt-tokens is invalid.
  CHECK(check_submission(query(5000, 1), l)->reason == cc::reject_code::over_context);
  intake_limits strict = l;
  strict.max_prompt_tokens = 2000;
  CHECK(check_submission(query(3000, 1), strict)->reason == cc::reject_code::invalid);
  // No context limit: nothing checked.
  intake_limits open = l;
  open.context_tokens = 0;
  open.max_prompt_tokens = 131072;
  CHECK_FALSE(check_submission(query(5000, 5000), open));
}
