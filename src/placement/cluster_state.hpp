#pragma once
// The fleet as placement sees it: one worker_schedule per worker, which workers take new
// queries, and the length source every schedule predicts with. Owned by whoever drives the
// fleet (the simulator, or the control plane's actors), updated as workers report, and passed
// to policies read-only.

#include <map>
#include <memory>
#include <string>
#include <optional>
#include <span>
#include <vector>

#include "placement/headroom_index.hpp"
#include "placement/worker_schedule.hpp"

namespace aladdin {

class cluster_state {
 public:
  explicit cluster_state(const length_source* lengths, schedule_options options = {});

  // `chunk_tokens`: the worker's own batching when it differs from the fleet's options (a worker
  // says its engine's at registration): its chunked-prefill budget, 0 for prefill-first. Its
  // schedule is planned in that regime, and workers of one profile in different regimes are
  // separate shapes (their margins learn different errors).
  worker_slot add_worker(worker_profile profile, worker_role role = worker_role::unified,
                         std::optional<int> chunk_tokens = std::nullopt);
  // A draining worker keeps its queries but takes no new ones.
  void drain(worker_slot w);
  // The worker is gone; whatever it held is the caller's to re-place or fail.
  void remove_worker(worker_slot w);

  bool exists(worker_slot w) const;
  bool accepting(worker_slot w) const;
  // Workers that take new queries, in increasing id (the tie-break order of every policy).
  std::span<const worker_slot> accepting_workers() const { return accepting_; }
  std::size_t worker_count() const { return live_; }

  const worker_schedule& at(worker_slot w) const { return *slots_[w.value].schedule; }
  // Screening numbers of a worker, kept in one contiguous array so a policy can scan thousands
  // of workers without touching their query lists.
  const schedule_summary& summary(worker_slot w) const { return summaries_[w.value]; }
  // The accepting workers indexed by headroom (headroom_index.hpp), kept current with their
  // summaries.
  const headroom_index& headroom() const { return index_; }

  // --- what workers report; each keeps the worker's schedule and summary current -------------
  void assign(worker_slot w, const query_request& q, const query_lengths& lengths, double now);
  void start_decoding(worker_slot w, query_id q, double now);
  void advance_decode(worker_slot w, int iterations, double now);
  void set_progress(worker_slot w, query_id q, int generated_tokens, double now);
  // A heartbeat of worker w (see worker_schedule::apply_progress): one rebuild, one refresh.
  void apply_progress(worker_slot w, std::span<const progress_report> running, double now);
  void complete(worker_slot w, query_id q, double now);
  // A finished engine iteration and how long it really took: calibrates the latency model of
  // the worker's shape (see model/calibration.hpp). Mixed (chunked) iterations are not used.
  void observe_iteration(worker_slot w, int prefill_tokens, int prefill_sequences,
                         int decode_sequences, double measured_s);
  const latency_calibration& calibration(worker_slot w) const { return summaries_[w.value].shape->calibration; }
  // The planning margin of w's shape (see slo_feedback.hpp), and a new one: every schedule of
  // that shape works its budgets out again.
  const slo_margin& margin(worker_slot w) const { return slots_[w.value].shape->margin; }
  void set_margin(worker_slot w, const slo_margin& m);
  // The shape of w: workers that share one share its calibration and margin.
  const worker_shape_model* shape_of(worker_slot w) const { return slots_[w.value].shape; }

  const length_source& lengths() const { return *lengths_; }
  const schedule_options& options() const { return options_; }

  // The expected output length of a new query, as the length source sees it: what every
  // policy is given in query_request::expected_output_tokens.
  double expected_output(const query_lengths& q) const { return lengths_->expected_total(q); }

 private:
  struct slot {
    std::unique_ptr<worker_schedule> schedule;
    bool accepting = false;
    worker_shape_model* shape = nullptr;  // owned by shapes_
  };
  const length_source* lengths_;
  schedule_options options_;
  void refresh(worker_slot w) {
    summaries_[w.value] = slots_[w.value].schedule->summary();
    index_.update(w, summaries_[w.value]);
  }

  std::vector<slot> slots_;
  std::vector<schedule_summary> summaries_;
  std::vector<worker_slot> accepting_;
  headroom_index index_;  // of accepting_
  std::map<std::string, std::unique_ptr<worker_shape_model>> shapes_;  // by shape label
  std::size_t live_ = 0;
};

}  // namespace aladdin
