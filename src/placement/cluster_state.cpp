#include "placement/cluster_state.hpp"

#include <algorithm>

namespace aladdin {

cluster_state::cluster_state(const length_source* lengths, schedule_options options)
    : lengths_(lengths), options_(options) {}

worker_slot cluster_state::add_worker(worker_profile profile, worker_role role,
                                      std::optional<int> chunk_tokens) {
  const worker_slot id{static_cast<std::uint32_t>(slots_.size())};
  schedule_options options = options_;
  if (chunk_tokens) options.chunk_tokens = std::max(0, *chunk_tokens);
  // Workers of one shape share its model and calibration. A profile that differs from the
  // shape's first one under the same label gets a shape of its own; so does a batching regime
  // other than the fleet's.
  std::string base = profile.config.label() + (role == worker_role::decode_only ? "/decode" : "");
  if (options.chunk_tokens != options_.chunk_tokens)
    base += options.chunk_tokens > 0 ? "/chunk" + std::to_string(options.chunk_tokens) : "/prefill-first";
  std::string key = base;
  for (int k = 1;; ++k) {
    auto& slot_shape = shapes_[key];
    if (!slot_shape) {
      slot_shape = std::make_unique<worker_shape_model>();
      slot_shape->profile = std::move(profile);
      slot_shape->role = role;
      break;
    }
    const worker_profile& p = slot_shape->profile;
    if (p.prefill == profile.prefill && p.decode == profile.decode &&
        p.kv.capacity_tokens == profile.kv.capacity_tokens)
      break;
    key = base + "#" + std::to_string(k);
  }
  worker_shape_model* shape = shapes_[key].get();
  slots_.push_back({std::make_unique<worker_schedule>(shape, lengths_, options), true, shape});
  summaries_.push_back(slots_.back().schedule->summary());
  accepting_.push_back(id);  // ids only grow, so the list stays sorted
  index_.add(id, shape, summaries_.back());
  ++live_;
  return id;
}

bool cluster_state::exists(worker_slot w) const {
  return w.value < slots_.size() && slots_[w.value].schedule != nullptr;
}

bool cluster_state::accepting(worker_slot w) const {
  return exists(w) && slots_[w.value].accepting;
}

void cluster_state::drain(worker_slot w) {
  if (!accepting(w)) return;
  slots_[w.value].accepting = false;
  accepting_.erase(std::lower_bound(accepting_.begin(), accepting_.end(), w));
  index_.remove(w);
}

void cluster_state::remove_worker(worker_slot w) {
  if (!exists(w)) return;
  drain(w);
  slots_[w.value].schedule.reset();
  summaries_[w.value] = schedule_summary{};
  --live_;
}

void cluster_state::assign(worker_slot w, const query_request& q, const query_lengths& lengths,
                           double now) {
  slots_[w.value].schedule->add_queued(q, lengths, now);
  refresh(w);
}

void cluster_state::start_decoding(worker_slot w, query_id q, double now) {
  slots_[w.value].schedule->start_decoding(q, now);
  refresh(w);
}

void cluster_state::advance_decode(worker_slot w, int iterations, double now) {
  slots_[w.value].schedule->advance_decode(iterations, now);
  refresh(w);
}

void cluster_state::set_progress(worker_slot w, query_id q, int generated_tokens, double now) {
  slots_[w.value].schedule->set_progress(q, generated_tokens, now);
  refresh(w);
}

void cluster_state::apply_progress(worker_slot w, std::span<const progress_report> running,
                                   double now) {
  slots_[w.value].schedule->apply_progress(running, now);
  refresh(w);
}

void cluster_state::complete(worker_slot w, query_id q, double) {
  slots_[w.value].schedule->remove(q);
  refresh(w);
}

void cluster_state::observe_iteration(worker_slot w, int prefill_tokens, int prefill_sequences,
                                      int decode_sequences, double measured_s) {
  const worker_schedule& s = *slots_[w.value].schedule;
  latency_calibration* calibration = &slots_[w.value].shape->calibration;
  const worker_profile& p = s.profile();
  if (prefill_tokens == 0 && decode_sequences > 0) {
    const double predicted = p.decode.time(s.running_context_tokens(), decode_sequences);
    calibration->observe_decode(decode_sequences, predicted, measured_s);
  } else if (decode_sequences == 0 && prefill_tokens > 0 && prefill_sequences == 1) {
    calibration->observe_prefill(prefill_tokens, p.prefill.time_one(prefill_tokens), measured_s);
  } else if (decode_sequences == 0 && prefill_tokens > 0 && prefill_sequences > 1) {
    // Individual prompt sizes are not reported: equal prompts of the mean size stand in, each
    // predicted alone as the schedule predicts it (size-corrected).
    const double n = prefill_sequences;
    const double mean = prefill_tokens / n;
    const double singles = n * p.prefill.time_one(mean) * calibration->prefill_factor(mean);
    calibration->observe_prefill_batch(n, singles, measured_s);
  }
}

void cluster_state::set_margin(worker_slot w, const slo_margin& m) {
  worker_shape_model* shape = slots_[w.value].shape;
  if (shape->margin == m) return;
  shape->margin = m;
  for (std::size_t k = 0; k < slots_.size(); ++k) {
    if (slots_[k].shape != shape || !slots_[k].schedule) continue;
    slots_[k].schedule->refresh_margin();
    refresh(worker_slot{static_cast<std::uint32_t>(k)});
  }
}

}  // namespace aladdin
