#include "actors/wire/outbox.hpp"

#include <algorithm>

namespace aladdin::node {

wakeup_outbox::wakeup_outbox(zmq::context_t& context, const std::string& wake_endpoint)
    : wake_(context, zmq::socket_type::pair) {
  wake_.set(zmq::sockopt::linger, 0);
  wake_.connect(wake_endpoint);
}

void wakeup_outbox::wake_locked() {
  // A full pipe means a wake-up is pending already: the bridge will see this frame too.
  try {
    (void)wake_.send(zmq::const_buffer("", 0), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // The context is terminating: the bridge is gone and nothing will be sent anyway.
  }
}

void wakeup_outbox::post(outbound_frame frame) {
  std::lock_guard lock(mutex_);
  const bool was_empty = queue_.empty();
  queue_.push_back(std::move(frame));
  if (queue_.size() > high_water_.load(std::memory_order_relaxed))
    high_water_.store(queue_.size(), std::memory_order_relaxed);
  if (was_empty) wake_locked();
}

void wakeup_outbox::post_all(std::vector<outbound_frame>& frames) {
  if (frames.empty()) return;
  std::lock_guard lock(mutex_);
  const bool was_empty = queue_.empty();
  if (was_empty) {
    queue_.swap(frames);
  } else {
    for (auto& f : frames) queue_.push_back(std::move(f));
  }
  frames.clear();
  if (queue_.size() > high_water_.load(std::memory_order_relaxed))
    high_water_.store(queue_.size(), std::memory_order_relaxed);
  if (was_empty) wake_locked();
}

void wakeup_outbox::take(std::vector<outbound_frame>& into) {
  into.clear();
  std::lock_guard lock(mutex_);
  into.swap(queue_);
  taken_.fetch_add(into.size(), std::memory_order_relaxed);
}

}  // namespace aladdin::node
