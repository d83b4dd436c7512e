// The headroom index: its node bounds hold for every worker below a node, and aladdin's
// search through it decides exactly as the linear search over every worker does, over random
// fleets (several shapes, queued and running queries, calibrated shapes, learnt margins,
// drained and removed workers, fleets past comfort and full ones).

#include <doctest/doctest.h>

#include <vector>

#include "placement/aladdin_policy.hpp"
#include "placement/length_source.hpp"
#include "placement_fixtures.hpp"
#include "util/rng.hpp"

using namespace aladdin;
using namespace aladdin::testing;

namespace {

worker_profile shape_profile(int variant, double kv) {
  worker_profile p = test_profile(kv);
  // Different coefficients make different shapes (cluster_state keys shapes by profile).
  p.decode.k2 *= 1.0 + 0.5 * variant;
  p.decode.c2 *= 1.0 + 0.25 * variant;
  p.prefill.k1 *= 1.0 + 0.3 * variant;
  return p;
}

// A random fleet: 1..3 shapes, some decode-only, up to `max_workers` workers with queued and
// running queries, some shapes calibrated and with margins, some workers drained or removed.
schedule_options options_with(int chunk_tokens) {
  schedule_options o;
  o.chunk_tokens = chunk_tokens;
  return o;
}

struct random_fleet {
  fixed_lengths lengths{150};
  cluster_state c;
  double now = 0;

  // chunk_tokens > 0: the schedules plan chunked prefill with that token budget.
  random_fleet(rng& random, int max_workers, int chunk_tokens = 0)
      : c(&lengths, options_with(chunk_tokens)) {
    const int shapes = 1 + static_cast<int>(random.below(3));
    const int workers = 1 + static_cast<int>(random.below(static_cast<std::uint64_t>(max_workers)));
    const double load = random.uniform();  // how busy: from idle to past full
    std::uint64_t next = 0;
    for (int w = 0; w < workers; ++w) {
      const int variant = static_cast<int>(random.below(static_cast<std::uint64_t>(shapes)));
      const worker_role role = variant == 2 ? worker_role::decode_only : worker_role::unified;
      const worker_slot id = c.add_worker(shape_profile(variant, 20000 + 10000.0 * variant), role);
      const int n = static_cast<int>(random.below(1 + static_cast<std::uint64_t>(40 * load)));
      for (int i = 0; i < n; ++i) {
        auto q = make_query(c, next++, 50 + static_cast<int>(random.below(1500)), 100, now,
                            {0.5 + random.uniform() * 2, 0.03 + random.uniform() * 0.1});
        c.assign(id, q, {q.input_tokens, -1}, now);
        if (random.below(3) != 0) c.start_decoding(id, q.id, now);
        now += 0.003;
      }
      c.advance_decode(id, static_cast<int>(random.below(40)), now);
      // A calibrated shape: measured iterations slower or faster than the model at some batches.
      if (random.below(3) == 0)
        for (int k = 0; k < 30; ++k)
          c.observe_iteration(id, 0, 0, 1 + static_cast<int>(random.below(64)),
                              0.04 * (0.7 + 0.6 * random.uniform()));
      if (random.below(5) == 0) c.set_margin(id, {0.8 + 0.3 * random.uniform(), 0.8 + 0.3 * random.uniform()});
    }
    for (int w = 0; w < workers; ++w) {
      const auto roll = random.below(10);
      if (roll == 0) c.drain(worker_slot{static_cast<std::uint32_t>(w)});
      if (roll == 1) c.remove_worker(worker_slot{static_cast<std::uint32_t>(w)});
    }
    // Workers added after some left: the index drops their leaves when it grows.
    const int later = static_cast<int>(random.below(4));
    for (int w = 0; w < later; ++w) c.add_worker(shape_profile(0, 20000));
  }
};

}  // namespace

TEST_CASE("headroom index: a node's bounds hold for every worker below it") {
  rng random(11);
  for (int round = 0; round < 120; ++round) {
    const int chunk_tokens = round % 2 == 0 ? 0 : 2048;  // both batching regimes
    CAPTURE(chunk_tokens);
    random_fleet f(random, 40, chunk_tokens);
    for (int k = 0; k < 10; ++k) {
      const auto q = make_query(f.c, 900000 + static_cast<std::uint64_t>(k), 10 + static_cast<int>(random.below(3000)),
                                100, f.now - random.uniform(), {0.3 + random.uniform() * 2, 0.03 + random.uniform() * 0.1});
      const query_bounds b(q, f.now, f.c.options());
      for (const auto& t : f.c.headroom().trees()) {
        const shape_query sq(b, *t.shape);
        for (std::size_t node = 1; node < t.nodes.size(); ++node) {
          const node_bounds nb = sq.bounds(t.nodes[node]);
          // Every worker below `node`: the leaves node·2^d .. of its subtree.
          std::size_t lo = node, hi = node;
          while (lo < t.leaves) {
            lo = 2 * lo;
            hi = 2 * hi + 1;
          }
          for (std::size_t leaf = lo; leaf <= hi; ++leaf) {
            if (t.nodes[leaf].count == 0) continue;
            const worker_slot w = t.worker_at(leaf);
            REQUIRE(f.c.accepting(w));
            const screen_result r = f.c.summary(w).screen(b, sq.prefill_s);
            if (nb.excluded) {
              CHECK_FALSE(r.passed());
              continue;
            }
            if (!r.passed()) continue;
            CHECK(r.low >= nb.low);
            CHECK(r.high <= nb.high);
          }
        }
      }
    }
  }
}

TEST_CASE("headroom index: holds every accepting worker once, in id order per shape") {
  rng random(3);
  for (int round = 0; round < 40; ++round) {
    random_fleet f(random, 60);
    std::vector<std::uint32_t> seen;
    for (const auto& t : f.c.headroom().trees()) {
      std::uint32_t last = 0;
      bool any = false;
      for (std::size_t leaf = t.leaves; leaf < t.leaves + t.workers.size(); ++leaf) {
        if (t.nodes[leaf].count == 0) continue;
        const worker_slot w = t.worker_at(leaf);
        if (any) CHECK(w.value > last);
        last = w.value;
        any = true;
        CHECK(f.c.shape_of(w) == t.shape);
        seen.push_back(w.value);
      }
      CHECK(t.nodes[1].count == static_cast<std::uint32_t>(
                                    std::count_if(t.workers.begin(), t.workers.end(),
                                                  [&](worker_slot w) { return f.c.accepting(w); })));
    }
    std::sort(seen.begin(), seen.end());
    std::vector<std::uint32_t> accepting;
    for (const auto w : f.c.accepting_workers()) accepting.push_back(w.value);
    CHECK(seen == accepting);
  }
}

TEST_CASE("aladdin policy: the indexed search decides exactly as the linear search, over random fleets") {
  rng random(2026);
  int placed = 0, refused = 0, past_comfort = 0;
  for (double comfort : {1.0, 0.85, 0.5}) {
    CAPTURE(comfort);
    for (int round = 0; round < 150; ++round) {
      CAPTURE(round);
      // Every other fleet plans chunked prefill (its TTFT rule differs; the bounds must hold).
      const int chunk_tokens = round % 2 == 0 ? 0 : 2048;
      CAPTURE(chunk_tokens);
      random_fleet f(random, round % 10 == 0 ? 300 : 40, chunk_tokens);
      aladdin_policy indexed("aladdin", {comfort, true});
      aladdin_policy linear("aladdin", {comfort, false});
      for (int k = 0; k < 12; ++k) {
        const auto q = make_query(f.c, 900000 + static_cast<std::uint64_t>(k),
                                  10 + static_cast<int>(random.below(4000)), 100, f.now - 0.5 * random.uniform(),
                                  {0.3 + random.uniform() * 2, 0.03 + random.uniform() * 0.1});
        decision_context ctx{f.now, nullptr};
        const placement_outcome a = indexed.place(f.c, q, ctx);
        const placement_outcome b = linear.place(f.c, q, ctx);
        REQUIRE(a.placed == b.placed);
        CHECK(a.reason == b.reason);
        if (a.placed) {
          ++placed;
          past_comfort += a.fit > comfort;
          CHECK(a.worker == b.worker);
          CHECK(a.fit == b.fit);
          // Commit now and then, so later decisions see a fleet the policy shaped.
          if (k % 3 == 0) f.c.assign(a.worker, q, {q.input_tokens, 100}, f.now);
        } else {
          ++refused;
        }
      }
    }
  }
  // The fleets covered every branch: placements within and past comfort, and refusals.
  CHECK(placed > 100);
  CHECK(past_comfort > 10);
  CHECK(refused > 10);
}
