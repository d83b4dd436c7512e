// Cost of one placement decision for every policy, at 100, 1,000 and 10,000 workers, each worker
// holding tens of running queries at different stages (the state placement sees in a busy
// fleet). Decisions are not committed, so every iteration sees the same fleet; the query's
// prompt length varies so branches are not all predicted perfectly.
//
// Prints Google Benchmark's table, then each policy's time as a ratio of jsq's in the same run,
// and aladdin's cost at 10,000 workers as a ratio of its cost at 1,000, through the headroom
// index (the policy as registered) and with the linear search over every worker
// (place/aladdin-linear, aladdin_policy_options::use_index off), in the same run.
//
//   ./build/aladdin_bench [--benchmark_filter=place/aladdin]

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "placement/aladdin_policy.hpp"
#include "placement/registry.hpp"

using namespace aladdin;

namespace {

worker_profile bench_profile() {
  // Llama-2-70B on four A100s, rounded (the built-in profile's order of magnitude).
  worker_profile p;
  p.config = {"llama2-70b", "a100-80gb", 4};
  p.prefill = {2.1e-4, 1.2e-8, 0.02, 0.01};
  p.decode = {2.2e-7, 1.8e-4, 0.044};
  p.kv.bytes_per_token = 327680;
  p.kv.capacity_tokens = 520000;
  return p;
}

struct fleet {
  fixed_lengths lengths{220};
  true_lengths truth;
  std::unique_ptr<cluster_state> cluster;

  fleet(int workers, bool oracle) {
    cluster = std::make_unique<cluster_state>(oracle ? static_cast<const length_source*>(&truth)
                                                     : &lengths);
    rng random(7);
    std::uint64_t next_id = 0;
    for (int w = 0; w < workers; ++w) {
      const worker_slot id = cluster->add_worker(bench_profile());
      const int running = 20 + static_cast<int>(random.below(21));  // 20..40 per worker
      double now = 0;
      for (int i = 0; i < running; ++i) {
        query_request q;
        q.id = query_id{next_id++};
        q.input_tokens = 200 + static_cast<int>(random.below(2000));
        q.slo = {2.0, 0.1};
        const int output = 20 + static_cast<int>(random.below(600));
        q.expected_output_tokens = cluster->expected_output({q.input_tokens, output});
        cluster->assign(id, q, {q.input_tokens, output}, now);
        cluster->start_decoding(id, q.id, now);
        cluster->advance_decode(id, static_cast<int>(random.below(8)), now += 0.3);
      }
    }
  }
};

void run_decisions(benchmark::State& state, const fleet& f, placement_policy& policy);

void place(benchmark::State& state, const policy_info* info) {
  const int workers = static_cast<int>(state.range(0));
  fleet f(workers, info->uses_true_lengths);
  auto policy = make_policy(info->name);
  run_decisions(state, f, *policy);
}

// aladdin screening every worker (the search before the headroom index).
void place_linear(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  fleet f(workers, false);
  aladdin_policy policy("aladdin", {aladdin_policy_options{}.comfort_tightness, false});
  run_decisions(state, f, policy);
}

void run_decisions(benchmark::State& state, const fleet& f, placement_policy& policy) {
  rng random(1);
  decision_context ctx{12.0, &random};
  std::uint64_t i = 0;
  std::int64_t placed = 0;
  for (auto _ : state) {
    query_request q;
    q.id = query_id{1u << 30 | i};
    q.input_tokens = 100 + static_cast<int>((i * 7919) % 3000);
    q.arrival_s = 12.0;
    q.slo = {2.0, 0.1};
    q.expected_output_tokens = 220;
    auto out = policy.place(*f.cluster, q, ctx);
    placed += out.placed;
    benchmark::DoNotOptimize(out);
    ++i;
  }
  state.counters["placed_fraction"] =
      benchmark::Counter(static_cast<double>(placed) / static_cast<double>(state.iterations()));
}

// Collects per-run times so that ratios against jsq can be printed after the table.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      ns_[r.benchmark_name()] = r.GetAdjustedRealTime();
    }
  }
  void print_ratios() const {
    std::printf("\nper-decision time relative to jsq in this run (lower is faster):\n");
    for (int workers : {100, 1000, 10000}) {
      const auto base = ns_.find("place/jsq/" + std::to_string(workers));
      if (base == ns_.end()) continue;
      std::printf("  %6d workers:", workers);
      for (const auto& p : policies()) {
        const auto it = ns_.find("place/" + p.name + "/" + std::to_string(workers));
        if (it != ns_.end()) std::printf("  %s %.2fx", p.name.c_str(), it->second / base->second);
      }
      std::printf("\n");
    }
    std::printf("\naladdin at 10,000 workers over 1,000 (same run):");
    for (const char* name : {"place/aladdin", "place/aladdin-linear"}) {
      const auto small = ns_.find(std::string(name) + "/1000"), large = ns_.find(std::string(name) + "/10000");
      if (small == ns_.end() || large == ns_.end()) continue;
      std::printf("  %s %.2fx (%.2f us → %.2f us)", name + 6, large->second / small->second, small->second,
                  large->second);
    }
    std::printf("\n");
  }

 private:
  std::map<std::string, double> ns_;
};

}  // namespace

int main(int argc, char** argv) {
  for (const auto& p : policies()) {
    benchmark::RegisterBenchmark(("place/" + p.name).c_str(), place, &p)
        ->Arg(100)
        ->Arg(1000)
        ->Arg(10000)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("place/aladdin-linear", place_linear)
      ->Arg(100)
      ->Arg(1000)
      ->Arg(10000)
      ->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
