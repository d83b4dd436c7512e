#pragma once
// The node's metrics, in the Prometheus text exposition format (prometheus-cpp's core: its
// registry, counters, gauges, histograms and text serializer; nothing of its HTTP side).
//
// Two kinds of series:
//   - events, fed as they happen: every frame to a client passes observe() (observing_outbox
//     below wraps the node's outbox, so no actor has to remember to count), placement times
//     its decisions, the intake its journal writes. Histograms and counters of these live in
//     one registry for the node's life.
//   - state, read when rendered: render() takes a node_stats snapshot (control_node::stats(),
//     which asks every actor) and writes gauges and the actors' own counters from it.
//
// Names (README.md, "Metrics", lists every one with its labels; config/grafana-dashboard.json
// uses them and a test checks that each one it references is exported):
//   aladdin_queries_total{outcome,reason}            accepted | rejected | finished | failed
//   aladdin_query_ttft_seconds                       histogram, model seconds
//   aladdin_query_time_per_output_token_seconds      histogram (ATGT), model seconds
//   aladdin_query_e2e_seconds                        histogram: ttft + atgt x (output - 1)
//   aladdin_query_output_tokens_total
//   aladdin_placement_decision_seconds               histogram, wall seconds per desk call
//   aladdin_journal_write_seconds                    histogram, wall seconds per batched write
//   aladdin_output_length_abs_error_tokens_total     Σ |expected at placement - observed|, with
//   aladdin_queries_judged_total, aladdin_queries_slo_met_total, aladdin_queries_slo_missed_total{slo}
//   aladdin_recent_attainment                        met both SLOs, of the last 1,000 judged
//   aladdin_waiting_queries, aladdin_workers{state,shape}, aladdin_worker_kv_used_tokens{worker,shape},
//   aladdin_worker_kv_capacity_tokens{worker,shape}, aladdin_worker_kv_usage_ratio{worker,shape},
//   aladdin_worker_queries{worker,shape,state}, aladdin_plan_epoch, aladdin_plan_target_workers{shape},
//   aladdin_placement_refusals_total{constraint}, aladdin_placements_total{kind},
//   aladdin_frames_total{direction}, aladdin_bad_frames_total, aladdin_draining
//
// Thread-safety: observe(), observe_placement() and observe_journal_write() may be called from any thread at once (prometheus-cpp's metrics are
// atomic or locked per series); render() may run on any thread concurrently with them and with
// itself.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/node/node_stats.hpp"
#include "actors/wire/outbox.hpp"

namespace prometheus {
class Registry;
}

namespace aladdin::node {

class node_metrics {
 public:
  node_metrics();
  ~node_metrics();
  node_metrics(const node_metrics&) = delete;
  node_metrics& operator=(const node_metrics&) = delete;

  // A frame on its way out: client replies are outcomes (and finished ones carry latencies).
  void observe(const outbound_frame& frame);
  void observe_placement(double wall_s);
  void observe_journal_write(double wall_s);

  // The exposition: every event series, then the state of `s` (shape: the node's worker shape
  // label, for the shape label of fleet-wide series; draining: whether intake is closed).
  std::string render(const node_stats& s, const std::string& shape, bool draining) const;
  // Every metric name render() can write (families, without _bucket/_sum/_count).
  static std::vector<std::string> names();

 private:
  struct events;
  std::unique_ptr<events> events_;
};

// Whether a frame tells a client its query ended (queryFinished or queryFailed).
bool ends_a_query(const outbound_frame& frame);

// The node's outbox with every frame shown to `metrics` first; `on_end` (optional) is called
// after a post that carried an end of a query (the drain waits on it).
class observing_outbox final : public outbox {
 public:
  observing_outbox(outbox& inner, node_metrics& metrics, std::function<void()> on_end = {})
      : inner_(inner), metrics_(metrics), on_end_(std::move(on_end)) {}
  void post(outbound_frame frame) override {
    metrics_.observe(frame);
    const bool ends = ends_a_query(frame);
    inner_.post(std::move(frame));
    if (ends && on_end_) on_end_();
  }
  void post_all(std::vector<outbound_frame>& frames) override {
    bool ends = false;
    for (const auto& f : frames) {
      metrics_.observe(f);
      ends = ends || ends_a_query(f);
    }
    inner_.post_all(frames);
    if (ends && on_end_) on_end_();
  }

 private:
  outbox& inner_;
  node_metrics& metrics_;
  std::function<void()> on_end_;
};

}  // namespace aladdin::node
