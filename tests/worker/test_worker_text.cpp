// worker_core's text relay on a fake clock: an assignment with a request gets deterministic
// synthetic text as seq-numbered queryText chunks between its firstToken and queryCompleted,
// carrying every output token once; finishReason and promptTokens; token-count assignments get
// no text; a cancelled query's text stops.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "actors/worker/synthetic_text.hpp"
#include "actors/worker/worker_core.hpp"

using namespace aladdin;
using namespace aladdin::worker;
namespace wc = aladdin::worker_channel;

namespace {

const sim::ground_truth& truth() {
  static const sim::ground_truth gt = *sim::ground_truth::builtin("llama2-70b", "a100-80gb", 4);
  return gt;
}

constexpr micros t0 = 1'700'000'000'000'000;

worker_core_options options(std::uint64_t seed = 11) {
  worker_core_options o;
  o.identity = {"w1", "llama2-70b", "a100-80gb", 4};
  o.engine.kv_capacity_tokens = 100'000;
  o.engine.report_progress = false;  // the core turns it on for the text relay
  o.seed = seed;
  return o;
}

wc::assign_query text_assign(std::uint64_t id, std::uint32_t prompt, std::uint32_t max_out,
                             std::uint32_t hint) {
  return {id, prompt, hint, max_out, t0,
          {wc::engine_api::chat_completions, R"({"model":"m","messages":[]})"}};
}

// Runs a registered core until its engine is idle; returns everything it sent.
std::vector<wc::message> run(worker_core& core, const std::vector<wc::assign_query>& assigns,
                             micros cancel_after = 0, std::uint64_t cancel_id = 0) {
  std::vector<wc::message> sent;
  auto collect = [&] {
    for (auto& m : core.take_outbound()) sent.push_back(std::move(m));
  };
  core.start();
  core.handle(wc::registered{1, 1}, t0);
  for (const auto& a : assigns) core.handle(a, t0);
  collect();
  micros now = t0;
  bool cancelled = cancel_after == 0;
  const micros end = t0 + 3'600'000'000ull;
  while (core.engine().busy() && now < end) {
    now = std::max(now + 1, core.next_wake());
    if (!cancelled && now >= t0 + cancel_after) {
      core.handle(wc::cancel_query{cancel_id}, now);
      cancelled = true;
    }
    core.advance(now);
    collect();
  }
  return sent;
}

struct query_view {
  int first_token_at = -1;  // index in `sent`
  int completed_at = -1;
  std::vector<wc::query_text> chunks;
  std::vector<int> chunk_at;
  wc::query_completed done;
};

query_view view(const std::vector<wc::message>& sent, std::uint64_t id) {
  query_view v;
  for (int i = 0; i < static_cast<int>(sent.size()); ++i) {
    if (const auto* f = std::get_if<wc::first_token>(&sent[i]); f && f->query_id == id) v.first_token_at = i;
    if (const auto* c = std::get_if<wc::query_completed>(&sent[i]); c && c->query_id == id) {
      v.completed_at = i;
      v.done = *c;
    }
    if (const auto* t = std::get_if<wc::query_text>(&sent[i]); t && t->query_id == id) {
      v.chunks.push_back(*t);
      v.chunk_at.push_back(i);
    }
  }
  return v;
}

}  // namespace

TEST_CASE("worker text: chunks are in order between firstToken and queryCompleted and carry every token once") {
  worker_core core(options(), truth(), t0);
  const auto sent = run(core, {text_assign(1, 300, 0, 40), text_assign(2, 500, 0, 25)});
  for (std::uint64_t id : {1u, 2u}) {
    const auto v = view(sent, id);
    REQUIRE(v.first_token_at >= 0);
    REQUIRE(v.completed_at >= 0);
    REQUIRE_FALSE(v.chunks.empty());
    std::uint32_t tokens = 0;
    std::string text;
    for (std::size_t i = 0; i < v.chunks.size(); ++i) {
      CHECK(v.chunks[i].seq == i);
      CHECK(v.chunk_at[i] > v.first_token_at);
      CHECK(v.chunk_at[i] < v.completed_at);
      tokens += v.chunks[i].tokens;
      text += v.chunks[i].text;
    }
    CHECK(tokens == v.done.output_tokens);
    CHECK(text == synthetic_words(11, id, 0, v.done.output_tokens));
    // One token per decode step: as many chunks as tokens.
    CHECK(v.chunks.size() == v.done.output_tokens);
  }
  CHECK(view(sent, 1).done.output_tokens == 40);
  CHECK(view(sent, 2).done.output_tokens == 25);
}

TEST_CASE("worker text: the same seed gives the same words, another seed others") {
  worker_core a(options(5), truth(), t0);
  worker_core b(options(5), truth(), t0);
  worker_core c(options(6), truth(), t0);
  auto text_of = [](const std::vector<wc::message>& sent) {
    std::string s;
    for (const auto& t : view(sent, 9).chunks) s += t.text;
    return s;
  };
  const auto ta = text_of(run(a, {text_assign(9, 200, 0, 30)}));
  CHECK(ta == text_of(run(b, {text_assign(9, 200, 0, 30)})));
  CHECK(ta != text_of(run(c, {text_assign(9, 200, 0, 30)})));
  // Chunking does not change the words.
  CHECK(synthetic_words(5, 9, 0, 30) == synthetic_words(5, 9, 0, 12) + synthetic_words(5, 9, 12, 30));
}

TEST_CASE("worker text: finishReason is length at max_tokens, stop at the predicted length; promptTokens echoed") {
  worker_core core(options(), truth(), t0);
  const auto sent = run(core, {text_assign(1, 300, 20, 40),   // max 20 < hint 40: length
                               text_assign(2, 300, 100, 30),  // hint 30 < max 100: stop at 30
                               text_assign(3, 300, 0, 0)});   // neither: the default, stop
  const auto v1 = view(sent, 1), v2 = view(sent, 2), v3 = view(sent, 3);
  CHECK(v1.done.output_tokens == 20);
  CHECK(v1.done.finish == wc::finish_reason::length);
  CHECK(v2.done.output_tokens == 30);
  CHECK(v2.done.finish == wc::finish_reason::stop);
  CHECK(v3.done.output_tokens == options().default_output_tokens);
  CHECK(v3.done.finish == wc::finish_reason::stop);
  for (const auto& v : {v1, v2, v3}) CHECK(v.done.prompt_tokens == 300);
}

TEST_CASE("worker text: token-count assignments get no text and an unknown finish reason") {
  worker_core core(options(), truth(), t0);
  const auto sent = run(core, {wc::assign_query{4, 300, 0, 16, t0}});
  const auto v = view(sent, 4);
  CHECK(v.chunks.empty());
  REQUIRE(v.completed_at >= 0);
  CHECK(v.done.output_tokens == 16);  // max tokens, as before the relay
  CHECK(v.done.finish == wc::finish_reason::unknown);
  CHECK(v.done.prompt_tokens == 0);
}

TEST_CASE("worker text: a cancelled query's text stops at the cancel") {
  worker_core core(options(), truth(), t0);
  // Decode steps of this engine take tens of ms: cancel after one second, well inside 400 tokens.
  const auto sent = run(core, {text_assign(7, 300, 0, 400)}, 1'000'000, 7);
  const auto v = view(sent, 7);
  CHECK(v.completed_at < 0);
  REQUIRE_FALSE(v.chunks.empty());
  std::uint32_t tokens = 0;
  for (const auto& c : v.chunks) tokens += c.tokens;
  CHECK(tokens < 400);
  CHECK(core.stats().cancelled == 1);
}
