#pragma once
// A stand-in GPU worker for tests and the control-plane benchmark: one thread with a DEALER
// socket speaking the worker channel (schema/worker_channel.hpp). It registers, heartbeats,
// answers every assignment with a first token and a completion after configurable delays, and
// registers again when the node answers unknownWorker (as after a node restart).
//
// It is deliberately not the emulated worker (`aladdin worker --emulate`): it has no latency
// model. Tests that only need "a worker that answers" use it, so the real emulated worker can
// be swapped in where timing matters.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "schema/worker_channel.hpp"

namespace aladdin::test {

struct fake_worker_options {
  std::string endpoint;
  std::string name = "fake-1";
  std::string model = "llama2-70b";
  std::string gpu = "a100-80gb";
  std::uint16_t tp = 4;
  std::uint64_t kv_capacity_tokens = 0;  // 0: the node's stored profile
  double time_scale = 1;                 // sent in registerWorker; the node's must match
  std::uint32_t max_batched_tokens = 0;  // sent in registerWorker: 0 prefill-first, else chunked
  std::chrono::milliseconds heartbeat{100};
  std::chrono::milliseconds first_token_after{5};
  std::chrono::milliseconds complete_after{20};
  bool complete = true;  // false: hold every query (until set_completing(true))
};

class fake_worker {
 public:
  using clock = std::chrono::steady_clock;
  explicit fake_worker(fake_worker_options options);
  ~fake_worker();
  fake_worker(const fake_worker&) = delete;
  fake_worker& operator=(const fake_worker&) = delete;

  void start();
  // Closes the socket: to the node, the worker stops heartbeating (and everything else).
  void stop();
  void set_heartbeating(bool on) { heartbeating_.store(on); }
  void set_completing(bool on) { completing_.store(on); }

  bool registered() const { return worker_id_.load() != 0; }
  std::uint32_t worker_id() const { return worker_id_.load(); }
  std::size_t registrations() const { return registrations_.load(); }
  std::size_t assigned() const { return assigned_.load(); }
  std::size_t completed() const { return completed_.load(); }
  std::size_t cancelled() const { return cancelled_.load(); }
  std::size_t unknown_worker_errors() const { return unknown_worker_.load(); }
  // The detail of the last error reply other than unknownWorker (a refused registration, say).
  std::string last_error() const;
  std::vector<std::uint64_t> holding() const;
  // Every assignment seen, in order (query id, max output tokens).
  std::vector<worker_channel::assign_query> assignments() const;

  // Called on the worker's thread for every assignment, with its arrival time (benchmark).
  std::function<void(const worker_channel::assign_query&, clock::time_point)> on_assign;

 private:
  struct held {
    worker_channel::assign_query query;
    clock::time_point assigned_at;
    bool first_sent = false;
  };
  void run();

  fake_worker_options options_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> heartbeating_{true};
  std::atomic<bool> completing_;
  std::atomic<std::uint32_t> worker_id_{0};
  std::atomic<std::size_t> registrations_{0};
  std::atomic<std::size_t> assigned_{0};
  std::atomic<std::size_t> completed_{0};
  std::atomic<std::size_t> cancelled_{0};
  std::atomic<std::size_t> unknown_worker_{0};
  mutable std::mutex mutex_;
  std::string last_error_;  // guarded by mutex_
  std::map<std::uint64_t, held> held_;
  std::vector<worker_channel::assign_query> seen_;
};

}  // namespace aladdin::test
