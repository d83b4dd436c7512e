#include "actors/node/status_client.hpp"

#include <zmq.hpp>

#include <random>

namespace aladdin::node {

namespace cc = client_channel;

std::optional<cc::status_reply> ask_status(const std::string& endpoint, std::chrono::milliseconds timeout,
                                           std::string* error) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  try {
    s.connect(endpoint);
  } catch (const zmq::error_t& e) {
    *error = "cannot connect to " + endpoint + ": " + e.what();
    return std::nullopt;
  }
  std::random_device rd;
  const std::uint64_t id = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  const auto bytes = cc::encode(codec::envelope_header{codec::protocol_version, "aladdin-status", 0, 1}, cc::status_request{id});
  (void)s.send(zmq::const_buffer(bytes.bytes().data(), bytes.size()), zmq::send_flags::none);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, left);
    zmq::message_t msg;
    while (s.recv(msg, zmq::recv_flags::dontwait)) {
      auto m = cc::decode({static_cast<const std::byte*>(msg.data()), msg.size()}, cc::party::client);
      if (!m) continue;
      if (auto* r = std::get_if<cc::status_reply>(&m.value().body); r != nullptr && r->request_id == id) return std::move(*r);
      if (auto* e = std::get_if<cc::wire_error>(&m.value().body)) {
        *error = "the node answered with an error: " + e->detail;
        return std::nullopt;
      }
    }
  }
  *error = "no node answers at " + endpoint + " (within " + std::to_string(timeout.count()) +
           " ms; is `aladdin serve` running there, with --listen " + endpoint + "?)";
  return std::nullopt;
}

}  // namespace aladdin::node
