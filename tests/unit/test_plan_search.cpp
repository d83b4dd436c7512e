#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/builtin_profiles.hpp"
#include "placement/registry.hpp"
#include "placement/vllm_policy.hpp"
#include "sim/ceiling.hpp"
#include "sim/plan_search.hpp"
#include "trace/builtin_workload.hpp"

using namespace aladdin;
using namespace aladdin::sim;

namespace {

constexpr const char* kModel = "llama2-70b";
constexpr const char* kGpu = "a100-80gb";

// Small enough that a whole search over every policy takes a fraction of a second, busy enough
// that the answers are more than one worker.
const trace& small_workload() {
  static const trace t = generate_builtin_trace(3.0, 60, arrival_process::poisson(), 7);
  return t;
}

std::vector<plan_shape> builtin_plan_shapes() {
  std::vector<plan_shape> out;
  for (const worker_profile& p : builtin_shapes(kModel, kGpu))
    out.push_back({p, *ground_truth::builtin(kModel, kGpu, p.config.tp)});
  return out;
}

plan_search_options small_options(int threads) {
  plan_search_options o;
  o.policies = parse_policy_list(policy_names());
  o.slo = {2.0, 0.1};
  o.attainment_target = 0.95;
  o.max_gpus = 64;
  o.threads = threads;
  o.seed = 3;
  return o;
}

// The reports with one and two threads, computed once for the suite.
const plan_report& report_with(int threads) {
  static std::map<int, plan_report> reports;
  auto it = reports.find(threads);
  if (it == reports.end()) {
    const auto shapes = builtin_plan_shapes();
    it = reports
             .emplace(threads, search_plans(small_workload(), shapes, vllm_policy::default_tp(kModel, kGpu),
                                            small_options(threads)))
             .first;
  }
  return it->second;
}

simulation_result simulate_directly(const std::string& policy, int tp, int workers) {
  const plan_shape shape{*find_builtin_profile(kModel, kGpu, tp), *ground_truth::builtin(kModel, kGpu, tp)};
  const simulation_config c = probe_config(policy, shape, workers, small_options(1));
  return simulate(small_workload(), c);
}

// A made-up probe: attainment from a table by workers (1 when beyond it), one policy, one shape.
plan_probe table_probe(const std::map<int, double>& curve, int tp, int workers, std::size_t queries) {
  plan_probe p;
  p.gpus = workers * tp;
  auto it = curve.upper_bound(workers);
  p.attainment = it == curve.begin() ? 0.0 : std::prev(it)->second;
  p.met_slo = static_cast<std::size_t>(std::llround(p.attainment * static_cast<double>(queries)));
  // Distinct fingerprints unless the curve is flat there (a plateau identical run).
  p.iterations = p.met_slo;
  return p;
}

}  // namespace

TEST_CASE("--policies: known names in order; unknown, empty and repeated names are rejected") {
  CHECK(parse_policy_list("jsq, aladdin,vllm") == std::vector<std::string>{"jsq", "aladdin", "vllm"});
  CHECK(parse_policy_list(policy_names()).size() == policies().size());
  CHECK_THROWS_WITH_AS(parse_policy_list("aladdin,nope"), doctest::Contains("unknown policy 'nope'"),
                       std::invalid_argument);
  CHECK_THROWS_AS(parse_policy_list(""), std::invalid_argument);
  CHECK_THROWS_AS(parse_policy_list("jsq,,rr"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_policy_list("rr,rr"), doctest::Contains("twice"), std::invalid_argument);
}

// One process for everything that needs the small report: it is searched once per thread
// count (doctest re-enters the case for each subcase; the reports are cached).
TEST_CASE("plan search on a small synthetic workload") {
  SUBCASE("each reported N reaches the target and N - 1 does not, as the simulator says") {
    const plan_report& r = report_with(2);
    const double target = small_options(1).attainment_target;
    REQUIRE(r.policies.size() == policies().size());
    int checked_below = 0;
    for (const policy_plan& p : r.policies) {
      CAPTURE(p.policy);
      REQUIRE(p.reached);
      CHECK(p.result.gpus == p.result.workers * p.tp);
      const simulation_result at = simulate_directly(p.policy, p.tp, p.result.workers);
      CHECK(at.attainment >= target);
      CHECK(at.attainment == doctest::Approx(p.result.attainment));
      if (p.result.workers > 1) {
        CHECK(simulate_directly(p.policy, p.tp, p.result.workers - 1).attainment < target);
        ++checked_below;
      }
    }
    CHECK(checked_below > 0);  // the workload is big enough to need more than one worker somewhere
  }

  SUBCASE("vllm stays on its default shape; the others may use every built-in shape") {
    const plan_report& r = report_with(2);
    const int default_tp = *vllm_policy::default_tp(kModel, kGpu);
    CHECK(default_tp == 4);
    for (const policy_plan& p : r.policies) {
      CAPTURE(p.policy);
      if (p.policy == "vllm" || p.policy == "vllm-v0") {
        CHECK(p.fixed_shape);
        REQUIRE(p.shapes.size() == 1);
        CHECK(p.shapes[0].tp == default_tp);
        CHECK(p.tp == default_tp);
      } else {
        CHECK_FALSE(p.fixed_shape);
        CHECK(p.shapes.size() == builtin_shapes(kModel, kGpu).size());
      }
    }
  }

  SUBCASE("the report is the same with one thread and with two") {
    const plan_report& a = report_with(1);
    const plan_report& b = report_with(2);
    CHECK(a.simulations == b.simulations);
    REQUIRE(a.policies.size() == b.policies.size());
    for (std::size_t i = 0; i < a.policies.size(); ++i) {
      const policy_plan &x = a.policies[i], &y = b.policies[i];
      CAPTURE(x.policy);
      CHECK(x.tp == y.tp);
      CHECK(x.result.workers == y.result.workers);
      CHECK(x.result.attainment == y.result.attainment);
      CHECK(x.result.ttft_p99_s == y.result.ttft_p99_s);
      REQUIRE(x.shapes.size() == y.shapes.size());
      for (std::size_t s = 0; s < x.shapes.size(); ++s) {
        CHECK(x.shapes[s].outcome == y.shapes[s].outcome);
        REQUIRE(x.shapes[s].probes.size() == y.shapes[s].probes.size());
        for (std::size_t k = 0; k < x.shapes[s].probes.size(); ++k) {
          CHECK(x.shapes[s].probes[k].workers == y.shapes[s].probes[k].workers);
          CHECK(x.shapes[s].probes[k].met_slo == y.shapes[s].probes[k].met_slo);
          CHECK(x.shapes[s].probes[k].iterations == y.shapes[s].probes[k].iterations);
        }
      }
    }
    CHECK(render_svg(plan_chart(a, 0.95)) == render_svg(plan_chart(b, 0.95)));
  }

  SUBCASE("the fluid lower bound is at most every policy's GPUs") {
    const plan_report& r = report_with(2);
    REQUIRE(r.lower_bound.gpus.has_value());
    CHECK(*r.lower_bound.gpus >= 1);
    for (const policy_plan& p : r.policies) {
      CAPTURE(p.policy);
      CHECK(*r.lower_bound.gpus <= p.result.gpus);
      // Per shape too: no simulated success below that shape's bound.
      for (const shape_search& s : p.shapes)
        for (const plan_probe& probe : s.probes)
          for (const shape_bound& b : r.lower_bound.shapes)
            if (b.tp == s.tp && b.feasible && probe.attainment >= 0.95) CHECK(b.gpus <= probe.gpus);
    }
    REQUIRE(r.planner.gpus.has_value());
    // Over the queries within Llama-2-70B's context: the others are rejected at intake.
    const trace admitted = within_context(small_workload(), *find_model("llama2-70b"), nullptr);
    CHECK(r.queries == admitted.size());
    CHECK(r.planner.rate_qps == doctest::Approx(static_cast<double>(admitted.size()) /
                                                (admitted.back().arrival_s - admitted.front().arrival_s)));
  }

  SUBCASE("the chart: an <svg> root, one polyline per policy and the dashed target line") {
    const plan_report& r = report_with(2);
    const std::string svg = render_svg(plan_chart(r, 0.95));
    CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
    CHECK(svg.find("</svg>") != std::string::npos);
    std::size_t polylines = 0;
    for (auto at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++polylines;
    CHECK(polylines == r.policies.size());
    const auto target = svg.find("class=\"target\"");
    REQUIRE(target != std::string::npos);
    CHECK(svg.find("stroke-dasharray", target) != std::string::npos);
    CHECK(svg.find("target 0.95") != std::string::npos);
    for (const policy_plan& p : r.policies) CHECK(svg.find(">" + p.policy + " (") != std::string::npos);
    // Self-contained: no scripts, no external references.
    CHECK(svg.find("<script") == std::string::npos);
    CHECK(svg.find("href") == std::string::npos);
    CHECK(svg.find("@import") == std::string::npos);
  }
}

TEST_CASE("svg chart: text is escaped and degenerate charts still render") {
  line_chart c;
  c.title = "a < b & c";
  c.series.push_back({"x\"y", "#000", {{1, 0.5}}, marker_shape::square, false, {}});
  const std::string svg = render_svg(c);
  CHECK(svg.find("a &lt; b &amp; c") != std::string::npos);
  CHECK(svg.find("x&quot;y") != std::string::npos);
  CHECK(render_svg(line_chart{}).find("<svg") == 0);
}

// ---------------------------------------------------------------------------------------------
// The search on made-up curves.

namespace {

struct made_up {
  std::vector<size_search_policy> policies;
  std::vector<std::vector<std::map<int, double>>> curves;  // [policy][shape]: workers → attainment
  std::size_t queries = 1000;

  std::vector<policy_plan> run(plan_search_options o, std::size_t* probes = nullptr) const {
    auto probe = [this](std::size_t p, std::size_t s, int workers) {
      return table_probe(curves[p][s], policies[p].shapes[s].tp, workers, queries);
    };
    return search_sizes(policies, probe, queries, o, probes);
  }
};

plan_search_options target(double t, int max_gpus = 1024) {
  plan_search_options o;
  o.attainment_target = t;
  o.max_gpus = max_gpus;
  return o;
}

}  // namespace

TEST_CASE("search: a monotone curve gives the first N that reaches the target") {
  for (const int start : {1, 5, 13, 40}) {
    for (const int answer : {1, 2, 13, 37}) {
      CAPTURE(start);
      CAPTURE(answer);
      made_up m;
      m.policies = {{"p", false, {{4, 1, start}}}};
      std::map<int, double> curve;
      for (int n = 1; n < 80; ++n) curve[n] = n < answer ? 0.5 + 0.4 * n / answer : 0.99 + 0.0001 * n;
      m.curves = {{curve}};
      const auto r = m.run(target(0.99));
      REQUIRE(r.size() == 1);
      CHECK(r[0].reached);
      CHECK(r[0].result.workers == answer);
      CHECK(r[0].result.gpus == 4 * answer);
      CHECK(r[0].shapes[0].outcome == search_outcome::found);
      // N − 1 was simulated and failed (zero workers need no simulation).
      bool below = answer == 1;
      for (const auto& p : r[0].shapes[0].probes) below |= p.workers == answer - 1 && p.attainment < 0.99;
      CHECK(below);
    }
  }
}

TEST_CASE("search: an assumed floor that is wrong is walked down and then bisected") {
  made_up m;
  m.policies = {{"p", false, {{1, 10, 12}}}};  // the floor says 10, the curve meets from 3
  std::map<int, double> curve;
  for (int n = 1; n < 40; ++n) curve[n] = n < 3 ? 0.2 : 0.995;
  m.curves = {{curve}};
  const auto r = m.run(target(0.99));
  CHECK(r[0].reached);
  CHECK(r[0].result.workers == 3);
}

TEST_CASE("search: a plateau stops the search, and a dip below it is rescued") {
  made_up m;
  m.policies = {{"p", false, {{4, 1, 4}}}};
  // Like a packing policy: 5 workers force it to spread and it meets the target; with 7 or more
  // it leaves the rest idle and every run is the same.
  m.curves = {{{{1, 0.1}, {2, 0.5}, {3, 0.9}, {4, 0.983}, {5, 0.9912}, {6, 0.9854}, {7, 0.985}}}};
  std::size_t probes = 0;
  const auto r = m.run(target(0.99), &probes);
  CHECK(r[0].reached);
  CHECK(r[0].result.workers == 5);
  CHECK(probes < 10);

  // Without the dip the search gives up at the plateau, far below the limit.
  m.curves = {{{{1, 0.1}, {2, 0.5}, {3, 0.9}, {4, 0.983}, {5, 0.984}, {6, 0.9854}, {7, 0.985}}}};
  const auto flat = m.run(target(0.99), &probes);
  CHECK_FALSE(flat[0].reached);
  CHECK(flat[0].shapes[0].outcome == search_outcome::plateau);
  CHECK(flat[0].result.workers < 100);
  CHECK(probes < 12);
}

TEST_CASE("search: never reached reports the largest fleet tried, at the limit") {
  made_up m;
  m.policies = {{"p", false, {{8, 1, 2}}}};
  std::map<int, double> curve;
  for (int n = 1; n <= 300; ++n) curve[n] = 0.5 + 0.3 * n / 300.0;  // rises, never to 0.99
  m.curves = {{curve}};
  const auto r = m.run(target(0.99, 256));
  CHECK_FALSE(r[0].reached);
  CHECK(r[0].shapes[0].outcome == search_outcome::not_reached);
  CHECK(r[0].result.workers == 32);  // 256 GPUs / TP8
  CHECK(r[0].result.gpus == 256);
}

TEST_CASE("search: the best shape has the fewest GPUs; losing shapes are pruned in one run") {
  made_up m;
  // TP4 meets from 10 workers (40 GPUs, the lead), TP8 from 6 (48), TP2 from 20 (40, higher
  // attainment: wins the tie).
  auto step = [](int from, double top) {
    std::map<int, double> c;
    for (int n = 1; n < 100; ++n) c[n] = n < from ? 0.9 * n / from : top;
    return c;
  };
  m.policies = {{"p", false, {{4, 1, 8}, {8, 1, 4}, {2, 1, 15}}}};
  m.curves = {{step(10, 0.992), step(6, 0.999), step(20, 0.995)}};
  std::size_t probes = 0;
  const auto r = m.run(target(0.99), &probes);
  CHECK(r[0].reached);
  CHECK(r[0].tp == 2);
  CHECK(r[0].result.gpus == 40);
  REQUIRE(r[0].shapes.size() == 3);
  CHECK(r[0].shapes[0].tp == 2);  // reported in increasing TP
  CHECK(r[0].shapes[2].tp == 8);
  CHECK(r[0].shapes[2].outcome == search_outcome::pruned);
  CHECK(r[0].shapes[2].probes.size() == 1);  // tried at 5 workers (40 GPUs) only
}

TEST_CASE("search: the same answers with any number of threads") {
  made_up m;
  for (int p = 0; p < 5; ++p) {
    m.policies.push_back({"p" + std::to_string(p), false, {{2, 1, 3 + p}, {4, 1, 2}}});
    std::map<int, double> a, b;
    for (int n = 1; n < 200; ++n) {
      a[n] = std::min(0.999, 0.2 + n * (0.02 + 0.003 * p) + 0.004 * ((n * 7 + p) % 3));  // wobbly
      b[n] = std::min(0.999, 0.1 + n * (0.05 - 0.004 * p));
    }
    m.curves.push_back({a, b});
  }
  std::size_t probes1 = 0, probes3 = 0;
  auto o = target(0.98);
  o.threads = 1;
  const auto one = m.run(o, &probes1);
  o.threads = 3;
  const auto three = m.run(o, &probes3);
  CHECK(probes1 == probes3);
  for (std::size_t i = 0; i < one.size(); ++i) {
    CHECK(one[i].tp == three[i].tp);
    CHECK(one[i].result.workers == three[i].result.workers);
    for (std::size_t s = 0; s < one[i].shapes.size(); ++s)
      CHECK(one[i].shapes[s].probes.size() == three[i].shapes[s].probes.size());
  }
}

TEST_CASE("search: options out of range are rejected") {
  made_up m;
  m.policies = {{"p", false, {{4, 1, 1}}}};
  m.curves = {{{{1, 1.0}}}};
  CHECK_THROWS_AS(m.run(target(0)), std::invalid_argument);
  CHECK_THROWS_AS(m.run(target(1.5)), std::invalid_argument);
  auto o = target(0.9);
  o.threads = 0;
  CHECK_THROWS_AS(m.run(o), std::invalid_argument);
  CHECK(m.run(target(1.0))[0].result.workers == 1);
}

// ---------------------------------------------------------------------------------------------
// The fluid bound by hand.

namespace {

worker_profile round_profile(double kv_tokens = 1e9) {
  worker_profile p;
  p.config = {"m", "g", 2};
  p.prefill = {1e-3, 0, 0, 0};      // 100 tokens: 0.1 s
  p.decode = {0, 1e-3, 0.02};       // an iteration of B: 0.02 + 0.001·B
  p.kv.capacity_tokens = kv_tokens;
  return p;
}

// n identical queries (100 in, 11 out), one every 1/rate seconds.
trace even_trace(int n, double rate, int input = 100, int output = 11) {
  trace t;
  for (int i = 0; i < n; ++i) t.push_back({i / rate, input, output});
  return t;
}

}  // namespace

TEST_CASE("fluid bound: the work at the ATGT-limited batch, over the busiest window") {
  const slo_target slo{2.0, 0.1};
  const std::vector<worker_profile> profiles{round_profile()};
  // Per query: prefill 0.1 s; 10 decode iterations at B* = (0.1 − 0.02)/0.001 = 80:
  // 10 × (0.001 + 0.02/80) = 0.0125 s. With evenly spaced queries the whole trace is the
  // busiest window: from the first arrival to the last deadline (arrival + 2 + 0.1 × 10).
  const trace t = even_trace(1000, 100);
  const double span = 999 / 100.0 + 3.0;
  const fluid_bound all = fluid_lower_bound(t, profiles, slo, 1.0, serving_mode::prefill_first, 256);
  REQUIRE(all.shapes.size() == 1);
  CHECK(all.shapes[0].feasible);
  CHECK(all.shapes[0].forced_misses == 0);
  CHECK(all.shapes[0].lambda == 1.0);  // KV is plentiful: compute binds
  CHECK(all.shapes[0].workers == doctest::Approx(1000 * 0.1125 / span));
  CHECK(all.gpus == 2 * static_cast<int>(std::ceil(1000 * 0.1125 / span)));

  // 99%: the adversary drops 10 queries.
  const fluid_bound most = fluid_lower_bound(t, profiles, slo, 0.99, serving_mode::prefill_first, 256);
  CHECK(most.shapes[0].workers == doctest::Approx(990 * 0.1125 / span));

  // Chunked: only the per-token prefill term (here all of it) — the same.
  const fluid_bound chunked = fluid_lower_bound(t, profiles, slo, 1.0, serving_mode::chunked, 256);
  CHECK(chunked.shapes[0].workers == doctest::Approx(all.shapes[0].workers));

  // max_num_seqs caps the batch: B = 10 gives 10 × (0.001 + 0.002) = 0.03 s of decode.
  const fluid_bound capped = fluid_lower_bound(t, profiles, slo, 1.0, serving_mode::prefill_first, 10);
  CHECK(capped.shapes[0].workers == doctest::Approx(1000 * 0.13 / span));
}

TEST_CASE("fluid bound: a burst sets the bound, not the average") {
  const slo_target slo{2.0, 0.1};
  const std::vector<worker_profile> profiles{round_profile()};
  trace t = even_trace(200, 100);                       // 2 s of burst
  for (int i = 1; i <= 100; ++i) t.push_back({2.0 + 10.0 * i, 100, 11});  // then a trickle
  const fluid_bound b = fluid_lower_bound(t, profiles, slo, 1.0, serving_mode::prefill_first, 256);
  const double whole = 300 * 0.1125 / (1003.0 + 3.0);
  CHECK(b.shapes[0].workers > 5 * whole);
  CHECK(b.shapes[0].window_end_s < 10);
}

TEST_CASE("fluid bound: scarce KV raises it; impossible queries are forced misses") {
  const slo_target slo{2.0, 0.1};
  const trace t = even_trace(1000, 100);
  const fluid_bound plenty = fluid_lower_bound(t, std::vector{round_profile()}, slo, 1.0, serving_mode::prefill_first, 256);
  const fluid_bound scarce = fluid_lower_bound(t, std::vector{round_profile(150)}, slo, 1.0, serving_mode::prefill_first, 256);
  CHECK(scarce.shapes[0].lambda < 1.0);
  CHECK(scarce.shapes[0].workers > plenty.shapes[0].workers);

  // A prompt whose prefill alone exceeds the TTFT SLO (3,000 tokens: 3 s) can never be met.
  trace mixed = even_trace(100, 10);
  for (int i = 0; i < 5; ++i) mixed[static_cast<std::size_t>(i) * 20].input_tokens = 3000;
  const auto profiles = std::vector{round_profile()};
  const fluid_bound tolerant = fluid_lower_bound(mixed, profiles, slo, 0.95, serving_mode::prefill_first, 256);
  CHECK(tolerant.shapes[0].forced_misses == 5);
  CHECK(tolerant.shapes[0].feasible);
  const fluid_bound strict = fluid_lower_bound(mixed, profiles, slo, 0.99, serving_mode::prefill_first, 256);
  CHECK_FALSE(strict.shapes[0].feasible);
  CHECK_FALSE(strict.gpus.has_value());
}

TEST_CASE("plan search over topologies: each policy keeps its best batching; pinned ones run as shipped") {
  const auto shapes = builtin_plan_shapes();
  plan_search_options o = small_options(2);
  o.policies = {"aladdin", "jsq", "vllm", "vllm-v0"};
  const std::vector<serving_mode> modes{serving_mode::prefill_first, serving_mode::chunked};
  const plan_report both = search_topologies(small_workload(), shapes, vllm_policy::default_tp(kModel, kGpu), o, modes);
  o.mode = serving_mode::chunked;
  const plan_report chunked = search_plans(small_workload(), shapes, vllm_policy::default_tp(kModel, kGpu), o);
  const plan_report& prefill_first = report_with(2);  // every policy, prefill-first
  REQUIRE(both.policies.size() == 4);
  for (const policy_plan& p : both.policies) {
    CAPTURE(p.policy);
    const auto in = [&](const plan_report& r) {
      for (const policy_plan& q : r.policies)
        if (q.policy == p.policy) return q;
      FAIL("policy missing");
      return policy_plan{};
    };
    const policy_plan a = in(prefill_first), b = in(chunked);
    REQUIRE(p.reached);
    CHECK(p.result.gpus == std::min(a.reached ? a.result.gpus : 1 << 30, b.reached ? b.result.gpus : 1 << 30));
    if (p.policy == "vllm") CHECK(p.mode == serving_mode::chunked);
    if (p.policy == "vllm-v0") CHECK(p.mode == serving_mode::prefill_first);
  }
  CHECK_THROWS_AS(search_topologies(small_workload(), shapes, 4, o, {}), std::invalid_argument);
}
