// Behaviour of the baseline policies, each against what it promises.

#include <doctest/doctest.h>

#include <map>

#include "placement/jsq_policy.hpp"
#include "placement/least_kv_policy.hpp"
#include "placement/p2c_policy.hpp"
#include "placement/rr_policy.hpp"
#include "placement/vllm_policy.hpp"
#include "placement_fixtures.hpp"

using namespace aladdin;
using namespace aladdin::testing;

TEST_CASE("rr policy: cycles in id order and skips drained workers") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths);
  for (int i = 0; i < 4; ++i) c.add_worker(test_profile());
  rr_policy p;
  decision_context ctx;
  std::vector<std::uint32_t> seen;
  for (int i = 0; i < 5; ++i) seen.push_back(p.place(c, make_query(c, 1, 10, 10, 0), ctx).worker.value);
  CHECK(seen == std::vector<std::uint32_t>{0, 1, 2, 3, 0});
  c.drain(worker_slot{1});
  seen.clear();
  for (int i = 0; i < 4; ++i) seen.push_back(p.place(c, make_query(c, 1, 10, 10, 0), ctx).worker.value);
  CHECK(seen == std::vector<std::uint32_t>{2, 3, 0, 2});
}

TEST_CASE("jsq policy: picks the fewest outstanding queries, lower id on ties") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths);
  for (int i = 0; i < 3; ++i) c.add_worker(test_profile());
  c.assign(worker_slot{0}, make_query(c, 1, 10, 10, 0), {10, 10}, 0);
  c.assign(worker_slot{0}, make_query(c, 2, 10, 10, 0), {10, 10}, 0);
  c.assign(worker_slot{1}, make_query(c, 3, 10, 10, 0), {10, 10}, 0);
  jsq_policy p;
  decision_context ctx;
  CHECK(p.place(c, make_query(c, 9, 10, 10, 0), ctx).worker.value == 2);
  c.assign(worker_slot{2}, make_query(c, 4, 10, 10, 0), {10, 10}, 0);
  CHECK(p.place(c, make_query(c, 9, 10, 10, 0), ctx).worker.value == 1);
}

TEST_CASE("least-kv policy: picks the lowest KV use relative to capacity") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths);
  c.add_worker(test_profile(10000));
  c.add_worker(test_profile(100000));
  // 2000 tokens on each: 20% of the small worker, 2% of the big one.
  c.assign(worker_slot{0}, make_query(c, 1, 2000, 10, 0), {2000, 10}, 0);
  c.assign(worker_slot{1}, make_query(c, 2, 2000, 10, 0), {2000, 10}, 0);
  least_kv_policy p;
  decision_context ctx;
  CHECK(p.place(c, make_query(c, 9, 10, 10, 0), ctx).worker.value == 1);
}

TEST_CASE("p2c policy: prefers the less loaded of two and samples uniformly") {
  fixed_lengths lengths(100);
  cluster_state c(&lengths);
  for (int i = 0; i < 4; ++i) c.add_worker(test_profile());
  // Worker 0 is busy; the others are idle.
  for (std::uint64_t i = 0; i < 5; ++i)
    c.assign(worker_slot{0}, make_query(c, i, 10, 10, 0), {10, 10}, 0);
  p2c_policy p;
  rng random(2024);
  decision_context ctx{0, &random};
  std::map<std::uint32_t, int> hits;
  const int n = 30000;
  for (int i = 0; i < n; ++i) ++hits[p.place(c, make_query(c, 99, 10, 10, 0), ctx).worker.value];
  // Worker 0 loses every comparison, so it is never chosen; the idle three split evenly.
  CHECK(hits[0] == 0);
  for (std::uint32_t w = 1; w < 4; ++w) CHECK(hits[w] == doctest::Approx(n / 3.0).epsilon(0.05));
}

TEST_CASE("vllm policy: default shape leaves 30 percent of memory for the KV cache") {
  CHECK(vllm_policy::default_tp("llama2-70b", "a100-80gb") == 4);
  CHECK(vllm_policy::default_tp("llama2-7b", "a100-80gb") == 1);
  CHECK(vllm_policy::default_tp("bloom-176b", "a100-80gb") == 8);
  CHECK_FALSE(vllm_policy::default_tp("no-such-model", "a100").has_value());
}
