// The schedule's constraint model against the engine it plans for, per batching regime: for a
// grid of worker states (queries decoding, prompts queued, the new prompt's length), the TTFT the
// schedule predicts for a new query and the stall it plans for a running query must match what
// src/sim/engine does on the same state (noise off, the fitted profile against the measured
// tables it was fitted to). The model of one regime applied to the other engine must not: the
// test would pass for a model that ignored the regime otherwise.

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "model/builtin_profiles.hpp"
#include "placement/cluster_state.hpp"
#include "placement/length_source.hpp"
#include "placement/worker_schedule.hpp"
#include "sim/engine.hpp"
#include "sim/ground_truth.hpp"

using namespace aladdin;
using namespace aladdin::sim;

namespace {

const ground_truth& truth() {
  static const ground_truth gt = *ground_truth::builtin("llama2-70b", "a100-80gb", 4);
  return gt;
}

const worker_profile& profile() {
  static const worker_profile p = *find_builtin_profile("llama2-70b", "a100-80gb", 4);
  return p;
}

struct state {
  int decoding = 0;       // queries decoding when the new one arrives (prompts of 800 tokens)
  int queued = 0;         // prompts of 1,500 tokens arriving with it, ahead of it
  int prompt = 0;         // the new query's prompt
};

struct outcome {
  double engine_ttft_s = 0;     // the new query's first token, after its arrival
  double engine_stall_s = 0;    // how much longer a decoding query took for its next tokens
  double decode_tokens = 0;     // ... over that many tokens
  double predicted_ttft_s = 0;  // the schedule's
  double planned_stall_s = 0;   // the stall the schedule plans for that decoding query
};

constexpr int kLongAnswer = 3000;  // decoding queries outlive the measurement

// Runs `s` on an exact engine of the regime and on a schedule with the regime's model.
// The stall is measured over the watched (first decoding) query's next `watch_tokens` tokens.
outcome run(const state& s, batching_mode engine_mode, int model_chunk_tokens, int watch_tokens = 24) {
  engine_options o;
  o.mode = engine_mode;
  o.noise_sigma = 0;
  o.kv_capacity_tokens = profile().kv.capacity_tokens;
  engine e(o, truth(), 1);
  const fixed_lengths lengths(kLongAnswer);
  schedule_options so;
  so.ttft_headroom = so.atgt_headroom = 1;
  so.atgt_length_quantile = 0;  // plan with the expectation: the answers are fixed here
  so.chunk_tokens = model_chunk_tokens;
  worker_schedule w(profile(), &lengths, so);

  // The decoding queries: enqueued together, run until every one has its first token.
  std::uint64_t id = 1;
  for (int k = 0; k < s.decoding; ++k, ++id) {
    e.enqueue({id, 800, kLongAnswer, 0.0}, 0.0);
    w.add_queued({query_id{id}, 800, 0.0, {1e9, 1e9}, kLongAnswer}, {800, kLongAnswer}, 0.0);
  }
  while (e.running_count() < s.decoding || e.waiting_count() > 0 ||
         (s.decoding > 0 && e.current_iteration().kind != iteration_kind::decode))
    e.step();
  // Now a decode step is in flight; what arrives waits for the next scheduling point.
  const double t0 = e.current_iteration().start_s;
  for (int k = 1; k <= s.decoding; ++k) w.start_decoding(query_id{static_cast<std::uint64_t>(k)}, t0);
  for (int k = 1; k <= s.decoding; ++k)
    w.set_progress(query_id{static_cast<std::uint64_t>(k)},
                   *e.generated_tokens(static_cast<std::uint64_t>(k)), t0);

  // Without new work, the watched query (the first) would take this long for its next tokens.
  auto watch_time = [&](engine copy) {
    const int from = s.decoding > 0 ? *copy.generated_tokens(1) : 0;
    while (s.decoding > 0 && *copy.generated_tokens(1) < from + watch_tokens) copy.step();
    return copy.last_event_time() - t0;
  };
  const double alone = watch_time(e);

  for (int k = 0; k < s.queued; ++k, ++id) {
    e.enqueue({id, 1500, 50, t0}, t0);
    w.add_queued({query_id{id}, 1500, t0, {1e9, 1e9}, 50}, {1500, 50}, t0);
  }
  const std::uint64_t q = id;
  e.enqueue({q, s.prompt, 50, t0}, t0);
  const fit_result fit = w.evaluate({query_id{q}, s.prompt, t0, {1e9, 1e9}, 50}, t0);

  outcome out;
  out.predicted_ttft_s = fit.predicted_ttft_s;
  out.engine_stall_s = watch_time(e) - alone;
  out.decode_tokens = watch_tokens;
  for (;;) {
    bool done = false;
    for (const engine_event& ev : e.step().events)
      if (ev.kind == event_kind::first_token && ev.query_id == q) {
        out.engine_ttft_s = ev.time_s - t0;
        done = true;
      }
    if (done) break;
  }
  // The stall the schedule plans for the watched query over the same tokens: the prefills
  // queued with the new one, its own, as the summary caps them.
  const schedule_summary sum = w.summary();
  out.planned_stall_s = sum.stall_s(sum.prefill_one_s(s.prompt), watch_tokens);
  return out;
}

std::vector<state> grid() {
  std::vector<state> g;
  for (int decoding : {0, 8, 48})
    for (int queued : {0, 2})
      for (int prompt : {300, 1500, 3500}) g.push_back({decoding, queued, prompt});
  return g;
}

std::string name(const state& s) {
  return std::to_string(s.decoding) + " decoding, " + std::to_string(s.queued) + " queued, prompt " +
         std::to_string(s.prompt);
}

int chunked_budget() {
  engine_options o;
  o.mode = batching_mode::chunked;
  return o.batched_tokens();
}

}  // namespace

TEST_CASE("schedule vs engine: the prefill-first model predicts the prefill-first engine's TTFT") {
  for (const state& s : grid()) {
    CAPTURE(name(s));
    const outcome o = run(s, batching_mode::prefill_first, 0);
    // The fit's error on the tables (a few per cent) plus the in-flight decode step, which the
    // model counts whole.
    CHECK(std::abs(o.predicted_ttft_s - o.engine_ttft_s) <= 0.10 * o.engine_ttft_s + 0.02);
  }
}

TEST_CASE("schedule vs engine: the chunked model predicts the chunked engine's TTFT and stalls") {
  const int budget = chunked_budget();
  for (const state& s : grid()) {
    CAPTURE(name(s));
    const outcome o = run(s, batching_mode::chunked, budget);
    CAPTURE(o.predicted_ttft_s);
    CAPTURE(o.engine_ttft_s);
    CHECK(std::abs(o.predicted_ttft_s - o.engine_ttft_s) <= 0.10 * o.engine_ttft_s + 0.02);
    if (s.decoding > 0) {
      // A decoding query is stalled by at most one chunk per token: the planned stall covers
      // what the engine did to it, and does not overstate it by more than the fit's error and
      // the per-pass overhead the two halves of a mixed iteration share.
      CAPTURE(o.planned_stall_s);
      CAPTURE(o.engine_stall_s);
      CHECK(o.planned_stall_s >= 0.9 * o.engine_stall_s - 0.01);
      CHECK(o.planned_stall_s <= 1.25 * o.engine_stall_s + 0.05);
    }
  }
}

TEST_CASE("schedule vs engine: a model of the wrong regime misses") {
  // Long prompts behind a busy decode batch: chunked prefill needs several iterations, each a
  // decode step as well, which the prefill-first model does not see; and the next three tokens
  // of a decoding query suffer a chunk each at most, not the whole prefill the prefill-first
  // model charges.
  const state s{48, 2, 3500};
  const outcome wrong = run(s, batching_mode::chunked, 0, 3);
  const outcome right = run(s, batching_mode::chunked, chunked_budget(), 3);
  CHECK(std::abs(wrong.predicted_ttft_s - wrong.engine_ttft_s) >
        2 * std::abs(right.predicted_ttft_s - right.engine_ttft_s));
  CHECK(wrong.planned_stall_s > 1.5 * wrong.engine_stall_s);
  // The first of the three comes from the decode step in flight, so the engine stalls two; the
  // model charges a chunk per token still to come, on the safe side: three.
  CHECK(right.planned_stall_s >= 0.9 * right.engine_stall_s - 0.01);
  CHECK(right.planned_stall_s <= 1.25 * 1.5 * right.engine_stall_s + 0.05);
}

// A fleet that mixes regimes (each worker says its engine's at registration): every worker is
// planned exactly as a schedule of its own regime would be, and the regimes are separate shapes.
TEST_CASE("schedule regimes: in one fleet each worker is planned in the batching regime it registered") {
  const fixed_lengths lengths(200);
  schedule_options fleet;  // the fleet's default: prefill-first
  cluster_state cluster(&lengths, fleet);
  const worker_slot first = cluster.add_worker(profile());
  const worker_slot chunked = cluster.add_worker(profile(), worker_role::unified, 2048);
  const worker_slot first_again = cluster.add_worker(profile(), worker_role::unified, 0);
  CHECK(cluster.shape_of(first) != cluster.shape_of(chunked));
  CHECK(cluster.shape_of(first) == cluster.shape_of(first_again));  // 0 is the fleet's own regime
  CHECK(cluster.summary(first).chunk_tokens == 0);
  CHECK(cluster.summary(chunked).chunk_tokens == 2048);

  // The same state on each, and standalone schedules of each regime beside them.
  schedule_options own = fleet;
  own.chunk_tokens = 2048;
  worker_schedule alone_first(profile(), &lengths, fleet), alone_chunked(profile(), &lengths, own);
  for (std::uint64_t id = 1; id <= 8; ++id) {
    const query_request q{query_id{id}, 900, 0.0, {2.0, 0.1}, 200};
    for (const worker_slot w : {first, chunked}) {
      cluster.assign(w, q, {900, 200}, 0.0);
      cluster.start_decoding(w, query_id{id}, 0.5);
    }
    for (worker_schedule* s : {&alone_first, &alone_chunked}) {
      s->add_queued(q, {900, 200}, 0.0);
      s->start_decoding(query_id{id}, 0.5);
    }
  }
  const query_request long_prompt{query_id{99}, 6000, 1.0, {2.0, 0.1}, 200};
  const fit_result on_first = cluster.at(first).evaluate(long_prompt, 1.0);
  const fit_result on_chunked = cluster.at(chunked).evaluate(long_prompt, 1.0);
  CHECK(on_first == alone_first.evaluate(long_prompt, 1.0));
  CHECK(on_chunked == alone_chunked.evaluate(long_prompt, 1.0));
  // A 6,000-token prompt stalls prefill-first decodes for its whole prefill; chunked prefill
  // cuts it into iterations: the regimes disagree, so a fleet that guessed one regime for both
  // would misplan one of them.
  CHECK_FALSE(on_first == on_chunked);
}
