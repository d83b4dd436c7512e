#pragma once
// The way out of the node: actors post frames here from any scheduler thread; the bridge
// thread takes them, encodes them and sends them. ZeroMQ sockets are not thread-safe, so no
// actor ever touches one.
//
// `outbox` is the interface actors see (tests record what is posted). `wakeup_outbox` is the
// real one: a mutex-guarded queue plus an inproc PAIR socket that wakes the bridge's poll. The
// wake-up is sent only when the queue goes from empty to non-empty, so a burst of frames costs
// one wake-up, not one per frame.

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "actors/wire/messages.hpp"

namespace aladdin::node {

class outbox {
 public:
  virtual ~outbox() = default;
  virtual void post(outbound_frame frame) = 0;
  // Several frames under one lock; keeps their order.
  virtual void post_all(std::vector<outbound_frame>& frames) = 0;
};

class wakeup_outbox final : public outbox {
 public:
  // Connects to the PAIR socket the bridge has bound at `wake_endpoint` (inproc, same context).
  wakeup_outbox(zmq::context_t& context, const std::string& wake_endpoint);

  void post(outbound_frame frame) override;
  void post_all(std::vector<outbound_frame>& frames) override;

  // Bridge thread: moves every queued frame into `into` (which it clears first).
  void take(std::vector<outbound_frame>& into);
  // Frames taken so far, and the most ever queued at once (an observable of back-pressure).
  std::uint64_t taken() const { return taken_.load(std::memory_order_relaxed); }
  std::size_t high_water() const { return high_water_.load(std::memory_order_relaxed); }

 private:
  void wake_locked();

  std::mutex mutex_;
  std::vector<outbound_frame> queue_;
  zmq::socket_t wake_;
  std::atomic<std::uint64_t> taken_{0};
  std::atomic<std::size_t> high_water_{0};
};

// An outbox that keeps what is posted, for tests and for single-threaded use.
class recording_outbox final : public outbox {
 public:
  void post(outbound_frame frame) override {
    std::lock_guard lock(mutex_);
    frames_.push_back(std::move(frame));
  }
  void post_all(std::vector<outbound_frame>& frames) override {
    std::lock_guard lock(mutex_);
    for (auto& f : frames) frames_.push_back(std::move(f));
    frames.clear();
  }
  std::vector<outbound_frame> take() {
    std::lock_guard lock(mutex_);
    std::vector<outbound_frame> out;
    out.swap(frames_);
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<outbound_frame> frames_;
};

}  // namespace aladdin::node
