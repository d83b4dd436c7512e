#include "actors/wire/zmq_bridge.hpp"

#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

#include "actors/wire/inbound_frame.hpp"
#include "schema/client_channel.hpp"
#include "schema/worker_channel.hpp"

namespace aladdin::node {

namespace cc = client_channel;
namespace wc = worker_channel;
using channel_common::error_code;
using channel_common::detail::overloaded;

namespace {

std::span<const std::byte> bytes_of(const zmq::message_t& m) {
  return {static_cast<const std::byte*>(m.data()), m.size()};
}

routing_id id_of(const zmq::message_t& m) {
  return routing_id(static_cast<const char*>(m.data()), m.size());
}

// The node's ZeroMQ I/O thread is "1/ZMQbg/IO/0" in top and perf, apart from any other ZeroMQ
// context in the process (a load generator's, a test's). Set before the first socket, which
// starts the I/O thread.
zmq::context_t named_context() {
  zmq::context_t c(1);
  zmq_ctx_set(c.handle(), ZMQ_THREAD_NAME_PREFIX, 1);
  return c;
}

void configure_router(zmq::socket_t& s, const bridge_options& o, std::int64_t max_transport_bytes) {
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::router_mandatory, 1);
  s.set(zmq::sockopt::sndhwm, o.send_hwm);
  s.set(zmq::sockopt::rcvhwm, o.receive_hwm);
  s.set(zmq::sockopt::maxmsgsize, max_transport_bytes);
}

std::string bind_or_throw(zmq::socket_t& s, const std::string& endpoint, const char* what) {
  try {
    s.bind(endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(std::string("cannot listen for ") + what + " on " + endpoint + ": " +
                             e.what());
  }
  return s.get(zmq::sockopt::last_endpoint);
}

}  // namespace

struct zmq_bridge::pending_frame {
  channel ch;
  routing_id peer;
  codec::encoded_message bytes;
};

struct zmq_bridge::impl {
  std::vector<inbound_sink::client_submit> submits;
  // This round's worker events, grouped by sender in order of first appearance.
  std::vector<std::pair<routing_id, std::vector<worker_event>>> worker_batches;
  std::unordered_map<routing_id, std::size_t> worker_batch_index;
  std::unordered_map<routing_id, std::uint64_t> sequences[2];
  std::deque<pending_frame> retry;
  std::vector<outbound_frame> outgoing;
  struct parked_peer {
    std::chrono::steady_clock::time_point deadline;
    std::deque<codec::encoded_message> frames;
  };
  std::unordered_map<routing_id, parked_peer> parked;
  std::size_t parked_frames = 0;
  std::chrono::steady_clock::time_point next_park_retry{};
};

zmq_bridge::zmq_bridge(bridge_options options, inbound_sink& sink)
    : options_(std::move(options)),
      sink_(sink),
      context_(named_context()),
      client_(context_, zmq::socket_type::router),
      worker_(context_, zmq::socket_type::router),
      wake_(context_, zmq::socket_type::pair),
      impl_(std::make_unique<impl>()) {}

zmq_bridge::~zmq_bridge() { stop(); }

void zmq_bridge::bind() {
  if (outbox_) return;
  configure_router(client_, options_, cc::max_transport_bytes);
  client_.set(zmq::sockopt::router_handover, 1);
  configure_router(worker_, options_, wc::max_transport_bytes);
  client_bound_ = bind_or_throw(client_, options_.client_endpoint, "clients");
  worker_bound_ = bind_or_throw(worker_, options_.worker_endpoint, "workers");
  // One wake endpoint per bridge, so that several nodes can live in one process (tests).
  char name[64];
  std::snprintf(name, sizeof name, "inproc://aladdin-wake-%p", static_cast<void*>(this));
  wake_.set(zmq::sockopt::linger, 0);
  wake_.bind(name);
  outbox_ = std::make_unique<wakeup_outbox>(context_, name);
}

void zmq_bridge::start() {
  bind();
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void zmq_bridge::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  outbox_->post({});  // wakes the poll; an empty peer is skipped when sending
  thread_.join();
}

void zmq_bridge::run() {
  pthread_setname_np(pthread_self(), "aladdin-bridge");
  zmq::pollitem_t items[] = {{client_.handle(), 0, ZMQ_POLLIN, 0},
                             {worker_.handle(), 0, ZMQ_POLLIN, 0},
                             {wake_.handle(), 0, ZMQ_POLLIN, 0}};
  using clock = std::chrono::steady_clock;
  clock::time_point stop_deadline{};
  while (true) {
    if (stopping_.load() && stop_deadline == clock::time_point{})
      stop_deadline = clock::now() + std::chrono::milliseconds(200);
    // Retries pending: come back soon even without input. Stopping: only to flush.
    const auto timeout = stopping_.load()         ? std::chrono::milliseconds(5)
                         : !impl_->retry.empty()  ? std::chrono::milliseconds(1)
                         : !impl_->parked.empty() ? std::chrono::milliseconds(50)
                                                  : std::chrono::milliseconds(100);
    try {
      zmq::poll(items, 3, timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      std::fprintf(stderr, "aladdin node: poll failed: %s\n", e.what());
      break;
    }
    if (!stopping_.load()) {
      if (items[0].revents & ZMQ_POLLIN) receive(channel::client, client_);
      if (items[1].revents & ZMQ_POLLIN) receive(channel::worker, worker_);
      dispatch_inbound();
    }
    if (items[2].revents & ZMQ_POLLIN) {
      zmq::message_t signal;
      while (wake_.recv(signal, zmq::recv_flags::dontwait)) {
      }
    }
    flush_outbound();
    if (stopping_.load() &&
        ((impl_->retry.empty() && impl_->outgoing.empty()) || clock::now() > stop_deadline))
      break;
  }
  client_.close();
  worker_.close();
  wake_.close();
}

void zmq_bridge::receive(channel ch, zmq::socket_t& socket) {
  for (std::size_t n = 0; n < options_.receive_batch; ++n) {
    zmq::message_t id;
    if (!socket.recv(id, zmq::recv_flags::dontwait)) return;
    const routing_id peer = id_of(id);
    zmq::message_t payload;
    bool have_payload = id.more() && socket.recv(payload, zmq::recv_flags::dontwait).has_value();
    // A DEALER sends one frame. Anything else (REQ's delimiter, multipart) is drained and
    // refused as a whole.
    bool extra = false;
    while (have_payload && payload.more()) {
      zmq::message_t rest;
      if (!socket.recv(rest, zmq::recv_flags::dontwait)) break;
      extra = true;
      if (!rest.more()) break;
    }
    counters_.frames_in.fetch_add(1, std::memory_order_relaxed);
    if (!have_payload || extra) {
      reply_error(ch, peer, error_code::malformed, "expected exactly one frame per message");
      continue;
    }
    codec::decode_limits limits = codec::decode_limits::channel();
    limits.max_bytes = options_.max_frame_bytes;
    auto refuse = [&](const frame_refusal& r) { reply_error(ch, peer, r.code, r.detail); };
    auto peer_failed = [&](const peer_error&) {
      counters_.peer_errors.fetch_add(1, std::memory_order_relaxed);
    };
    if (ch == channel::client) {
      client_frame frame = read_client_frame(bytes_of(payload), limits);
      std::visit(overloaded{[&](cc::submit_query& q) { impl_->submits.push_back({peer, std::move(q), {}}); },
                            [&](cc::status_request& r) { sink_.client_status(peer, r); }, refuse, peer_failed},
                 frame);
      continue;
    }
    worker_frame frame = read_worker_frame(bytes_of(payload), limits);
    std::visit(overloaded{[&](wc::register_worker& hello) { sink_.worker_register(peer, std::move(hello)); },
                          [&](worker_event& event) { batch_worker_event(peer, std::move(event)); },
                          refuse, peer_failed},
               frame);
  }
}

void zmq_bridge::batch_worker_event(const routing_id& peer, worker_event event) {
  auto [it, fresh] = impl_->worker_batch_index.try_emplace(peer, impl_->worker_batches.size());
  if (fresh) impl_->worker_batches.emplace_back(peer, std::vector<worker_event>{});
  impl_->worker_batches[it->second].second.push_back(std::move(event));
}

void zmq_bridge::dispatch_inbound() {
  if (!impl_->submits.empty()) {
    sink_.client_submits(impl_->submits);
    impl_->submits.clear();
  }
  for (auto& [peer, events] : impl_->worker_batches) {
    if (!sink_.worker_events(peer, events)) {
      counters_.unknown_worker.fetch_add(1, std::memory_order_relaxed);
      outbox_->post(outbound_frame::worker(
          peer, wc::wire_error{error_code::unknown_worker, "not registered here: send registerWorker"}));
    }
  }
  impl_->worker_batches.clear();
  impl_->worker_batch_index.clear();
}

std::uint64_t zmq_bridge::next_sequence(channel ch, const routing_id& peer) {
  auto& table = impl_->sequences[ch == channel::client ? 0 : 1];
  // Peers come and go; a node serving for months must not keep one counter per peer ever seen.
  if (table.size() > 100000) table.clear();
  return ++table[peer];
}

void zmq_bridge::reply_error(channel ch, const routing_id& peer, error_code code,
                             const std::string& detail) {
  counters_.bad_frames.fetch_add(1, std::memory_order_relaxed);
  channel_common::wire_error e{code, detail};
  if (ch == channel::client)
    outbox_->post(outbound_frame::client(peer, std::move(e)));
  else
    outbox_->post(outbound_frame::worker(peer, std::move(e)));
}

zmq_bridge::sent zmq_bridge::send_frame(channel ch, const routing_id& peer, const void* data,
                                        std::size_t size) {
  zmq::socket_t& s = ch == channel::client ? client_ : worker_;
  try {
    if (!s.send(zmq::const_buffer(peer.data(), peer.size()),
                zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return sent::full;  // the peer's pipe is full: retry later
    (void)s.send(zmq::const_buffer(data, size), zmq::send_flags::dontwait);
    counters_.frames_out.fetch_add(1, std::memory_order_relaxed);
    return sent::ok;
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH: no such peer (gone, reconnecting, or never connected).
    return sent::unroutable;
  }
}

void zmq_bridge::park(routing_id peer, codec::encoded_message bytes) {
  if (impl_->parked_frames >= options_.max_parked_frames) {
    counters_.unroutable.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto [it, fresh] = impl_->parked.try_emplace(std::move(peer));
  if (fresh)
    it->second.deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(options_.park_seconds));
  it->second.frames.push_back(std::move(bytes));
  ++impl_->parked_frames;
  counters_.parked.fetch_add(1, std::memory_order_relaxed);
}

void zmq_bridge::deliver(channel ch, routing_id peer, codec::encoded_message bytes) {
  // Behind frames already waiting for this client: keep its order.
  if (ch == channel::client && impl_->parked.count(peer) != 0) {
    park(std::move(peer), std::move(bytes));
    return;
  }
  if (impl_->retry.empty()) {
    const auto b = bytes.bytes();
    switch (send_frame(ch, peer, b.data(), b.size())) {
      case sent::ok: return;
      case sent::unroutable:
        if (ch == channel::client) park(std::move(peer), std::move(bytes));
        else counters_.unroutable.fetch_add(1, std::memory_order_relaxed);
        return;
      case sent::full: break;
    }
  }
  if (impl_->retry.size() >= options_.max_retry_frames) {
    counters_.dropped_full.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  impl_->retry.push_back({ch, std::move(peer), std::move(bytes)});
}

void zmq_bridge::retry_parked() {
  const auto now = std::chrono::steady_clock::now();
  if (impl_->parked.empty() || now < impl_->next_park_retry) return;
  impl_->next_park_retry = now + std::chrono::milliseconds(50);
  for (auto it = impl_->parked.begin(); it != impl_->parked.end();) {
    auto& p = it->second;
    while (!p.frames.empty()) {
      const auto b = p.frames.front().bytes();
      if (send_frame(channel::client, it->first, b.data(), b.size()) != sent::ok) break;
      p.frames.pop_front();
      --impl_->parked_frames;
    }
    if (!p.frames.empty() && now < p.deadline) {
      ++it;
      continue;
    }
    counters_.unroutable.fetch_add(p.frames.size(), std::memory_order_relaxed);
    impl_->parked_frames -= p.frames.size();
    it = impl_->parked.erase(it);
  }
}

void zmq_bridge::flush_outbound() {
  // Frames refused earlier go first, to keep each peer's order.
  while (!impl_->retry.empty()) {
    auto& f = impl_->retry.front();
    const auto b = f.bytes.bytes();
    const sent r = send_frame(f.ch, f.peer, b.data(), b.size());
    if (r == sent::full) break;
    if (r == sent::unroutable) {
      if (f.ch == channel::client) park(std::move(f.peer), std::move(f.bytes));
      else counters_.unroutable.fetch_add(1, std::memory_order_relaxed);
    }
    impl_->retry.pop_front();
  }
  retry_parked();
  outbox_->take(impl_->outgoing);
  for (auto& o : impl_->outgoing) {
    if (o.peer.empty()) continue;  // the stop wake-up
    const codec::envelope_header h{codec::protocol_version, options_.sender,
                                   epoch_.load(std::memory_order_relaxed),
                                   next_sequence(o.to, o.peer)};
    codec::encoded_message bytes =
        o.to == channel::client ? cc::encode(h, std::get<cc::message>(o.message))
                                : wc::encode(h, std::get<wc::message>(o.message));
    deliver(o.to, std::move(o.peer), std::move(bytes));
  }
  impl_->outgoing.clear();
}

}  // namespace aladdin::node
