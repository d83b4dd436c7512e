// The single-worker engine: vLLM-like continuous batching, paged KV, preemption by recompute,
// chunked prefill and the split-phase roles. No clocks: every time is the engine's own.

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>

#include "sim/engine.hpp"

using namespace aladdin;
using namespace aladdin::sim;

namespace {

const ground_truth& truth() {
  static const ground_truth gt = *ground_truth::builtin("llama2-70b", "a100-80gb", 4);
  return gt;
}

engine_options exact(double capacity_tokens = 100000) {
  engine_options o;
  o.kv_capacity_tokens = capacity_tokens;
  o.noise_sigma = 0;
  return o;
}

struct timed_progress {
  double time_s;
  token_progress p;
  friend bool operator==(const timed_progress&, const timed_progress&) = default;
};

struct run_log {
  std::vector<enqueue_result> admissions;
  std::vector<engine_event> events;
  std::vector<timed_progress> progress;
  std::vector<iteration_info> iterations;
};

// The event loop a simulator would run: arrivals and iteration ends in time order (an arrival
// at the very end of an iteration is admitted before the step, so it is seen when the next
// iteration is planned). after_step sees the engine right after every step.
run_log drive(engine& e, std::vector<request> requests,
              const std::function<void(const engine&, const step_result&)>& after_step = {}) {
  std::stable_sort(requests.begin(), requests.end(),
                   [](const request& a, const request& b) { return a.arrival_s < b.arrival_s; });
  run_log log;
  std::size_t next = 0;
  while (next < requests.size() || e.busy()) {
    if (next < requests.size() && requests[next].arrival_s <= e.next_event_time()) {
      log.admissions.push_back(e.enqueue(requests[next], requests[next].arrival_s));
      ++next;
      continue;
    }
    const step_result& r = e.step();
    log.iterations.push_back(r.iteration);
    log.events.insert(log.events.end(), r.events.begin(), r.events.end());
    for (const auto& p : r.progress) log.progress.push_back({r.iteration.end_s, p});
    if (after_step) after_step(e, r);
  }
  return log;
}

std::vector<request> random_requests(rng& r, int n, int max_input, int max_output,
                                     double mean_gap) {
  std::vector<request> out;
  double t = 0;
  for (int i = 0; i < n; ++i) {
    t += r.exponential(mean_gap);
    out.push_back({std::uint64_t(1000 + i), 1 + int(r.below(std::uint64_t(max_input))),
                   1 + int(r.below(std::uint64_t(max_output))), t});
  }
  return out;
}

std::vector<const engine_event*> events_of(const run_log& log, event_kind kind) {
  std::vector<const engine_event*> out;
  for (const auto& e : log.events)
    if (e.kind == kind) out.push_back(&e);
  return out;
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("a lone request takes exactly the ground truth's times without noise") {
  engine e(exact(), truth(), 1);
  CHECK_FALSE(e.busy());
  CHECK(e.enqueue({1, 512, 3, 0.0}, 0.0) == enqueue_result::accepted);
  CHECK(e.busy());
  const double prefill = truth().prefill_s(512, 1);
  CHECK(e.next_event_time() == prefill);
  auto log = drive(e, {});
  REQUIRE(log.events.size() == 2);
  CHECK(log.events[0] == engine_event{event_kind::first_token, 1, prefill, 1});
  // Decode steps at 513 and 514 tokens of context.
  const double done = prefill + truth().decode_s(1, 513) + truth().decode_s(1, 514);
  CHECK(log.events[1].kind == event_kind::completed);
  CHECK(log.events[1].time_s == doctest::Approx(done).epsilon(1e-12));
  CHECK(log.events[1].tokens == 3);
  CHECK(log.iterations.size() == 3);
  CHECK(log.iterations[0].kind == iteration_kind::prefill);
  CHECK(log.iterations[1].kind == iteration_kind::decode);
  CHECK_FALSE(e.busy());
  CHECK(e.kv_blocks_used() == 0);
  CHECK(e.completed() == 1);
  CHECK(e.last_event_time() == doctest::Approx(done));
}

TEST_CASE("same seed gives the identical event sequence") {
  for (auto mode : {batching_mode::prefill_first, batching_mode::chunked}) {
    auto run = [&](std::uint64_t seed) {
      engine_options o;
      o.mode = mode;
      o.kv_capacity_tokens = 6000;
      o.noise_sigma = 0.05;
      engine e(o, truth(), seed);
      rng r(42);
      return drive(e, random_requests(r, 150, 1500, 300, 0.2));
    };
    const auto a = run(5), b = run(5), c = run(6);
    CHECK(a.events == b.events);
    CHECK(a.progress == b.progress);
    CHECK(a.iterations == b.iterations);
    CHECK_FALSE(a.iterations == c.iterations);  // the seed drives the noise
    CHECK(events_of(a, event_kind::completed).size() == 150);
  }
}

TEST_CASE("noise scales each iteration by its reported factor") {
  engine_options o = exact();
  o.noise_sigma = 0.03;
  engine e(o, truth(), 3);
  e.enqueue({1, 1000, 2, 0.0}, 0.0);
  const auto& it = e.current_iteration();
  CHECK(it.noise != 1.0);
  CHECK(it.end_s == doctest::Approx(truth().prefill_s(1000, 1) * it.noise).epsilon(1e-12));
}

TEST_CASE("prefill-first: a new arrival's prefill stalls the running decodes") {
  engine e(exact(), truth(), 1);
  auto log = drive(e, {{1, 512, 60, 0.0}, {2, 4096, 10, 0.5}});
  // The iteration that prefilled query 2 produced no token for query 1.
  const auto first2 = events_of(log, event_kind::first_token);
  REQUIRE(first2.size() == 2);
  const double t2 = first2[1]->time_s;
  double before = 0, after = 0;
  for (const auto& p : log.progress) {
    if (p.p.query_id != 1) continue;
    if (p.time_s < t2) before = p.time_s;
    if (p.time_s > t2 && after == 0) after = p.time_s;
    CHECK(p.time_s != t2);
  }
  REQUIRE(after > 0);
  // Query 1 waited for the whole 4096-token prefill between two of its tokens.
  CHECK(after - before >= truth().prefill_s(4096, 1));
  for (const auto& it : log.iterations) CHECK(it.kind != iteration_kind::mixed);
}

TEST_CASE("arrivals at the same instant on an idle engine share one prefill") {
  engine e(exact(), truth(), 1);
  CHECK(e.enqueue({1, 300, 5, 2.0}, 2.0) == enqueue_result::accepted);
  CHECK(e.enqueue({2, 400, 5, 2.0}, 2.0) == enqueue_result::accepted);
  CHECK(e.enqueue({3, 500, 5, 2.0}, 2.0) == enqueue_result::accepted);
  const auto& it = e.current_iteration();
  CHECK(it.kind == iteration_kind::prefill);
  CHECK(it.prefill_seqs == 3);
  CHECK(it.prefill_tokens == 1200);
  CHECK(it.start_s == 2.0);
  CHECK(it.end_s == doctest::Approx(2.0 + truth().prefill_s(1200, 3)));
  CHECK(e.check_invariants().empty());
  // A later arrival waits for the next scheduling point.
  CHECK(e.enqueue({4, 100, 5, 2.01}, 2.01) == enqueue_result::accepted);
  CHECK(e.current_iteration().prefill_seqs == 3);
  CHECK(e.waiting_count() == 1);
  CHECK(e.check_invariants().empty());
}

TEST_CASE("prefill batches are FCFS and stop at the first request that does not fit") {
  SUBCASE("the token limit splits batches in arrival order") {
    engine_options o = exact();
    o.max_batched_tokens = 1000;
    engine e(o, truth(), 1);
    std::vector<request> reqs;
    for (int i = 0; i < 6; ++i) reqs.push_back({std::uint64_t(i), 400, 3, 0.001 * i});
    auto log = drive(e, reqs);
    const auto firsts = events_of(log, event_kind::first_token);
    REQUIRE(firsts.size() == 6);
    for (int i = 0; i < 6; ++i) CHECK(firsts[i]->query_id == std::uint64_t(i));
    for (const auto& it : log.iterations)
      if (it.kind == iteration_kind::prefill) CHECK(it.prefill_tokens <= 1000);
  }
  SUBCASE("a small request does not overtake a large one waiting for blocks") {
    // 100 blocks of 16 tokens. Query 1 holds ~70; query 2 needs 60 and must wait; query 3 would
    // fit in the free blocks but arrived later.
    engine e(exact(1600), truth(), 1);
    auto log = drive(e, {{1, 1100, 40, 0.0}, {2, 900, 5, 0.2}, {3, 50, 5, 0.3}});
    const auto firsts = events_of(log, event_kind::first_token);
    REQUIRE(firsts.size() == 3);
    CHECK(firsts[0]->query_id == 1);
    CHECK(firsts[1]->query_id == 2);
    CHECK(firsts[2]->query_id == 3);
    CHECK(e.preemptions() == 0);
  }
  SUBCASE("max_num_seqs bounds the running set") {
    engine_options o = exact();
    o.max_num_seqs = 3;
    engine e(o, truth(), 1);
    std::vector<request> reqs;
    for (int i = 0; i < 8; ++i) reqs.push_back({std::uint64_t(i), 100, 20, 0.0});
    int most = 0;
    auto log = drive(e, reqs, [&](const engine& en, const step_result&) {
      most = std::max(most, en.running_count());
    });
    CHECK(most == 3);
    CHECK(events_of(log, event_kind::completed).size() == 8);
  }
}

TEST_CASE("KV exhaustion preempts the latest arrival by recompute and it still finishes") {
  // 40 blocks of 16 tokens; three sequences growing to 400 tokens (25 blocks) each.
  engine e(exact(640), truth(), 1);
  std::vector<request> reqs = {{1, 100, 300, 0.0}, {2, 100, 300, 0.01}, {3, 100, 300, 0.02}};
  std::map<std::uint64_t, std::vector<int>> tokens;
  auto log = drive(e, reqs, [&](const engine& en, const step_result& r) {
    CHECK(en.check_invariants() == "");
    for (const auto& p : r.progress) tokens[p.query_id].push_back(p.generated);
  });
  CHECK(e.preemptions() > 0);
  const auto pre = events_of(log, event_kind::preempted);
  REQUIRE(!pre.empty());
  CHECK(pre.front()->query_id == 3);  // the most recently arrived of the three running
  CHECK(pre.front()->tokens > 0);     // it had generated tokens, which it keeps
  const auto done = events_of(log, event_kind::completed);
  REQUIRE(done.size() == 3);
  for (const auto* d : done) {
    CHECK(d->tokens == 300);
    // Every token exactly once, in order, across the preemption.
    const auto& seq = tokens[d->query_id];
    REQUIRE(seq.size() == 300);
    for (int i = 0; i < 300; ++i) CHECK(seq[i] == i + 1);
  }
  // First token exactly once per query: the recompute prefill does not repeat it.
  CHECK(events_of(log, event_kind::first_token).size() == 3);
  // The recompute prefill covered the prompt plus the tokens kept.
  bool saw_recompute = false;
  for (const auto& it : log.iterations)
    if (it.kind == iteration_kind::prefill && it.prefill_tokens > 100) saw_recompute = true;
  CHECK(saw_recompute);
  CHECK(e.kv_blocks_used() == 0);
}

TEST_CASE("a request that can never fit is rejected at once") {
  engine e(exact(1000), truth(), 1);
  CHECK(e.enqueue({1, 1200, 10, 0.0}, 0.0) == enqueue_result::rejected_too_large);
  CHECK(e.enqueue({2, 900, 200, 0.0}, 0.0) == enqueue_result::rejected_too_large);  // whole sequence
  CHECK_FALSE(e.busy());
  CHECK(e.waiting_count() == 0);
  CHECK(e.enqueue({3, 0, 10, 0.0}, 0.0) == enqueue_result::rejected_invalid);
  CHECK(e.enqueue({4, 10, 0, 0.0}, 0.0) == enqueue_result::rejected_invalid);
  CHECK(e.rejected() == 4);
  CHECK(e.enqueue({5, 900, 90, 0.0}, 0.0) == enqueue_result::accepted);  // 990 ≤ 992 tokens of blocks
  CHECK(std::string(to_string(enqueue_result::rejected_too_large)) == "rejected_too_large");
}

TEST_CASE("misuse of the clock is an error, not silent corruption") {
  engine e(exact(), truth(), 1);
  CHECK_THROWS_AS(e.step(), std::logic_error);
  e.enqueue({1, 100, 5, 0.0}, 0.0);
  CHECK_THROWS_AS(e.enqueue({2, 100, 5, 10.0}, 10.0), std::logic_error);
  engine_options bad = exact();
  bad.kv_capacity_tokens = 0;
  CHECK_THROWS_AS(engine(bad, truth(), 1), std::invalid_argument);
  bad = exact();
  bad.block_size = 0;
  CHECK_THROWS_AS(engine(bad, truth(), 1), std::invalid_argument);
}

TEST_CASE("chunked prefill respects the token budget and interleaves with decodes") {
  engine_options o = exact();
  o.mode = batching_mode::chunked;
  o.max_batched_tokens = 256;
  engine e(o, truth(), 1);
  auto log = drive(e, {{1, 100, 50, 0.0}, {2, 1000, 5, 0.3}});
  for (const auto& it : log.iterations) CHECK(it.prefill_tokens + it.decode_seqs <= 256);
  // Query 2's prompt spans ceil(1000 / 255) = 4 iterations, each also decoding query 1.
  int chunks = 0;
  double first2 = 0;
  for (const auto* f : events_of(log, event_kind::first_token))
    if (f->query_id == 2) first2 = f->time_s;
  for (const auto& it : log.iterations) {
    if (it.end_s <= 0.3 || it.end_s > first2) continue;
    if (it.prefill_seqs == 0) continue;
    ++chunks;
    CHECK(it.kind == iteration_kind::mixed);
    CHECK(it.decode_seqs == 1);
    CHECK(it.prefill_tokens == (chunks < 4 ? 255 : 1000 - 3 * 255));
    bool decoded1 = false;
    for (const auto& p : log.progress)
      if (p.time_s == it.end_s && p.p.query_id == 1) decoded1 = true;
    CHECK(decoded1);
  }
  CHECK(chunks == 4);
  CHECK(events_of(log, event_kind::completed).size() == 2);
  CHECK(engine_options{.mode = batching_mode::chunked}.batched_tokens() == 2048);
  CHECK(engine_options{}.batched_tokens() == 8192);
}

TEST_CASE("a continued chunk costs more than a fresh prompt of its size") {
  engine_options o = exact();
  o.mode = batching_mode::chunked;
  o.max_batched_tokens = 2048;
  engine e(o, truth(), 1);
  e.enqueue({1, 8192, 2, 0.0}, 0.0);
  double t = 0;
  for (int k = 0; k < 4; ++k) {
    const auto& it = e.current_iteration();
    CHECK(it.prefill_tokens == 2048);
    const double expected =
        truth().prefill_s(2048, 1) + truth().context_penalty_s(2048, 2048.0 * k);
    CHECK(it.end_s - it.start_s == doctest::Approx(expected).epsilon(1e-12));
    t = it.end_s;
    e.step();
  }
  CHECK(e.generated_tokens(1) == 1);
  CHECK(t > truth().prefill_s(8192, 1));
}

TEST_CASE("prefill-only role hands off after the first token") {
  engine_options o = exact();
  o.role = engine_role::prefill_only;
  engine e(o, truth(), 1);
  e.enqueue({1, 300, 10, 0.0}, 0.0);
  e.enqueue({2, 700, 10, 0.0}, 0.0);
  e.enqueue({3, 200, 1, 0.0}, 0.0);
  const auto& r = e.step();
  CHECK(r.iteration.kind == iteration_kind::prefill);
  CHECK(r.iteration.prefill_seqs == 3);
  const double t = r.iteration.end_s;
  std::vector<engine_event> expected = {
      {event_kind::first_token, 1, t, 1}, {event_kind::handoff, 1, t, 300},
      {event_kind::first_token, 2, t, 1}, {event_kind::handoff, 2, t, 700},
      {event_kind::first_token, 3, t, 1}, {event_kind::completed, 3, t, 1}};
  CHECK(std::vector<engine_event>(r.events.begin(), r.events.end()) == expected);
  CHECK_FALSE(e.busy());
  CHECK(e.kv_blocks_used() == 0);
  CHECK(e.handed_off() == 2);
  CHECK(e.completed() == 1);
}

TEST_CASE("decode-only role starts from a transferred cache") {
  engine_options o = exact();
  o.role = engine_role::decode_only;
  engine e(o, truth(), 1);
  CHECK(e.enqueue({9, 50, 1, 0.0}, 0.0) == enqueue_result::rejected_invalid);  // nothing to decode
  CHECK(e.enqueue({1, 1000, 5, 0.0}, 0.0) == enqueue_result::accepted);
  CHECK(e.current_iteration().kind == iteration_kind::decode);
  CHECK(e.kv_blocks_used() == (1001 + 1 + 15) / 16);
  // Context 1001: the prompt and the first token made by the prefill instance.
  CHECK(e.next_event_time() == doctest::Approx(truth().decode_s(1, 1001)));
  auto log = drive(e, {});
  CHECK(events_of(log, event_kind::first_token).empty());
  REQUIRE(log.progress.size() == 4);
  CHECK(log.progress.front().p.generated == 2);
  CHECK(log.progress.back().p.generated == 5);
  CHECK(events_of(log, event_kind::completed).size() == 1);
  CHECK(e.kv_blocks_used() == 0);
}

TEST_CASE("decode-only admission leaves room for the running sequences' next blocks") {
  engine_options o = exact(16 * 10);  // 10 blocks
  o.role = engine_role::decode_only;
  engine e(o, truth(), 1);
  // Query 1 arrives with 47 + 1 tokens (3 blocks); after 15 more steps it holds 4 blocks for 63
  // tokens, and at 64 its next token needs a 5th.
  e.enqueue({1, 47, 40, 0.0}, 0.0);
  for (int k = 0; k < 15; ++k) e.step();
  CHECK(e.generated_tokens(1) == 16);
  // Query 2 carries 79 + 1 tokens (5 blocks) and needs a 6th for its next token: exactly the
  // 6 blocks free, but one of them is query 1's next block. Admitting it would only get it
  // preempted (it is the latest arrival) and its transferred cache thrown away.
  const double now = e.current_iteration().start_s;
  CHECK(e.enqueue({2, 79, 3, now}, now) == enqueue_result::accepted);
  e.step();
  // Planned: query 1 took its 5th block for the step now running; query 2 still waits.
  CHECK(e.kv_blocks_free() == 5);
  CHECK(e.waiting_count() == 1);
  CHECK(e.running_count() == 1);
  auto log = drive(e, {}, [](const engine& en, const step_result&) {
    CHECK(en.check_invariants() == "");
  });
  CHECK(e.preemptions() == 0);
  CHECK(events_of(log, event_kind::completed).size() == 2);
}

TEST_CASE("block accounting holds after every step of randomized workloads") {
  std::uint64_t total_preempt = 0, total_rejected = 0, total_steps = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    CAPTURE(seed);
    rng r(seed);
    engine_options o;
    o.mode = r.below(2) ? batching_mode::chunked : batching_mode::prefill_first;
    const engine_role roles[] = {engine_role::unified, engine_role::unified,
                                 engine_role::prefill_only, engine_role::decode_only};
    o.role = roles[r.below(4)];
    const int block_sizes[] = {1, 4, 16, 32};
    o.block_size = block_sizes[r.below(4)];
    o.max_num_seqs = 1 + int(r.below(64));
    o.max_batched_tokens = r.below(2) ? 0 : 64 + int(r.below(4000));
    o.kv_capacity_tokens = 1500 + double(r.below(20000));
    o.noise_sigma = r.below(2) ? 0.0 : 0.05;
    CAPTURE(int(o.mode));
    CAPTURE(int(o.role));
    engine e(o, truth(), seed);
    const auto reqs = random_requests(r, 120, 2000, 400, 0.05 + 0.5 * r.uniform());

    std::map<std::uint64_t, int> last;  // generated so far, per query
    std::uint64_t steps = 0;
    std::string broken;
    auto log = drive(e, reqs, [&](const engine& en, const step_result& res) {
      ++steps;
      if (!broken.empty()) return;
      if (auto v = en.check_invariants(); !v.empty()) broken = v;
      if (en.kv_blocks_used() > en.kv_blocks_total()) broken = "over capacity";
      if (!(res.iteration.end_s > res.iteration.start_s)) broken = "empty iteration";
      for (const auto& p : res.progress) {
        int& g = last[p.query_id];
        const int start = o.role == engine_role::decode_only && g == 0 ? 1 : g;
        if (p.generated != start + 1) broken = "token skipped or repeated";
        g = p.generated;
      }
      for (const auto& ev : res.events)
        if (ev.time_s != res.iteration.end_s) broken = "event time is not the iteration end";
    });
    CHECK(broken == "");
    total_preempt += e.preemptions(); total_rejected += e.rejected(); total_steps += steps;
    CHECK(steps == e.iterations());
    // Everything accepted leaves, with exactly its output length (or after its prefill).
    std::map<std::uint64_t, int> output;
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < reqs.size(); ++i) {
      // drive admits in arrival order; reqs are generated in arrival order.
      if (log.admissions[i] != enqueue_result::accepted) continue;
      ++accepted;
      output[reqs[i].query_id] = reqs[i].output_tokens;
    }
    CHECK(accepted > 0);
    CHECK(e.completed() + e.handed_off() == accepted);
    for (const auto* d : events_of(log, event_kind::completed))
      CHECK(d->tokens == output[d->query_id]);
    CHECK_FALSE(e.busy());
    CHECK(e.running_count() == 0);
    CHECK(e.waiting_count() == 0);
    CHECK(e.kv_blocks_used() == 0);
  }
  // The workloads do exercise what they are meant to check.
  CHECK(total_preempt > 100);
  CHECK(total_rejected > 0);
  CHECK(total_steps > 10000);
}

TEST_CASE("accessors show the sequences") {
  engine e(exact(), truth(), 1);
  e.enqueue({1, 100, 10, 0.0}, 0.0);
  e.step();
  e.enqueue({2, 200, 10, e.last_event_time()}, e.last_event_time());
  const auto seqs = e.sequences();
  REQUIRE(seqs.size() == 2);
  CHECK(seqs[0].query_id == 1);
  CHECK(seqs[0].running);
  CHECK(seqs[0].generated == 1);
  CHECK(seqs[1].query_id == 2);
  CHECK(e.generated_tokens(1) == 1);
  CHECK_FALSE(e.generated_tokens(77));
  CHECK(e.kv_blocks_total() == 100000 / 16);
}

}  // TEST_SUITE
