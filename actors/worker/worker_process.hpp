#pragma once
// A worker's transport: one channel_driver (the emulated worker's core, or the engine agent) on
// a ZeroMQ DEALER connected to the control node's ROUTER, driven by the system clock.
//
// The loop waits in zmq::poll (no draft API in libzmq 4.3: no zmq::poller_t) until the core's
// next wake-up (the end of the engine's current iteration, the next heartbeat or registration
// retry) or until the driver's wake_fd() turns readable (the engine agent's HTTP answers), at
// most max_poll_wait so that a stop request is seen promptly, then reads every waiting frame,
// advances the driver to the clock and sends what it produced.
//
// Socket: routing id = the worker's name, so that a control node that restarted recognises the
// worker when it registers again; linger 0 so that exit never blocks on unsent messages; sends
// never block (a full pipe drops the message and counts it: heartbeats repeat, and the control
// plane recovers the rest from the next heartbeat). DEALER reconnects by itself, and connects
// lazily: an unreachable endpoint is not an error, the worker keeps retrying registration, and
// logs that no control node answers there after the core's silence_warning (then every
// silence_repeat) until one does.
//
// Untrusted input: every frame goes through the channel's codec (schema/worker_channel.hpp) and
// its limits. A malformed, oversized, wrong-version or wrong-direction frame (or a multi-frame
// message) gets an error reply and is counted; the worker keeps running. An error envelope it
// cannot read (a code from a newer control plane) is counted, never answered. Frames above
// max_transport_bytes (the channel's cap, as on the control node's side) never reach the worker
// at all: libzmq drops the connection that sent them (ZMQ_MAXMSGSIZE), which bounds memory; the
// peer reconnects.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "actors/worker/worker_core.hpp"
#include "schema/codec.hpp"
#include "schema/worker_channel.hpp"

namespace aladdin::worker {

struct process_options {
  std::string endpoint;                     // e.g. tcp://127.0.0.1:5555
  micros max_poll_wait = 100'000;           // bounds the reaction to a stop request
  int high_water_mark = 10'000;             // messages queued per direction
  std::int64_t max_transport_bytes = worker_channel::max_transport_bytes;  // ZMQ_MAXMSGSIZE
  codec::decode_limits limits = codec::decode_limits::channel();
  // One line per call, no newline; default: stderr, prefixed "aladdin worker: ".
  std::function<void(std::string_view)> log;
};

struct process_stats {
  std::uint64_t frames_received = 0;
  std::uint64_t frames_rejected = 0;  // could not be decoded: answered with an error (unless one)
  std::uint64_t messages_sent = 0;
  std::uint64_t sends_dropped = 0;  // the pipe was full (the control node is gone or slow)
};

// Wall-clock microseconds since the Unix epoch, what the worker channel's times are in: the
// system clock at the first call, advanced by the steady clock from then on (monotonic).
micros wall_clock_now();

// What the transport drives: the calls of worker_core, which the engine agent has too.
class channel_driver {
 public:
  virtual ~channel_driver() = default;
  virtual const std::string& name() const = 0;  // the routing id and header sender
  virtual void start(micros now) = 0;
  virtual void handle(const worker_channel::message& m, micros now) = 0;
  virtual void advance(micros now) = 0;
  virtual micros next_wake() const = 0;
  virtual std::optional<micros> silence_warning(micros now) = 0;
  virtual std::vector<worker_channel::message> take_outbound() = 0;
  virtual bool finished() const = 0;
  virtual bool registered() const = 0;
  virtual std::uint32_t worker_id() const = 0;
  virtual std::uint64_t epoch() const = 0;
  virtual std::uint64_t errors_received() const = 0;
  // Readable when the driver has work that did not come from the channel; -1: none.
  virtual int wake_fd() const { return -1; }
  // Lines for the operator's log (the engine agent's "the engine does not answer").
  virtual std::vector<std::string> take_notes() { return {}; }
};

class session;

class worker_process {
 public:
  worker_process(worker_core& core, process_options options);
  worker_process(channel_driver& driver, process_options options);
  ~worker_process();
  worker_process(const worker_process&) = delete;
  worker_process& operator=(const worker_process&) = delete;

  // Opens the socket and connects (lazily: nothing needs to listen yet). Throws
  // std::invalid_argument when the endpoint is not a valid ZeroMQ address.
  void connect();

  // Runs until the core finishes (shutdown, drain) or `stop` becomes true (a signal); connects
  // first if connect() was not called. Throws zmq::error_t on a failure of the socket itself.
  void run(const std::atomic<bool>& stop);

  const process_stats& stats() const { return stats_; }

 private:
  std::unique_ptr<channel_driver> owned_;  // the adapter of a worker_core
  channel_driver& driver_;
  process_options options_;
  process_stats stats_;
  std::unique_ptr<session> session_;
};

}  // namespace aladdin::worker
