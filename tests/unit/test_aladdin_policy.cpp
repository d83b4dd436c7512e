// The aladdin policy and the worker schedule it decides with.

#include <doctest/doctest.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "placement/aladdin_policy.hpp"
#include "placement/length_source.hpp"
#include "placement_fixtures.hpp"

using namespace aladdin;
using namespace aladdin::testing;

namespace {
const aladdin_policy_options plain_best_fit{1.0};  // the paper's rule, with exact()
}

TEST_CASE("aladdin policy: rejects a worker whose KV would overflow") {
  fixed_lengths lengths(500);
  cluster_state c(&lengths, exact());
  c.add_worker(test_profile(2000));
  aladdin_policy p("aladdin", plain_best_fit);
  decision_context ctx;
  // 1000 prompt + 500 expected output = 1500 at peak: fits alone.
  auto first = place_and_commit(c, p, make_query(c, 1, 1000, 500, 0), 500, ctx);
  REQUIRE(first.placed);
  // A second one would need 3000 tokens at the common peak.
  auto second = p.place(c, make_query(c, 2, 1000, 500, 0), ctx);
  CHECK_FALSE(second.placed);
  CHECK(second.reason == reject_reason::kv);
}

TEST_CASE("aladdin policy: KV is checked at the future peak, not today") {
  fixed_lengths lengths(1000);
  cluster_state c(&lengths, exact());
  c.add_worker(test_profile(2500));
  aladdin_policy p("aladdin", plain_best_fit);
  decision_context ctx;
  // Today each query holds 100 tokens, but both grow to 1100 before ending together.
  REQUIRE(place_and_commit(c, p, make_query(c, 1, 100, 1000, 0), 1000, ctx).placed);
  CHECK(c.at(worker_slot{0}).kv_used_tokens() == doctest::Approx(100));
  auto second = p.place(c, make_query(c, 2, 100, 1000, 0), ctx);
  CHECK(second.placed);  // 2200 ≤ 2500
  REQUIRE(place_and_commit(c, p, make_query(c, 2, 100, 1000, 0), 1000, ctx).placed);
  auto third = p.place(c, make_query(c, 3, 100, 1000, 0), ctx);
  CHECK_FALSE(third.placed);  // 3300 > 2500 although only 300 tokens are held now
  CHECK(third.reason == reject_reason::kv);
}

TEST_CASE("aladdin policy: rejects when the queue ahead breaks the TTFT SLO") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths, exact());
  c.add_worker(test_profile());
  aladdin_policy p("aladdin", plain_best_fit);
  decision_context ctx;
  // Each 4000-token prefill takes 0.82 s: the third in line would wait past 2 s.
  REQUIRE(place_and_commit(c, p, make_query(c, 1, 4000, 100, 0), 100, ctx).placed);
  REQUIRE(place_and_commit(c, p, make_query(c, 2, 4000, 100, 0), 100, ctx).placed);
  auto third = p.place(c, make_query(c, 3, 4000, 100, 0), ctx);
  CHECK_FALSE(third.placed);
  CHECK(third.reason == reject_reason::ttft);
  // Time already spent waiting counts against the SLO too.
  fixed_lengths l2(100);
  cluster_state idle(&l2, exact());
  idle.add_worker(test_profile());
  ctx.now_s = 1.5;
  auto late = p.place(idle, make_query(idle, 4, 4000, 100, /*arrival*/ 0.0), ctx);
  CHECK_FALSE(late.placed);
  CHECK(late.reason == reject_reason::ttft);
}

TEST_CASE("aladdin policy: protects the ATGT of queries already running") {
  fixed_lengths lengths(50);
  cluster_state c(&lengths, exact());
  c.add_worker(test_profile());
  aladdin_policy p("aladdin", plain_best_fit);
  decision_context ctx;
  // A running query with a tight ATGT SLO: 45 ms per token against ~40 ms iterations.
  auto q1 = make_query(c, 1, 100, 50, 0, {2.0, 0.045});
  REQUIRE(place_and_commit(c, p, q1, 50, ctx).placed);
  c.start_decoding(worker_slot{0}, q1.id, 0.05);
  ctx.now_s = 0.05;
  // A 3000-token prefill (0.62 s) would stall it by more than its whole budget of slack.
  auto big = p.place(c, make_query(c, 2, 3000, 50, 0.05, {10.0, 1.0}), ctx);
  CHECK_FALSE(big.placed);
  CHECK(big.reason == reject_reason::atgt);
  // A short prompt fits.
  auto small = p.place(c, make_query(c, 3, 20, 50, 0.05, {10.0, 1.0}), ctx);
  CHECK(small.placed);
}

TEST_CASE("aladdin policy: a query whose own decode is too slow is rejected as atgt") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths, exact());
  c.add_worker(test_profile());
  aladdin_policy p("aladdin", plain_best_fit);
  decision_context ctx;
  auto out = p.place(c, make_query(c, 1, 100, 100, 0, {2.0, 0.01}), ctx);  // 10 ms < 40 ms floor
  CHECK_FALSE(out.placed);
  CHECK(out.reason == reject_reason::atgt);
}

TEST_CASE("aladdin policy: best fit packs the fuller feasible worker, lower id on ties") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths, exact());
  for (int i = 0; i < 3; ++i) c.add_worker(test_profile(20000));
  aladdin_policy p("aladdin", plain_best_fit);
  decision_context ctx;
  // Ties on an idle fleet go to worker 0, and then worker 0 stays the tightest fit.
  for (std::uint64_t i = 0; i < 5; ++i) {
    auto out = place_and_commit(c, p, make_query(c, i, 1000, 100, 0, {60, 0.1}), 100, ctx);
    REQUIRE(out.placed);
    CHECK(out.worker.value == 0);
  }
  // Load worker 2 beyond worker 0: it becomes the tighter fit (the queued queries' TTFT SLO
  // leaves room for one more prefill ahead of their first tokens).
  for (std::uint64_t i = 10; i < 20; ++i)
    c.assign(worker_slot{2}, make_query(c, i, 1000, 100, 0, {60, 0.1}), {1000, 100}, 0);
  auto out = p.place(c, make_query(c, 99, 100, 100, 0, {60, 0.1}), ctx);
  REQUIRE(out.placed);
  CHECK(out.worker.value == 2);
  CHECK(out.fit > 0);
  CHECK(out.fit <= 1.0);
}

TEST_CASE("aladdin policy: with no feasible worker the reason names the common constraint") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths, exact());
  c.add_worker(test_profile(500));
  c.add_worker(test_profile(500));
  c.add_worker(test_profile(100000));
  for (std::uint64_t i = 0; i < 3; ++i)  // fill the big worker's prefill queue
    c.assign(worker_slot{2}, make_query(c, i, 4000, 100, 0), {4000, 100}, 0);
  aladdin_policy p("aladdin", plain_best_fit);
  decision_context ctx;
  auto out = p.place(c, make_query(c, 9, 1000, 100, 0), ctx);
  CHECK_FALSE(out.placed);
  CHECK(out.reason == reject_reason::kv);  // two workers say kv, one says ttft
}

TEST_CASE("worker schedule: the KV peak matches a brute-force replay") {
  rng random(11);
  for (int round = 0; round < 200; ++round) {
    true_lengths truth;
    worker_schedule s(test_profile(1e9), &truth);
    struct item {
      double context;
      double remaining;
    };
    std::vector<item> items;
    const int n = 1 + static_cast<int>(random.below(12));
    for (int i = 0; i < n; ++i) {
      const int input = 1 + static_cast<int>(random.below(3000));
      const int output = 1 + static_cast<int>(random.below(800));
      query_request q;
      q.id = query_id{static_cast<std::uint64_t>(i)};
      q.input_tokens = input;
      q.expected_output_tokens = output;
      q.slo = {1e9, 1e9};  // only the KV peak is under test
      s.add_queued(q, {input, output}, 0);
      items.push_back({static_cast<double>(input), static_cast<double>(output)});
    }
    const int new_input = 1 + static_cast<int>(random.below(3000));
    const int new_output = 1 + static_cast<int>(random.below(800));
    items.push_back({static_cast<double>(new_input), static_cast<double>(new_output)});
    // Brute force: at each future step t, every item with remaining > t holds context + t.
    auto brute_peak = [&](std::size_t count) {
      double peak = 0;
      for (int t = 0; t <= 1000; ++t) {
        double sum = 0;
        for (std::size_t i = 0; i < count; ++i)
          if (items[i].remaining >= t) sum += items[i].context + t;
        peak = std::max(peak, sum);
      }
      return peak;
    };
    CHECK(s.predicted_peak_kv_tokens() == doctest::Approx(brute_peak(items.size() - 1)));
    query_request q;
    q.id = query_id{999};
    q.input_tokens = new_input;
    q.expected_output_tokens = new_output;
    q.slo = {1e9, 1e9};
    auto fit = s.evaluate(q, 0);
    REQUIRE(fit.feasible);
    CHECK(fit.predicted_peak_kv_tokens == doctest::Approx(brute_peak(items.size())));
  }
}

// A query still waiting for its prefill has budgets too: a long prompt placed behind it either
// joins its prefill batch (its TTFT) or runs right after its first token (its decodes). The
// code-completion plateau of issue 8 came from this blind spot: short answers behind long
// prompts.
TEST_CASE("worker schedule: a prefill placed behind a queued query must fit that query's budgets") {
  fixed_lengths lengths(5);  // 4 decode iterations after the first token
  const auto query = [](std::uint64_t id, int input, slo_target slo) {
    query_request q;
    q.id = query_id{id};
    q.input_tokens = input;
    q.expected_output_tokens = 5;
    q.slo = slo;
    return q;
  };
  // prefill(l) = 2e-4·l + 0.02; an iteration ≈ 0.0404 s. A's decode budget: 4 × 0.1 = 0.4 s,
  // of which its four iterations take ≈ 0.16 s: ≈ 0.24 s of stall is left.
  {
    worker_schedule s(test_profile(), &lengths, exact());
    s.add_queued(query(1, 100, {10, 0.1}), {100, 5}, 0);
    const fit_result small = s.evaluate(query(2, 500, {10, 1}), 0);   // 0.12 s of prefill
    CHECK(small.feasible);
    const fit_result large = s.evaluate(query(3, 2000, {10, 1}), 0);  // 0.42 s
    CHECK_FALSE(large.feasible);
    CHECK(large.reason == reject_reason::atgt);
  }
  {  // With a loose ATGT SLO the same prefill fits.
    worker_schedule s(test_profile(), &lengths, exact());
    s.add_queued(query(1, 100, {10, 1.0}), {100, 5}, 0);
    CHECK(s.evaluate(query(3, 2000, {10, 1}), 0).feasible);
  }
  {  // TTFT: A's first token is due by 0.3 s and its own prefill takes 0.04 s.
    worker_schedule s(test_profile(), &lengths, exact());
    s.add_queued(query(1, 100, {0.3, 10}), {100, 5}, 0);
    CHECK(s.evaluate(query(2, 1000, {10, 10}), 0).feasible);  // 0.22 s: A's TTFT 0.26 s
    const fit_result late = s.evaluate(query(3, 1500, {10, 10}), 0);  // 0.32 s
    CHECK_FALSE(late.feasible);
    CHECK(late.reason == reject_reason::ttft);
    // Past saving (it has waited beyond its SLO), A no longer refuses new work.
    CHECK(s.evaluate(query(3, 1500, {10, 10}), 0.5).feasible);
  }
  {  // Once A has its first token, the running-query budget takes over.
    worker_schedule s(test_profile(), &lengths, exact());
    s.add_queued(query(1, 100, {10, 0.1}), {100, 5}, 0);
    s.start_decoding(query_id{1}, 0.05);
    CHECK_FALSE(s.evaluate(query(3, 2000, {10, 1}), 0.05).feasible);
    CHECK(s.evaluate(query(2, 500, {10, 1}), 0.05).feasible);
  }
}

TEST_CASE("worker schedule: a query that outlives its prediction is re-predicted, not finished") {
  fixed_lengths lengths(100);  // expects 100 tokens; past that, as many again as produced
  worker_schedule s(test_profile(), &lengths);
  query_request q;
  q.id = query_id{1};
  q.input_tokens = 1000;
  q.expected_output_tokens = 100;
  q.slo = {2, 0.1};
  s.add_queued(q, {1000, -1}, 0);
  s.start_decoding(q.id, 0.1);
  const double peak_before = s.predicted_peak_kv_tokens();
  CHECK(peak_before == doctest::Approx(1100));
  s.advance_decode(150, 6.0);  // 151 tokens out, 51 more than expected
  // Now expected to run as long again: the peak moves out, it does not shrink to "now".
  CHECK(s.predicted_peak_kv_tokens() == doctest::Approx(1000 + 151 + 151));
  CHECK(s.kv_used_tokens() == doctest::Approx(1151));
}

TEST_CASE("worker schedule: queue, first token, progress and completion keep the sums right") {
  fixed_lengths lengths(100);
  worker_schedule s(test_profile(), &lengths);
  query_request a, b;
  a.id = query_id{1};
  a.input_tokens = 500;
  a.expected_output_tokens = 100;
  b.id = query_id{2};
  b.input_tokens = 300;
  b.expected_output_tokens = 100;
  s.add_queued(a, {500, -1}, 0);
  s.add_queued(b, {300, -1}, 0);
  CHECK(s.queued() == 2);
  CHECK(s.pending_prefill_s() == doctest::Approx(2e-4 * 800 + 0.04));
  s.start_decoding(a.id, 0.12);
  CHECK(s.running() == 1);
  CHECK(s.pending_prefill_s() == doctest::Approx(2e-4 * 300 + 0.02));
  s.advance_decode(10, 0.6);
  CHECK(s.kv_used_tokens() == doctest::Approx(511 + 300));
  s.set_progress(a.id, 20, 0.9);
  CHECK(s.kv_used_tokens() == doctest::Approx(520 + 300));
  s.remove(a.id);
  s.remove(b.id);
  CHECK(s.outstanding() == 0);
  CHECK(s.kv_used_tokens() == doctest::Approx(0));
  CHECK(s.pending_prefill_s() == 0);
  CHECK(s.iteration_s() == 0);
}

TEST_CASE("aladdin policy: the screened search picks what evaluating every worker picks") {
  rng random(5);
  for (const int chunk_tokens : {0, 2048})  // prefill-first, chunked prefill
  for (double comfort : {1.0, 0.85, 0.5}) {
    CAPTURE(comfort);
    CAPTURE(chunk_tokens);
    for (int round = 0; round < 40; ++round) {
      fixed_lengths lengths(150);
      schedule_options options;
      options.chunk_tokens = chunk_tokens;
      cluster_state c(&lengths, options);
      const int workers = 2 + static_cast<int>(random.below(30));
      for (int w = 0; w < workers; ++w)
        c.add_worker(test_profile(5000 + static_cast<double>(random.below(60000))));
      std::uint64_t next = 0;
      double now = 0;
      for (int w = 0; w < workers; ++w) {
        const worker_slot id{static_cast<std::uint32_t>(w)};
        const int n = static_cast<int>(random.below(25));
        for (int i = 0; i < n; ++i) {
          auto q = make_query(c, next++, 50 + static_cast<int>(random.below(1500)), 100, now);
          c.assign(id, q, {q.input_tokens, -1}, now);
          if (random.below(4) != 0) c.start_decoding(id, q.id, now);
          now += 0.01;
        }
        c.advance_decode(id, static_cast<int>(random.below(60)), now);
      }
      aladdin_policy p("aladdin", {comfort});
      for (int k = 0; k < 20; ++k) {
        auto q = make_query(c, 100000 + static_cast<std::uint64_t>(k),
                            10 + static_cast<int>(random.below(3000)), 100, now,
                            {0.5 + random.uniform() * 2, 0.05 + random.uniform() * 0.1});
        decision_context ctx{now, nullptr};
        auto out = p.place(c, q, ctx);
        // Brute force: the tightest fit within comfort, else the least tight fit.
        bool any_within = false, any = false;
        worker_slot best_within{}, least{};
        double best_within_t = -1, least_t = 2;
        for (auto w : c.accepting_workers()) {
          auto fit = c.at(w).evaluate(q, now);
          if (!fit.feasible) continue;
          any = true;
          if (fit.tightness < least_t) {
            least_t = fit.tightness;
            least = w;
          }
          if (fit.tightness <= comfort && fit.tightness > best_within_t) {
            best_within_t = fit.tightness;
            best_within = w;
            any_within = true;
          }
        }
        REQUIRE(out.placed == any);
        if (any_within) {
          CHECK(out.worker == best_within);
          CHECK(out.fit == doctest::Approx(best_within_t));
        } else if (any) {
          CHECK(out.worker == least);
          CHECK(out.fit == doctest::Approx(least_t));
        }
      }
    }
  }
}

TEST_CASE("aladdin policy: packs up to the comfort level, then balances") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths, exact());
  for (int i = 0; i < 3; ++i) c.add_worker(test_profile(20000));
  aladdin_policy p("aladdin", {0.6});
  decision_context ctx;
  // Each 2000-token query adds 2100 tokens (10.5%) of KV at its peak: worker 0 takes queries
  // until it would pass 60%, then worker 1 does.
  std::vector<std::uint32_t> seen;
  for (std::uint64_t i = 0; i < 15; ++i) {
    auto out = place_and_commit(c, p, make_query(c, i, 2000, 100, 0, {60, 0.5}), 100, ctx);
    REQUIRE(out.placed);
    seen.push_back(out.worker.value);
  }
  CHECK(std::count(seen.begin(), seen.begin() + 5, 0u) == 5);
  CHECK(seen[5] == 1);
  // Past comfort everywhere (15 × 10.5% over 3 workers), the least loaded worker is chosen.
  const auto load = [&](std::uint32_t w) { return c.at(worker_slot{w}).predicted_peak_kv_tokens(); };
  const double spread = std::max({load(0), load(1), load(2)}) - std::min({load(0), load(1), load(2)});
  CHECK(spread <= 2100 + 1e-6);
}

namespace {

// Everything a policy can learn from a worker: its summary, its counters and what evaluate
// says about a spread of probe queries. Two schedules that agree on all of it are the same
// schedule as far as placement can tell.
void check_same_schedule(const cluster_state& a, const cluster_state& b, worker_slot w, double now) {
  // Every field of the summary but the shape (each cluster has its own), exactly.
  const auto numbers = [&](const cluster_state& c) {
    const schedule_summary& s = c.summary(w);
    return std::tuple{s.entries, s.running, s.sum_context_tokens, s.iteration_s,
                      s.pending_prefill_s, s.min_queued_atgt_s, s.peak_kv_tokens,
                      s.kv_capacity_tokens, s.has_budget_probe, s.probe_anchor,
                      s.probe_remaining, c.at(w).queued(), c.at(w).running_context_tokens()};
  };
  CHECK(numbers(a) == numbers(b));
  for (int input : {10, 300, 1500, 4000}) {
    for (double atgt : {0.045, 0.06, 0.1}) {
      query_request q;
      q.id = query_id{1u << 30};
      q.input_tokens = input;
      q.arrival_s = now;
      q.slo = {2.0, atgt};
      q.expected_output_tokens = 150;
      CAPTURE(input);
      CAPTURE(atgt);
      CHECK(a.at(w).evaluate(q, now) == b.at(w).evaluate(q, now));  // every field, exactly
    }
  }
}

// A query as a worker_schedule test adds it: expecting 100 output tokens, SLOs 2 s and 100 ms.
query_request schedule_query(std::uint64_t id, int input) {
  query_request q;
  q.id = query_id{id};
  q.input_tokens = input;
  q.expected_output_tokens = 100;
  q.slo = {2, 0.1};
  return q;
}

}  // namespace

TEST_CASE("cluster state: a heartbeat as one batch leaves the schedule the per-query calls leave") {
  rng random(17);
  length_predictor predictor;
  for (int i = 0; i < 300; ++i)
    predictor.observe(50 + static_cast<int>(random.below(2000)), 1 + static_cast<int>(random.below(600)));
  const predicted_lengths lengths(predictor);
  for (int round = 0; round < 30; ++round) {
    CAPTURE(round);
    cluster_state per_query(&lengths), batched(&lengths);
    const worker_slot w = per_query.add_worker(test_profile(60000));
    REQUIRE(batched.add_worker(test_profile(60000)) == w);
    std::vector<progress_report> held;  // every query either schedule holds, with its progress
    double now = 0;
    std::uint64_t next = 0;
    const auto both = [&](auto&& f) {
      f(per_query);
      f(batched);
    };
    for (int beat = 0; beat < 8; ++beat) {
      // New work, some of which starts decoding through its first-token report.
      const int arrivals = static_cast<int>(random.below(12));
      for (int i = 0; i < arrivals; ++i) {
        const auto q = make_query(per_query, next++, 20 + static_cast<int>(random.below(2500)), 100,
                                  now, {2.0, 0.05 + random.uniform() * 0.1});
        both([&](cluster_state& c) { c.assign(w, q, {q.input_tokens, -1}, now); });
        held.push_back({q.id, 1});
        if (random.below(3) == 0)
          both([&](cluster_state& c) { c.start_decoding(w, q.id, now); });
        now += 0.01;
      }
      const int steps = static_cast<int>(random.below(20));
      both([&](cluster_state& c) { c.advance_decode(w, steps, now); });
      // Some complete.
      for (std::size_t k = 0; k < held.size();) {
        if (random.below(6) == 0) {
          both([&](cluster_state& c) { c.complete(w, held[k].id, now); });
          held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
        } else {
          ++k;
        }
      }
      // The heartbeat: most held queries (queued ones included, as a worker may list a query
      // before its first token was reported), their progress, and ids nobody holds.
      now += 0.1 + random.uniform();
      std::vector<progress_report> beat_list;
      for (auto& h : held) {
        if (random.below(5) == 0) continue;
        h.generated_tokens += 1 + static_cast<int>(random.below(40));
        beat_list.push_back(h);
      }
      beat_list.push_back({query_id{900000 + static_cast<std::uint64_t>(beat)}, 7});
      for (std::size_t k = beat_list.size(); k > 1; --k)
        std::swap(beat_list[k - 1], beat_list[random.below(k)]);
      for (const auto& r : beat_list) {
        per_query.start_decoding(w, r.id, now);
        per_query.set_progress(w, r.id, r.generated_tokens, now);
      }
      batched.apply_progress(w, beat_list, now);
      check_same_schedule(per_query, batched, w, now);
    }
  }
}

TEST_CASE("worker schedule: a heartbeat starts the queued queries it lists as running") {
  fixed_lengths lengths(100);
  worker_schedule s(test_profile(), &lengths);
  const query_request a = schedule_query(1, 500), b = schedule_query(2, 300);
  s.add_queued(a, {500, -1}, 0);
  s.add_queued(b, {300, -1}, 0);
  REQUIRE(s.queued() == 2);
  const std::vector<progress_report> beat = {{a.id, 12}};
  s.apply_progress(beat, 0.5);
  CHECK(s.running() == 1);
  CHECK(s.queued() == 1);
  CHECK(s.pending_prefill_s() == doctest::Approx(2e-4 * 300 + 0.02));  // only b's prefill is left
  CHECK(s.kv_used_tokens() == doctest::Approx(512 + 300));
  // set_progress alone leaves a queued query queued, as it always did.
  s.set_progress(b.id, 5, 0.6);
  CHECK(s.queued() == 1);
}

TEST_CASE("worker schedule: a heartbeat ignores unknown ids, and an empty one changes nothing") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths);
  const worker_slot w = c.add_worker(test_profile());
  const auto q = make_query(c, 1, 800, 100, 0);
  c.assign(w, q, {800, -1}, 0);
  c.start_decoding(w, q.id, 0.2);
  c.advance_decode(w, 5, 0.4);
  cluster_state same(&lengths);
  same.add_worker(test_profile());
  same.assign(w, q, {800, -1}, 0);
  same.start_decoding(w, q.id, 0.2);
  same.advance_decode(w, 5, 0.4);
  // Neither call rebuilds, so not even the time of the last rebuild moves: the schedule stays
  // the one left at 0.4 s, which a probe at 0.4 s shows.
  c.apply_progress(w, {}, 3.0);
  const std::vector<progress_report> strangers = {{query_id{77}, 40}, {query_id{78}, 1}};
  c.apply_progress(w, strangers, 3.0);
  CHECK_FALSE(c.at(w).holds(query_id{77}));
  CHECK(c.at(w).outstanding() == 1);
  check_same_schedule(c, same, w, 0.4);
}

TEST_CASE("worker schedule: finding queries by id survives removals from the middle") {
  fixed_lengths lengths(100);
  worker_schedule s(test_profile(1e9), &lengths);
  for (std::uint64_t i = 0; i < 10; ++i) s.add_queued(schedule_query(i, 100), {100, -1}, 0);
  s.remove(query_id{3});
  s.remove(query_id{0});
  s.remove(query_id{9});
  s.remove(query_id{42});  // not held: nothing happens
  CHECK(s.outstanding() == 7);
  s.add_queued(schedule_query(4, 5000), {5000, -1}, 0);  // held already: not added twice
  CHECK(s.outstanding() == 7);
  CHECK(s.kv_used_tokens() == doctest::Approx(700));
  for (std::uint64_t i = 0; i < 10; ++i) CHECK(s.holds(query_id{i}) == (i != 0 && i != 3 && i != 9));
  // The moved entries are still found: each can start and be removed.
  for (std::uint64_t i : {1, 2, 4, 5, 6, 7, 8}) s.start_decoding(query_id{i}, 0.1);
  CHECK(s.running() == 7);
  for (std::uint64_t i : {8, 1, 5, 2, 7, 4, 6}) s.remove(query_id{i});
  CHECK(s.outstanding() == 0);
  CHECK(s.kv_used_tokens() == doctest::Approx(0));
}

TEST_CASE("aladdin policy: comfort-tightness from the registry is the comfort it packs to") {
  // The scenario of "packs up to the comfort level": the knob decides where packing stops.
  const auto decisions = [](placement_policy& p) {
    fixed_lengths lengths(100);
    cluster_state c(&lengths, exact());
    for (int i = 0; i < 3; ++i) c.add_worker(test_profile(20000));
    decision_context ctx;
    std::vector<std::uint32_t> seen;
    for (std::uint64_t i = 0; i < 15; ++i) {
      auto out = place_and_commit(c, p, make_query(c, i, 2000, 100, 0, {60, 0.5}), 100, ctx);
      seen.push_back(out.placed ? out.worker.value : 99);
    }
    return seen;
  };
  aladdin_policy at_06("aladdin", {0.6}), at_default("aladdin"), at_1("aladdin", plain_best_fit);
  CHECK(aladdin_policy_options{}.comfort_tightness == 0.85);
  CHECK(decisions(*make_policy("aladdin", {{"comfort-tightness", "0.6"}})) == decisions(at_06));
  CHECK(decisions(*make_policy("oracle", {{"comfort-tightness", "1"}})) == decisions(at_1));
  CHECK(decisions(*make_policy("aladdin")) == decisions(at_default));
  CHECK(decisions(at_06) != decisions(at_1));
}

TEST_CASE("worker schedule: what the summary's screen refuses evaluate refuses, and what it passes it bounds") {
  rng random(23);
  for (const int chunk_tokens : {0, 2048}) {  // prefill-first, chunked prefill
  CAPTURE(chunk_tokens);
  int passed = 0, refused = 0;
  for (int round = 0; round < 60; ++round) {
    fixed_lengths lengths(150);
    schedule_options options;
    options.chunk_tokens = chunk_tokens;
    cluster_state c(&lengths, options);
    const worker_slot w = c.add_worker(test_profile(5000 + static_cast<double>(random.below(60000))));
    double now = 0;
    const int n = static_cast<int>(random.below(30));
    for (int i = 0; i < n; ++i) {
      auto q = make_query(c, static_cast<std::uint64_t>(i), 50 + static_cast<int>(random.below(1500)),
                          100, now, {2.0, 0.05 + random.uniform() * 0.1});
      c.assign(w, q, {q.input_tokens, -1}, now);
      if (random.below(4) != 0) c.start_decoding(w, q.id, now);
      now += 0.01;
    }
    c.advance_decode(w, static_cast<int>(random.below(60)), now);
    for (int k = 0; k < 20; ++k) {
      auto q = make_query(c, 1000 + static_cast<std::uint64_t>(k), 10 + static_cast<int>(random.below(3000)),
                          100, now - random.uniform(), {0.5 + random.uniform() * 2, 0.05 + random.uniform() * 0.1});
      const schedule_summary& s = c.summary(w);
      const screen_result screened =
          s.screen(query_bounds(q, now, c.options()), s.prefill_one_s(q.input_tokens));
      const fit_result fit = c.at(w).evaluate(q, now);
      if (!screened.passed()) {
        ++refused;
        CHECK_FALSE(fit.feasible);
        continue;
      }
      ++passed;
      CHECK(screened.low <= screened.high);
      if (!fit.feasible) continue;
      CHECK(fit.tightness >= screened.low - 1e-9);
      CHECK(fit.tightness <= screened.high + 1e-9);
    }
  }
  CHECK(passed > 100);
  CHECK(refused > 100);
  }
}
