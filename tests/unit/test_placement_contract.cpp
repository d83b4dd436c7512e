// The contract every placement policy keeps, run over every registered policy.

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "placement/registry.hpp"
#include "placement_fixtures.hpp"

using namespace aladdin;
using namespace aladdin::testing;

namespace {

struct fleet {
  fixed_lengths lengths{200};
  true_lengths truth;
  cluster_state cluster;
  explicit fleet(const policy_info& p, int workers, double kv = 100000)
      : cluster(p.uses_true_lengths ? static_cast<const length_source*>(&truth) : &lengths) {
    for (int i = 0; i < workers; ++i) cluster.add_worker(test_profile(kv));
  }
};

// A deterministic mixed workload: placements, first tokens, progress and completions.
std::vector<std::string> run_workload(const policy_info& info, std::uint64_t seed) {
  fleet f(info, 8);
  auto policy = info.make({});
  rng random(seed);
  decision_context ctx{0, &random};
  std::vector<std::string> trace;
  std::vector<std::pair<worker_slot, query_id>> live;
  for (std::uint64_t i = 0; i < 300; ++i) {
    ctx.now_s = static_cast<double>(i) * 0.05;
    const int input = 100 + static_cast<int>(random.below(1500));
    const int output = 20 + static_cast<int>(random.below(400));
    auto q = make_query(f.cluster, i, input, output, ctx.now_s);
    auto out = place_and_commit(f.cluster, *policy, q, output, ctx);
    trace.push_back(out.placed ? std::to_string(out.worker.value)
                               : std::string(to_string(out.reason)));
    if (out.placed) {
      f.cluster.start_decoding(out.worker, q.id, ctx.now_s);
      live.emplace_back(out.worker, q.id);
    }
    for (auto w : f.cluster.accepting_workers()) f.cluster.advance_decode(w, 1, ctx.now_s);
    if (live.size() > 40) {  // complete the oldest
      f.cluster.complete(live.front().first, live.front().second, ctx.now_s);
      live.erase(live.begin());
    }
  }
  return trace;
}

}  // namespace

TEST_CASE("placement contract: an empty fleet is rejected as no_workers") {
  for (const auto& info : policies()) {
    CAPTURE(info.name);
    fleet f(info, 0);
    auto p = info.make({});
    rng random(1);
    decision_context ctx{0, &random};
    auto out = p->place(f.cluster, make_query(f.cluster, 1, 100, 50, 0), ctx);
    CHECK_FALSE(out.placed);
    CHECK(out.reason == reject_reason::no_workers);
  }
}

TEST_CASE("placement contract: a light query on an idle fleet is placed") {
  for (const auto& info : policies()) {
    CAPTURE(info.name);
    fleet f(info, 4);
    auto p = info.make({});
    rng random(1);
    decision_context ctx{0, &random};
    auto out = p->place(f.cluster, make_query(f.cluster, 1, 100, 50, 0), ctx);
    REQUIRE(out.placed);
    CHECK(out.reason == reject_reason::none);
    CHECK(f.cluster.accepting(out.worker));
  }
}

TEST_CASE("placement contract: never picks a draining or removed worker") {
  for (const auto& info : policies()) {
    CAPTURE(info.name);
    fleet f(info, 6);
    f.cluster.drain(worker_slot{0});
    f.cluster.drain(worker_slot{2});
    f.cluster.remove_worker(worker_slot{3});
    auto p = info.make({});
    rng random(7);
    decision_context ctx{0, &random};
    for (std::uint64_t i = 0; i < 50; ++i) {
      auto out = p->place(f.cluster, make_query(f.cluster, i, 100, 50, 0), ctx);
      REQUIRE(out.placed);
      CHECK(f.cluster.accepting(out.worker));
      CHECK(out.worker.value != 0);
      CHECK(out.worker.value != 2);
      CHECK(out.worker.value != 3);
    }
  }
}

TEST_CASE("placement contract: the same seed gives the same decisions") {
  for (const auto& info : policies()) {
    CAPTURE(info.name);
    CHECK(run_workload(info, 42) == run_workload(info, 42));
  }
}

TEST_CASE("placement contract: outcomes are typed, with a reason exactly when not placed") {
  for (const auto& info : policies()) {
    CAPTURE(info.name);
    // Tiny KV: most queries cannot fit anywhere under SLO-aware policies.
    fleet f(info, 3, 3000);
    auto p = info.make({});
    rng random(3);
    decision_context ctx{0, &random};
    for (std::uint64_t i = 0; i < 40; ++i) {
      auto q = make_query(f.cluster, i, 1000, 500, 0);
      auto out = place_and_commit(f.cluster, *p, q, 500, ctx);
      if (out.placed) {
        CHECK(out.reason == reject_reason::none);
        CHECK(f.cluster.accepting(out.worker));
      } else {
        CHECK(out.reason != reject_reason::none);
        CHECK(out.reason != reject_reason::no_workers);
      }
    }
  }
}

TEST_CASE("placement contract: every policy is registered once under its own name") {
  std::set<std::string> names;
  for (const auto& info : policies()) {
    CHECK(names.insert(info.name).second);
    CHECK(info.make({})->name() == info.name);
    CHECK(find_policy(info.name) == &info);
  }
  for (const char* required : {"aladdin", "oracle", "jsq", "p2c", "rr", "least-kv", "vllm"})
    CHECK(names.count(required) == 1);
  CHECK(find_policy("no-such-policy") == nullptr);
  CHECK(find_policy("oracle")->uses_true_lengths);
  CHECK_FALSE(find_policy("aladdin")->uses_true_lengths);
  CHECK(find_policy("vllm")->pinned.default_shape);
  CHECK(find_policy("vllm")->pinned.batching == pinned_batching::chunked);
  CHECK(find_policy("vllm-v0")->pinned.default_shape);
  CHECK(find_policy("vllm-v0")->pinned.batching == pinned_batching::prefill_first);
  CHECK_FALSE(find_policy("aladdin")->pinned.default_shape);
  CHECK(find_policy("jsq")->pinned.batching == pinned_batching::as_measured);
}

namespace {

// The message make_policy throws with, or "" when it builds the policy.
std::string refusal(std::string_view name, const policy_config& config) {
  try {
    auto p = make_policy(name, config);
    return p ? "" : "null policy";
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("placement contract: policies are built by name from their own knobs") {
  for (const auto& info : policies()) {
    CAPTURE(info.name);
    CHECK(make_policy(info.name)->name() == info.name);
    // Nobody has this knob; the refusal says whose config it was, what, and what is accepted.
    const std::string why = refusal(info.name, {{"no-such-knob", "1"}});
    CHECK(contains(why, "'" + info.name + "'"));
    CHECK(contains(why, "'no-such-knob'"));
    CHECK(contains(why, "accepted knobs: "));
  }
  const std::string unknown = refusal("no-such-policy", {});
  CHECK(contains(unknown, "'no-such-policy'"));
  CHECK(contains(unknown, policy_names()));
  // Policies without knobs refuse aladdin's.
  for (const char* plain : {"jsq", "p2c", "rr", "least-kv", "vllm"}) {
    CAPTURE(plain);
    CHECK(contains(refusal(plain, {{"comfort-tightness", "0.9"}}), "accepted knobs: none"));
  }
  for (const char* name : {"aladdin", "oracle"}) {
    CAPTURE(name);
    for (const char* good : {"0.9", "1", "0.01", "1e-3"})
      CHECK(refusal(name, {{"comfort-tightness", good}}).empty());
    for (const char* bad : {"0", "-0.5", "1.5", "abc", "", "0.9x", " 0.9", "nan", "inf"}) {
      CAPTURE(bad);
      const std::string why = refusal(name, {{"comfort-tightness", bad}});
      CHECK(contains(why, "'comfort-tightness'"));
      CHECK(contains(why, "(0, 1]"));
      CHECK(contains(why, "accepted knobs: comfort-tightness"));
    }
    CHECK(contains(refusal(name, {{"comfort", "0.9"}}), "accepted knobs: comfort-tightness"));
  }
}

TEST_CASE("policy config: knob=value lists parse, and malformed entries are refused by name") {
  const policy_config c = parse_policy_config("comfort-tightness=0.9,other=x");
  CHECK(c.size() == 2);
  CHECK(c.at("comfort-tightness") == "0.9");
  CHECK(c.at("other") == "x");
  CHECK(parse_policy_config("").empty());
  CHECK_THROWS_WITH_AS(parse_policy_config("comfort-tightness"), "'comfort-tightness' is not knob=value",
                       std::invalid_argument);
  CHECK_THROWS_AS(parse_policy_config("=1"), std::invalid_argument);
  CHECK_THROWS_AS(parse_policy_config("a="), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_policy_config("a=1,a=2"), "knob 'a' is given twice", std::invalid_argument);
  CHECK_NOTHROW(make_policy("aladdin", parse_policy_config("comfort-tightness=0.9")));
}
