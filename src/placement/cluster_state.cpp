#include "placement/cluster_state.hpp"

#include <algorithm>

namespace aladdin {

cluster_state::cluster_state(const length_source* lengths, schedule_options options)
    : lengths_(lengths), options_(options) {}

worker_id cluster_state::add_worker(worker_profile profile) {
  const worker_id id{static_cast<std::uint32_t>(slots_.size())};
  slots_.push_back({std::make_unique<worker_schedule>(std::move(profile), lengths_, options_), true});
  accepting_.push_back(id);  // ids only grow, so the list stays sorted
  ++live_;
  return id;
}

bool cluster_state::exists(worker_id w) const {
  return w.value < slots_.size() && slots_[w.value].schedule != nullptr;
}

bool cluster_state::accepting(worker_id w) const {
  return exists(w) && slots_[w.value].accepting;
}

void cluster_state::drain(worker_id w) {
  if (!accepting(w)) return;
  slots_[w.value].accepting = false;
  accepting_.erase(std::lower_bound(accepting_.begin(), accepting_.end(), w));
}

void cluster_state::remove_worker(worker_id w) {
  if (!exists(w)) return;
  drain(w);
  slots_[w.value].schedule.reset();
  --live_;
}

}  // namespace aladdin
