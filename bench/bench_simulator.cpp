// Speed of the fleet simulator: simulated engine iterations and queries per second of wall time,
// per placement policy, on the built-in workload (20 q/s for 10 minutes on 24 TP4 workers).
// Compare policies in the same run: the simulator's own cost is the jsq row; what aladdin adds
// on top is its placement and schedule upkeep.
//
//   ./build/aladdin_bench --benchmark_filter=simulate

#include <benchmark/benchmark.h>

#include "model/builtin_profiles.hpp"
#include "placement/registry.hpp"
#include "sim/fleet_simulator.hpp"
#include "trace/builtin_workload.hpp"

namespace {

using namespace aladdin;

void simulate_policy(benchmark::State& state, const char* policy) {
  static const trace arrivals = generate_builtin_trace(20, 600, arrival_process::poisson(), 1);
  sim::simulation_config c;
  c.policy = policy;
  c.profile = *find_builtin_profile("llama2-70b", "a100-80gb", 4);
  c.truth = sim::ground_truth::builtin("llama2-70b", "a100-80gb", 4);
  c.workers = 24;
  std::uint64_t iterations = 0, queries = 0;
  for (auto _ : state) {
    const auto r = sim::simulate(arrivals, c);
    iterations += r.iterations;
    queries += r.queries;
    benchmark::DoNotOptimize(r.attainment);
  }
  state.counters["iterations_per_s"] =
      benchmark::Counter(static_cast<double>(iterations), benchmark::Counter::kIsRate);
  state.counters["queries_per_s"] =
      benchmark::Counter(static_cast<double>(queries), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(simulate_policy, jsq, "jsq")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(simulate_policy, aladdin, "aladdin")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(simulate_policy, oracle, "oracle")->Unit(benchmark::kMillisecond);

}  // namespace
