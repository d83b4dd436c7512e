#include "tests/support/fake_worker.hpp"

#include <pthread.h>
#include <zmq.hpp>

#include "schema/worker_channel.hpp"

namespace aladdin::test {

using namespace worker_channel;

fake_worker::fake_worker(fake_worker_options options)
    : options_(std::move(options)), completing_(options_.complete) {}

fake_worker::~fake_worker() { stop(); }

void fake_worker::start() {
  stopping_.store(false);
  thread_ = std::thread([this] { run(); });
}

void fake_worker::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  thread_.join();
}

std::string fake_worker::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::vector<std::uint64_t> fake_worker::holding() const {
  std::lock_guard lock(mutex_);
  std::vector<std::uint64_t> ids;
  for (const auto& [id, h] : held_) ids.push_back(id);
  return ids;
}

std::vector<assign_query> fake_worker::assignments() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

void fake_worker::run() {
  pthread_setname_np(pthread_self(), "fake-worker");
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  // A fixed identity, as a real worker would use: the node recognises it across reconnects.
  s.set(zmq::sockopt::routing_id, zmq::buffer(options_.name));
  s.set(zmq::sockopt::sndhwm, 100000);
  s.set(zmq::sockopt::rcvhwm, 100000);
  s.connect(options_.endpoint);
  std::uint64_t seq = 0;
  auto send = [&](const message& m) {
    const auto bytes = encode(codec::envelope_header{codec::protocol_version, options_.name, 0, ++seq}, m);
    (void)s.send(zmq::const_buffer(bytes.bytes().data(), bytes.size()), zmq::send_flags::dontwait);
  };
  auto hello = [&] {
    send(register_worker{options_.name, options_.model, options_.gpu, options_.tp, options_.kv_capacity_tokens, 16,
                         options_.time_scale, options_.max_batched_tokens});
  };
  hello();
  auto next_beat = clock::now() + options_.heartbeat;
  std::vector<message> out;
  while (!stopping_.load()) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(2));
    const auto now = clock::now();
    zmq::message_t msg;
    while (s.recv(msg, zmq::recv_flags::dontwait)) {
      auto decoded = decode({static_cast<const std::byte*>(msg.data()), msg.size()}, party::worker);
      if (!decoded) continue;
      message& m = decoded.value().body;
      if (auto* r = std::get_if<worker_channel::registered>(&m)) {
        worker_id_.store(r->worker_id);
        registrations_.fetch_add(1);
      } else if (auto* a = std::get_if<assign_query>(&m)) {
        assigned_.fetch_add(1);
        if (on_assign) on_assign(*a, now);
        std::lock_guard lock(mutex_);
        seen_.push_back(*a);
        held_[a->query_id] = held{*a, now, false};
      } else if (auto* c = std::get_if<cancel_query>(&m)) {
        cancelled_.fetch_add(1);
        std::lock_guard lock(mutex_);
        held_.erase(c->query_id);
      } else if (auto* e = std::get_if<wire_error>(&m)) {
        if (e->code == error_code::unknown_worker) {
          unknown_worker_.fetch_add(1);
          worker_id_.store(0);
          hello();
        } else {
          std::lock_guard lock(mutex_);
          last_error_ = e->detail;
        }
      }
    }
    out.clear();
    {
      std::lock_guard lock(mutex_);
      for (auto it = held_.begin(); it != held_.end();) {
        held& h = it->second;
        if (!h.first_sent && now - h.assigned_at >= options_.first_token_after) {
          h.first_sent = true;
          out.push_back(first_token{h.query.query_id, 0});
        }
        if (h.first_sent && completing_.load() && now - h.assigned_at >= options_.complete_after) {
          const std::uint32_t n = h.query.max_output_tokens > 0 ? h.query.max_output_tokens
                                  : h.query.output_tokens_hint > 0 ? h.query.output_tokens_hint
                                                                   : 16;
          out.push_back(query_completed{h.query.query_id, n, 0});
          completed_.fetch_add(1);
          it = held_.erase(it);
          continue;
        }
        ++it;
      }
      if (now >= next_beat) {
        next_beat = now + options_.heartbeat;
        if (heartbeating_.load() && worker_id_.load() != 0) {
          heartbeat hb;
          hb.worker_id = worker_id_.load();
          for (const auto& [id, h] : held_) {
            if (h.first_sent)
              hb.running.push_back({id, 1});
            else
              hb.waiting.push_back(id);
          }
          hb.waiting_count = static_cast<std::uint32_t>(hb.waiting.size());
          out.push_back(std::move(hb));
        }
      }
    }
    for (const auto& m : out) send(m);
  }
}

}  // namespace aladdin::test
