// Cost of a worker's heartbeat on the node's placement state: 1,000 Llama-2-70B TP4 workers
// (the built-in profile) with 64 running queries each in one cluster_state, heartbeats arriving
// round-robin, each listing all 64 running queries with a few more tokens (1 to 4, seeded).
// Every heartbeat is applied twice, to two copies of the same fleet: once as one batch
// (cluster_state::apply_progress: one rebuild) and once as the per-query calls the desk made
// before it (start_decoding + set_progress per query: one rebuild each). A query that reaches
// its true length completes after the heartbeat and a new one takes its place (not timed), so
// the fleet stays at 64 running queries per worker.
//
// The reported time is the batched heartbeat's. Counters: both times per heartbeat (µs), their
// ratio, and the node CPU share (cores) of each at ten heartbeats a second per worker, i.e. the
// time per heartbeat × 10,000 heartbeats/s.
//
//   ./build/aladdin_bench --benchmark_filter=heartbeat

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "model/builtin_profiles.hpp"
#include "placement/cluster_state.hpp"
#include "placement/length_source.hpp"
#include "predict/length_predictor.hpp"
#include "util/rng.hpp"

namespace {

using namespace aladdin;

constexpr int kWorkers = 1000;
constexpr int kRunning = 64;
constexpr double kHeartbeatsPerWorkerPerS = 10;
constexpr std::int64_t kHeartbeats = 20000;  // 20 per worker, 2 s of fleet time

struct live_query {
  query_id id;
  int input = 0;
  int output = 0;  // true length: it completes there
  int generated = 0;
};

class heartbeat_fleet {
 public:
  heartbeat_fleet() : random_(29) {
    for (int i = 0; i < 2000; ++i)
      predictor_.observe(draw_input(), draw_output());
    const worker_profile profile = *find_builtin_profile("llama2-70b", "a100-80gb", 4);
    queries_.resize(kWorkers);
    for (int w = 0; w < kWorkers; ++w) {
      const worker_slot slot = per_query_.add_worker(profile);
      batched_.add_worker(profile);
      for (int i = 0; i < kRunning; ++i) queries_[w].push_back(start(slot));
    }
  }

  // The heartbeat of the next worker in turn, applied both ways; returns the nanoseconds each
  // took as {per-query, batched}.
  std::pair<double, double> beat() {
    const worker_slot w{static_cast<std::uint32_t>(next_worker_)};
    next_worker_ = (next_worker_ + 1) % kWorkers;
    now_ += 1 / (kHeartbeatsPerWorkerPerS * kWorkers);
    auto& held = queries_[w.value];
    report_.clear();
    for (auto& q : held) {
      q.generated = std::min(q.output, q.generated + 1 + static_cast<int>(random_.below(4)));
      report_.push_back({q.id, q.generated});
    }

    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    for (const progress_report& r : report_) {
      per_query_.start_decoding(w, r.id, now_);
      per_query_.set_progress(w, r.id, r.generated_tokens, now_);
    }
    const auto t1 = clock::now();
    batched_.apply_progress(w, report_, now_);
    const auto t2 = clock::now();

    for (auto& q : held) {
      if (q.generated < q.output) continue;
      per_query_.complete(w, q.id, now_);
      batched_.complete(w, q.id, now_);
      q = start(w);
    }
    return {std::chrono::duration<double, std::nano>(t1 - t0).count(),
            std::chrono::duration<double, std::nano>(t2 - t1).count()};
  }

 private:
  int draw_input() { return 50 + static_cast<int>(random_.below(2500)); }
  int draw_output() { return 20 + static_cast<int>(random_.below(600)); }

  // A new query on w, in both copies, already past its first token.
  live_query start(worker_slot w) {
    live_query q{query_id{next_id_++}, draw_input(), draw_output(), 1};
    query_request r;
    r.id = q.id;
    r.input_tokens = q.input;
    r.arrival_s = now_;
    r.slo = {2.0, 0.1};
    r.expected_output_tokens = per_query_.expected_output({q.input, -1});
    for (cluster_state* c : {&per_query_, &batched_}) {
      c->assign(w, r, {q.input, -1}, now_);
      c->start_decoding(w, q.id, now_);
    }
    return q;
  }

  rng random_;
  length_predictor predictor_;
  predicted_lengths lengths_{predictor_};
  cluster_state per_query_{&lengths_};
  cluster_state batched_{&lengths_};
  std::vector<std::vector<live_query>> queries_;
  std::vector<progress_report> report_;
  std::uint64_t next_id_ = 0;
  int next_worker_ = 0;
  double now_ = 0;
};

void heartbeat(benchmark::State& state) {
  heartbeat_fleet fleet;
  double per_query_ns = 0, batched_ns = 0;
  for (auto _ : state) {
    const auto [per_query, batched] = fleet.beat();
    per_query_ns += per_query;
    batched_ns += batched;
    state.SetIterationTime(batched * 1e-9);
  }
  const double n = static_cast<double>(state.iterations());
  const double per_query_s = per_query_ns * 1e-9 / n, batched_s = batched_ns * 1e-9 / n;
  const double rate = kHeartbeatsPerWorkerPerS * kWorkers;
  state.counters["batched_us"] = batched_s * 1e6;
  state.counters["per_query_us"] = per_query_s * 1e6;
  state.counters["speedup"] = per_query_s / batched_s;
  state.counters["cpu_share_batched"] = batched_s * rate;
  state.counters["cpu_share_per_query"] = per_query_s * rate;
}

BENCHMARK(heartbeat)
    ->Name("heartbeat/1000x64")
    ->Iterations(kHeartbeats)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
