#include "actors/node/node_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace aladdin::node {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Buckets, in seconds. TTFT around SLOs of 0.2–10 s; time per output token around 20–200 ms;
// end to end up to minutes; a placement decision is microseconds; a journal write is tens of
// microseconds without fsync and milliseconds with it.
const Histogram::BucketBoundaries& ttft_buckets() {
  static const Histogram::BucketBoundaries b = {0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64};
  return b;
}
const Histogram::BucketBoundaries& tpot_buckets() {
  static const Histogram::BucketBoundaries b = {0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1};
  return b;
}
const Histogram::BucketBoundaries& e2e_buckets() {
  static const Histogram::BucketBoundaries b = {0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  return b;
}
const Histogram::BucketBoundaries& decision_buckets() {
  static const Histogram::BucketBoundaries b = {2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4,
                                                 5e-4,   1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1};
  return b;
}
const Histogram::BucketBoundaries& journal_buckets() {
  static const Histogram::BucketBoundaries b = {1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3,
                                                 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1};
  return b;
}

}  // namespace

// The event series: families registered once; labelled series created on first use.
struct node_metrics::events {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& queries =
      BuildCounter().Name("aladdin_queries_total").Help("Queries by outcome (accepted, rejected, finished, failed) and reason").Register(*registry);
  prometheus::Counter& accepted = queries.Add({{"outcome", "accepted"}, {"reason", ""}});
  prometheus::Counter& finished = queries.Add({{"outcome", "finished"}, {"reason", ""}});
  prometheus::Counter& output_tokens =
      BuildCounter().Name("aladdin_query_output_tokens_total").Help("Output tokens of finished queries").Register(*registry).Add({});
  Histogram& ttft = BuildHistogram().Name("aladdin_query_ttft_seconds").Help("Time to first token of finished queries (model seconds)")
                        .Register(*registry).Add({}, ttft_buckets());
  Histogram& tpot = BuildHistogram().Name("aladdin_query_time_per_output_token_seconds")
                        .Help("Average time per output token after the first (ATGT) of finished queries (model seconds)")
                        .Register(*registry).Add({}, tpot_buckets());
  Histogram& e2e = BuildHistogram().Name("aladdin_query_e2e_seconds")
                       .Help("End-to-end latency of finished queries, ttft + atgt x (output tokens - 1) (model seconds)")
                       .Register(*registry).Add({}, e2e_buckets());
  Histogram& decision = BuildHistogram().Name("aladdin_placement_decision_seconds")
                            .Help("Wall time of one placement desk call that decided a batch").Register(*registry)
                            .Add({}, decision_buckets());
  Histogram& journal = BuildHistogram().Name("aladdin_journal_write_seconds")
                           .Help("Wall time of one batched journal write at the intake (durable before queryAccepted)")
                           .Register(*registry).Add({}, journal_buckets());
  // One series per reason, made up front: every series is there (at 0) from the first scrape,
  // and a reply finds its counter by index, without Family::Add's label lookup under a lock.
  std::vector<prometheus::Counter*> rejected = series_of<client_channel::reject_code>(
      "rejected", static_cast<int>(client_channel::reject_code::over_context));
  std::vector<prometheus::Counter*> failed = series_of<client_channel::failure_code>(
      "failed", static_cast<int>(client_channel::failure_code::unschedulable));

  template <class Code>
  std::vector<prometheus::Counter*> series_of(const char* outcome, int last) {
    std::vector<prometheus::Counter*> out;
    for (int c = 0; c <= last; ++c)
      out.push_back(&queries.Add({{"outcome", outcome}, {"reason", client_channel::to_string(static_cast<Code>(c))}}));
    return out;
  }
};

bool ends_a_query(const outbound_frame& frame) {
  const auto* m = std::get_if<client_channel::message>(&frame.message);
  return frame.to == channel::client && m != nullptr &&
         (std::holds_alternative<client_channel::query_finished>(*m) ||
          std::holds_alternative<client_channel::query_failed>(*m));
}

node_metrics::node_metrics() : events_(std::make_unique<events>()) {}
node_metrics::~node_metrics() = default;

void node_metrics::observe(const outbound_frame& frame) {
  if (frame.to != channel::client) return;
  const auto* m = std::get_if<client_channel::message>(&frame.message);
  if (m == nullptr) return;
  events& e = *events_;
  if (std::holds_alternative<client_channel::query_accepted>(*m)) {
    e.accepted.Increment();
  } else if (const auto* r = std::get_if<client_channel::query_rejected>(m)) {
    e.rejected[static_cast<std::size_t>(r->reason)]->Increment();
  } else if (const auto* f = std::get_if<client_channel::query_failed>(m)) {
    e.failed[static_cast<std::size_t>(f->reason)]->Increment();
  } else if (const auto* d = std::get_if<client_channel::query_finished>(m)) {
    e.finished.Increment();
    e.output_tokens.Increment(d->output_tokens);
    const double ttft = static_cast<double>(d->ttft_micros) * 1e-6;
    const double atgt = static_cast<double>(d->atgt_micros) * 1e-6;
    e.ttft.Observe(ttft);
    if (d->output_tokens > 1) e.tpot.Observe(atgt);
    e.e2e.Observe(ttft + atgt * std::max(0.0, static_cast<double>(d->output_tokens) - 1));
  }
}

void node_metrics::observe_placement(double wall_s) { events_->decision.Observe(wall_s); }

void node_metrics::observe_journal_write(double wall_s) { events_->journal.Observe(wall_s); }

std::string node_metrics::render(const node_stats& s, const std::string& shape, bool draining) const {
  // The state series, from the snapshot, in a registry of this call.
  prometheus::Registry state;
  const auto u = [](std::uint64_t v) { return static_cast<double>(v); };
  BuildGauge().Name("aladdin_draining").Help("1 while the node drains (intake closed, /ready false)").Register(state)
      .Add({}).Set(draining ? 1 : 0);
  BuildGauge().Name("aladdin_waiting_queries").Help("Queries waiting at placement for a worker").Register(state).Add({})
      .Set(u(s.waiting));
  auto& workers = BuildGauge().Name("aladdin_workers").Help("Workers of the provisioner's roster by state and shape").Register(state);
  workers.Add({{"state", "launching"}, {"shape", shape}}).Set(s.fleet.launching);
  workers.Add({{"state", "active"}, {"shape", shape}}).Set(s.fleet.active);
  workers.Add({{"state", "draining"}, {"shape", shape}}).Set(s.fleet.draining);
  auto& kv_used = BuildGauge().Name("aladdin_worker_kv_used_tokens").Help("KV-cache tokens a worker's queries hold now").Register(state);
  auto& kv_cap = BuildGauge().Name("aladdin_worker_kv_capacity_tokens").Help("KV-cache capacity of a worker in tokens").Register(state);
  auto& kv_ratio = BuildGauge().Name("aladdin_worker_kv_usage_ratio").Help("KV-cache use of a worker, used / capacity").Register(state);
  auto& wq = BuildGauge().Name("aladdin_worker_queries").Help("Queries on a worker by state (running, queued)").Register(state);
  for (const worker_stats& w : s.worker_list) {
    const prometheus::Labels l = {{"worker", w.name}, {"shape", w.shape}};
    kv_used.Add(l).Set(w.kv_used_tokens);
    kv_cap.Add(l).Set(w.kv_capacity_tokens);
    kv_ratio.Add(l).Set(w.kv_capacity_tokens > 0 ? w.kv_used_tokens / w.kv_capacity_tokens : 0);
    wq.Add({{"worker", w.name}, {"shape", w.shape}, {"state", "running"}}).Set(w.running);
    wq.Add({{"worker", w.name}, {"shape", w.shape}, {"state", "queued"}}).Set(w.queued);
  }
  BuildGauge().Name("aladdin_plan_epoch").Help("Epoch of the plan in force").Register(state).Add({}).Set(u(s.plan.epoch));
  BuildGauge().Name("aladdin_plan_target_workers").Help("Workers the plan in force asks for, by shape").Register(state)
      .Add({{"shape", shape}}).Set(s.plan.workers);
  BuildGauge().Name("aladdin_provisioner_target_workers").Help("Workers the provisioner is asked to keep").Register(state)
      .Add({}).Set(s.fleet.target);
  auto& refusals = BuildCounter().Name("aladdin_placement_refusals_total")
                       .Help("Policy refusals by the constraint that excluded the most workers (kv: memory; ttft, atgt: compute)")
                       .Register(state);
  refusals.Add({{"constraint", "kv"}}).Increment(u(s.refused_kv));
  refusals.Add({{"constraint", "ttft"}}).Increment(u(s.refused_ttft));
  refusals.Add({{"constraint", "atgt"}}).Increment(u(s.refused_atgt));
  refusals.Add({{"constraint", "no_workers"}}).Increment(u(s.refused_no_workers));
  auto& placements = BuildCounter().Name("aladdin_placements_total").Help("Placements (placed; waited first; forced on an idle fleet)").Register(state);
  placements.Add({{"kind", "placed"}}).Increment(u(s.placed));
  placements.Add({{"kind", "waited"}}).Increment(u(s.waited));
  placements.Add({{"kind", "forced"}}).Increment(u(s.forced));
  BuildCounter().Name("aladdin_queries_judged_total").Help("Completed queries judged against their SLOs").Register(state)
      .Add({}).Increment(u(s.judged));
  BuildCounter().Name("aladdin_queries_slo_met_total").Help("Judged queries that met both their TTFT and ATGT SLOs")
      .Register(state).Add({}).Increment(u(s.slo_met));
  auto& missed = BuildCounter().Name("aladdin_queries_slo_missed_total").Help("Judged queries that missed an SLO, by SLO (one may miss both)")
                     .Register(state);
  missed.Add({{"slo", "ttft"}}).Increment(u(s.ttft_missed));
  missed.Add({{"slo", "atgt"}}).Increment(u(s.atgt_missed));
  BuildCounter().Name("aladdin_output_length_abs_error_tokens_total")
      .Help("Sum over judged queries of |output length expected at placement - observed|; divide by judged for the mean")
      .Register(state).Add({}).Increment(std::max(0.0, s.length_abs_error_tokens));
  BuildGauge().Name("aladdin_recent_attainment").Help("Fraction of the last 1000 judged queries that met both SLOs")
      .Register(state).Add({}).Set(s.recent_judged > 0 ? u(s.recent_met) / u(s.recent_judged) : 0);
  auto& frames = BuildCounter().Name("aladdin_frames_total").Help("Frames through the bridge").Register(state);
  frames.Add({{"direction", "in"}}).Increment(u(s.frames_in));
  frames.Add({{"direction", "out"}}).Increment(u(s.frames_out));
  BuildCounter().Name("aladdin_bad_frames_total").Help("Inbound frames that could not be decoded").Register(state).Add({})
      .Increment(u(s.bad_frames));

  std::vector<prometheus::MetricFamily> families = events_->registry->Collect();
  for (auto& f : state.Collect()) families.push_back(std::move(f));
  std::sort(families.begin(), families.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

std::vector<std::string> node_metrics::names() {
  node_metrics m;
  node_stats one;  // per-worker families are written only when there is a worker
  one.worker_list.push_back({"w", "shape", false, 0, 0, 0, 1});
  const std::string text = m.render(one, "", false);
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("# TYPE ", 0) == 0) out.push_back(line.substr(7, line.find(' ', 7) - 7));
  return out;
}

}  // namespace aladdin::node
