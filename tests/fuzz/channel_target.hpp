#pragma once
// What both channel targets check of the node's reading of a frame before their own properties.

#include <span>
#include <variant>

#include "actors/wire/inbound_frame.hpp"
#include "fuzz_support.hpp"

namespace aladdin::fuzz {

// Whether the node hands `read` on (a message for its actors), checked: a refusal says why, and
// what the node hands on, the codec's full validation (the visit of every field, which the
// node's decode skips: decode_limits::visit_fields) takes too. Error envelopes are left out: one
// with a code this build does not know is counted unread, never answered.
template <class Envelope, class Frame>
bool handed_on(const Frame& read, std::span<const std::byte> bytes, const codec::decode_limits& limits) {
  if (refused<node::frame_refusal>(read) || std::holds_alternative<node::peer_error>(read)) return false;
  require(codec::decode_envelope<Envelope>(bytes, limits).ok(),
          "the node accepts a frame that the codec's full validation refuses");
  return true;
}

}  // namespace aladdin::fuzz
