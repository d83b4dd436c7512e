// The fleet simulator's intake: queries over the model's context are rejected and counted, and
// each query is judged by its own SLO when the trace carries one.

#include <doctest/doctest.h>

#include "model/builtin_profiles.hpp"
#include "sim/fleet_simulator.hpp"

using namespace aladdin;
using namespace aladdin::sim;

namespace {

simulation_config config(const std::string& policy) {
  simulation_config c;
  c.policy = policy;
  c.profile = *find_builtin_profile("llama2-70b", "a100-80gb", 4);
  c.truth = ground_truth::builtin("llama2-70b", "a100-80gb", 4);
  c.workers = 4;
  c.slo = {2.0, 0.1};
  return c;
}

trace light(int n) {
  trace t;
  for (int i = 0; i < n; ++i) t.push_back({i * 2.0, 200, 20});
  return t;
}

}  // namespace

TEST_CASE("fleet simulator: a query over the model's context is rejected at intake and left out of attainment") {
  trace t = light(10);
  t.push_back({21, 4000, 200});  // Llama-2-70B: 4,096 tokens of context
  t.push_back({22, 4000, 96});   // exactly 4,096: served
  for (const char* policy : {"aladdin", "jsq"}) {
    CAPTURE(policy);
    const simulation_result r = simulate(t, config(policy));
    CHECK(r.queries == 12);
    CHECK(r.over_context == 1);
    CHECK(r.finished == 11);
    CHECK(r.failed == 0);
    CHECK(r.finished + r.failed + r.unfinished + r.over_context == r.queries);
    CHECK(r.met_slo == 11);
    CHECK(r.attainment == 1.0);
  }
}

TEST_CASE("fleet simulator: a query's own SLO from the trace replaces the run's") {
  trace t = light(10);
  t[3].slo_ttft_s = 1e-4;  // no prefill is that fast
  t[6].slo_atgt_s = 1e-4;  // nor any decode
  t[8].slo_ttft_s = 100;   // looser than the run's: still met
  // jsq never refuses, so each query's latency is what an idle fleet gives it; only the SLO it
  // is judged by differs (aladdin would hold the impossible ones back and miss their TTFT too).
  const simulation_result r = simulate(t, config("jsq"));
  CHECK(r.finished == 10);
  CHECK(r.met_slo == 8);
  CHECK(r.missed_ttft == 1);
  CHECK(r.missed_atgt == 1);
}
