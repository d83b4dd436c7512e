#pragma once
// A raw peer of the node for tests: a DEALER with a fixed routing id that sends submissions
// (or any bytes) and collects every reply, decoded as client-channel messages (or, with
// `worker_channel`, as worker-channel messages to a worker into worker_replies).

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "schema/client_channel.hpp"
#include "schema/worker_channel.hpp"

namespace aladdin::test {

class test_client {
 public:
  test_client(const std::string& endpoint, const std::string& id, bool worker_channel = false)
      : ctx_(1), socket_(ctx_, zmq::socket_type::dealer), worker_channel_(worker_channel) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::routing_id, zmq::buffer(id));
    socket_.connect(endpoint);
  }

  void send_bytes(const void* data, std::size_t size) {
    (void)socket_.send(zmq::const_buffer(data, size), zmq::send_flags::none);
  }
  void send(const client_channel::message& m, std::uint16_t version = codec::protocol_version) {
    const auto b = client_channel::encode(codec::envelope_header{version, "test-client", 0, ++seq_}, m);
    send_bytes(b.bytes().data(), b.size());
  }
  void submit(std::uint64_t client_query_id, std::uint32_t prompt, std::uint32_t max_output = 50) {
    send(client_channel::submit_query{client_query_id, prompt, max_output, 2'000'000, 100'000, "llama2-70b"});
  }

  // Receives for up to `timeout`, until `done` holds; whether it held.
  bool receive_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::min(left, std::chrono::milliseconds(20)));
      zmq::message_t msg;
      while (socket_.recv(msg, zmq::recv_flags::dontwait)) {
        const std::span<const std::byte> bytes{static_cast<const std::byte*>(msg.data()), msg.size()};
        if (worker_channel_) {
          auto m = worker_channel::decode(bytes, worker_channel::party::worker);
          if (m) worker_replies.push_back(std::move(m).value().body);
          else ++undecodable;
        } else {
          auto m = client_channel::decode(bytes, client_channel::party::client);
          if (m) replies.push_back(std::move(m).value().body);
          else ++undecodable;
        }
      }
    }
    return true;
  }

  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    collect<T>(worker_channel_ ? nullptr : &replies, out);
    collect<T>(worker_channel_ ? &worker_replies : nullptr, out);
    return out;
  }
  template <class T>
  std::size_t count() const {
    return all<T>().size();
  }

  std::vector<client_channel::message> replies;
  std::vector<worker_channel::message> worker_replies;
  std::size_t undecodable = 0;
  zmq::socket_t& socket() { return socket_; }

 private:
  template <class T, class... Ts>
  static void collect(const std::vector<std::variant<Ts...>>* from, std::vector<T>& out) {
    if constexpr ((std::is_same_v<T, Ts> || ...)) {
      if (from == nullptr) return;
      for (const auto& r : *from)
        if (const auto* x = std::get_if<T>(&r)) out.push_back(*x);
    }
  }

  zmq::context_t ctx_;
  zmq::socket_t socket_;
  std::uint64_t seq_ = 0;
  bool worker_channel_ = false;
};

}  // namespace aladdin::test
