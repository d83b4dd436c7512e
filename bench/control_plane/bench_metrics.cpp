// What the node's metrics cost on the path every client reply takes: the observing outbox
// (actors/node/node_metrics.hpp) in front of an outbox, against the same outbox alone, in one
// run (Google Benchmark); and one scrape (render) of a node with N workers.
//
//   ./build/aladdin_bench_metrics
//
// Read the ratio of BM_post_observed to BM_post_plain for a frame kind (the metrics' share of a
// post), not the absolute times: the machine is shared.

#include <benchmark/benchmark.h>

#include "actors/node/node_metrics.hpp"

using namespace aladdin;
using namespace aladdin::node;
namespace cc = aladdin::client_channel;

namespace {

// An outbox that drops what it is given (the cost of queueing is not what is measured).
class null_outbox final : public outbox {
 public:
  void post(outbound_frame frame) override { benchmark::DoNotOptimize(frame); }
  void post_all(std::vector<outbound_frame>& frames) override { frames.clear(); }
};

outbound_frame frame_of(int kind) {
  switch (kind) {
    case 0: return outbound_frame::client("client-1", cc::query_accepted{1, 2});
    case 1: return outbound_frame::client("client-1", cc::query_finished{2, 200, 300000, 40000});
    default: return outbound_frame::client("client-1", cc::query_rejected{3, cc::reject_code::overloaded, "busy"});
  }
}

void BM_post_plain(benchmark::State& state) {
  null_outbox inner;
  const outbound_frame f = frame_of(static_cast<int>(state.range(0)));
  for (auto _ : state) inner.post(f);
}

void BM_post_observed(benchmark::State& state) {
  null_outbox inner;
  node_metrics metrics;
  observing_outbox out(inner, metrics);
  const outbound_frame f = frame_of(static_cast<int>(state.range(0)));
  for (auto _ : state) out.post(f);
}

void BM_render(benchmark::State& state) {
  node_metrics metrics;
  node_stats s;
  for (int i = 0; i < state.range(0); ++i)
    s.worker_list.push_back({"worker-" + std::to_string(i), "llama2-70b/a100-80gb/tp4", false, 8, 2, 40000, 500000});
  for (auto _ : state) benchmark::DoNotOptimize(metrics.render(s, "llama2-70b/a100-80gb/tp4", false));
}

}  // namespace

// 0: queryAccepted, 1: queryFinished (three histograms), 2: queryRejected (a labelled series).
BENCHMARK(BM_post_plain)->Arg(0)->Arg(1)->Arg(2);
BENCHMARK(BM_post_observed)->Arg(0)->Arg(1)->Arg(2);
BENCHMARK(BM_render)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK_MAIN();
