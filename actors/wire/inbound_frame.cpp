#include "actors/wire/inbound_frame.hpp"

#include <optional>
#include <type_traits>
#include <utility>

namespace aladdin::node {

namespace cc = client_channel;
namespace wc = worker_channel;

namespace {

// A frame that could not be decoded is answered, unless it was an error reply itself.
template <class Frame>
Frame refusal_of(const codec::decode_error& e) {
  if (!e.answerable) return peer_error{};
  return frame_refusal{channel_common::to_error_code(e.code), e.detail};
}

}  // namespace

client_frame read_client_frame(std::span<const std::byte> bytes, const codec::decode_limits& limits) {
  auto m = cc::decode(bytes, cc::party::intake, limits);
  if (!m) return refusal_of<client_frame>(m.error());
  // The intake receives submissions, status requests and errors only (decode refuses the rest).
  if (auto* submit = std::get_if<cc::submit_query>(&m.value().body)) return std::move(*submit);
  if (auto* status = std::get_if<cc::status_request>(&m.value().body)) return *status;
  return peer_error{};
}

worker_frame read_worker_frame(std::span<const std::byte> bytes, const codec::decode_limits& limits) {
  auto m = wc::decode(bytes, wc::party::control_plane, limits);
  if (!m) return refusal_of<worker_frame>(m.error());
  wc::message& wm = m.value().body;
  if (auto* hello = std::get_if<wc::register_worker>(&wm)) return std::move(*hello);
  if (std::holds_alternative<wc::wire_error>(wm)) return peer_error{};
  // What is left is what a control plane receives from a registered worker (decode refuses the
  // members a worker is sent).
  std::optional<worker_event> event;
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_constructible_v<worker_event, T>) event = std::move(x);
      },
      wm);
  if (!event)
    return frame_refusal{channel_common::error_code::internal,
                         std::string(wc::message_name(wm)) + " has no handler in the control node"};
  return std::move(*event);
}

}  // namespace aladdin::node
