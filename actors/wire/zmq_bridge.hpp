#pragma once
// The node's only contact with the network: one thread polling two ROUTER sockets (clients and
// workers) and the outbox's wake-up socket.
//
// Inbound, every frame is untrusted. It is decoded by its channel's codec
// (schema/client_channel.hpp, schema/worker_channel.hpp) with the channel's limits; whatever
// cannot be handled gets an error envelope back (malformed, oversized, unknown or wrong-direction
// message, wrong version; unknownWorker for a worker that is not registered, so that it registers
// again) and is counted; the node keeps serving. An error envelope is never answered with
// another, not even one this build cannot read, so two confused peers cannot ping-pong. Messages are handed to the inbound_sink in batches, one
// per poll round: all client submissions of the round together, and each worker's events
// together in arrival order.
//
// Outbound, frames posted to the outbox are encoded here (each connection's header carries its
// own sequence number) and sent without blocking. ROUTER_MANDATORY turns "no such peer" into an
// error instead of a silent drop. A client that is not connected (it may be reconnecting, say
// after a restart of this node) has its replies parked, in order, for `park_seconds` and
// retried, so that the outcome of an accepted query still reaches it; frames for a worker that
// is gone are dropped and counted (its proxy handles the loss). A frame refused because the
// peer's pipe is full (HWM) is kept and retried on the next rounds, up to a bound, so that a
// burst does not lose an assignment.
//
// Sockets: linger 0 (closing never waits for unsent frames), bounded send and receive HWM, each
// channel's transport size cap (max_transport_bytes, above the codec's own limit, so that an
// oversized frame still gets an "oversized" reply instead of a dropped connection),
// ROUTER_HANDOVER on the client socket (a client that reconnects with the same routing id takes
// its replies over).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "actors/wire/messages.hpp"
#include "actors/wire/outbox.hpp"
#include "schema/codec.hpp"

namespace aladdin::node {

struct bridge_options {
  std::string client_endpoint = "tcp://127.0.0.1:5555";
  std::string worker_endpoint = "tcp://127.0.0.1:5556";
  std::string sender = "aladdin-node";
  int send_hwm = 100000;
  int receive_hwm = 100000;
  std::size_t max_frame_bytes = 64 * 1024;        // the codec's limit: larger → "oversized"
  // ZMQ_MAXMSGSIZE (larger → connection dropped) is each channel's max_transport_bytes.
  std::size_t receive_batch = 512;                // frames per socket per poll round
  std::size_t max_retry_frames = 200000;          // refused by HWM and kept for a retry
  double park_seconds = 30;                       // replies kept for a client that reconnects
  std::size_t max_parked_frames = 100000;
};

// Where decoded messages go. Called on the bridge thread only.
class inbound_sink {
 public:
  virtual ~inbound_sink() = default;
  using client_submit = node::client_submit;
  virtual void client_submits(std::vector<client_submit>& batch) = 0;
  // `aladdin status`: the sink answers with a statusReply to `client` when it has one.
  virtual void client_status(const routing_id& client, const client_channel::status_request& request) = 0;
  virtual void worker_register(const routing_id& worker, worker_channel::register_worker hello) = 0;
  // Events of one registered worker in arrival order. Returns false when `worker` is not
  // registered; the bridge then answers unknownWorker. The sink may still look at the events
  // (a completion that reached a restarted node before its worker registered again).
  virtual bool worker_events(const routing_id& worker, std::vector<worker_event>& events) = 0;
};

struct bridge_counters {
  std::atomic<std::uint64_t> frames_in{0};
  std::atomic<std::uint64_t> frames_out{0};
  std::atomic<std::uint64_t> bad_frames{0};        // undecodable or not a request: error sent
  std::atomic<std::uint64_t> unknown_worker{0};    // unknownWorker replies
  std::atomic<std::uint64_t> peer_errors{0};       // error envelopes received (never answered)
  std::atomic<std::uint64_t> unroutable{0};        // frames for a peer that is gone
  std::atomic<std::uint64_t> parked{0};            // client frames that waited for a reconnect
  std::atomic<std::uint64_t> dropped_full{0};      // retry bound exceeded
};

class zmq_bridge {
 public:
  zmq_bridge(bridge_options options, inbound_sink& sink);
  ~zmq_bridge();  // stops and joins
  zmq_bridge(const zmq_bridge&) = delete;
  zmq_bridge& operator=(const zmq_bridge&) = delete;

  // Binds both sockets on the calling thread (so a busy port is reported at once, as a
  // std::runtime_error naming the endpoint) and creates the outbox. Frames may be posted from
  // then on; they are sent once the thread runs.
  void bind();
  // Starts the polling thread (binds first if bind() was not called).
  void start();
  // Stops the thread after the frames already posted have been sent (bounded by a short wait).
  void stop();

  outbox& out() { return *outbox_; }
  // The bound endpoints with ephemeral ports resolved ("tcp://127.0.0.1:0" → ":41234").
  const std::string& client_endpoint() const { return client_bound_; }
  const std::string& worker_endpoint() const { return worker_bound_; }
  const bridge_counters& counters() const { return counters_; }
  // The plan epoch every outbound header carries; the planner advances it.
  void set_epoch(std::uint64_t epoch) { epoch_.store(epoch, std::memory_order_relaxed); }

 private:
  struct pending_frame;
  void run();
  void receive(channel ch, zmq::socket_t& socket);
  // Adds a registered worker's event to this round's batch of its sender.
  void batch_worker_event(const routing_id& peer, worker_event event);
  void dispatch_inbound();
  void flush_outbound();
  enum class sent : std::uint8_t { ok, full, unroutable };
  sent send_frame(channel ch, const routing_id& peer, const void* data, std::size_t size);
  void deliver(channel ch, routing_id peer, codec::encoded_message bytes);
  void park(routing_id peer, codec::encoded_message bytes);
  void retry_parked();
  void reply_error(channel ch, const routing_id& peer, channel_common::error_code code,
                   const std::string& detail);
  std::uint64_t next_sequence(channel ch, const routing_id& peer);

  bridge_options options_;
  inbound_sink& sink_;
  zmq::context_t context_;
  zmq::socket_t client_;
  zmq::socket_t worker_;
  zmq::socket_t wake_;
  std::unique_ptr<wakeup_outbox> outbox_;
  std::string client_bound_;
  std::string worker_bound_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> epoch_{0};
  bridge_counters counters_;

  // Bridge-thread state.
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace aladdin::node
